"""What a notebook calls: `start`, plots, the lab exercises, lab 05's experiment runner."""
