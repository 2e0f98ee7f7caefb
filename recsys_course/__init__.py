"""Helper package of the Merlin Models course.

Importing it silences TensorFlow's and NVTabular's known noise, so import it before them:

    import recsys_course as rc
    params = rc.start()          # device line, seeds, quiet TF logs
"""
from recsys_course.quiet import silence_before_imports as _silence

_silence()

from recsys_course.config import Params, Paths  # noqa: E402
from recsys_course.course.start import PrerequisiteMissing, require, start  # noqa: E402

__all__ = ["Params", "Paths", "PrerequisiteMissing", "require", "start"]
__version__ = "0.1.0"
