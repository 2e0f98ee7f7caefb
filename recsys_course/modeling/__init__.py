"""What the bench and the tests build and train (the notebooks build their own models in cells), and the measurements on data and models."""
