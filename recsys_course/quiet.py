"""Silence the known noise of TensorFlow, Merlin and NVTabular, once, for the whole process.

Only messages we know to be harmless are filtered: real errors and Keras progress bars still show.
`silence_before_imports()` runs when `recsys_course` is imported (it must precede `import tensorflow`);
`silence_after_tf()` runs once TensorFlow is imported and before `merlin.models.tf` is.
"""
from __future__ import annotations

import logging
import os
import warnings

_KNOWN_WARNINGS = (
    "dtype mappings did not load successfully",  # merlin.dtypes: no torch / tritonclient installed
    "Initializing an NVTabular Dataset in CPU mode",
    "The default value of numeric_only",  # pandas 1.5 chatter from dask groupbies
    "distutils Version classes are deprecated",
    "`np.bool8` is a deprecated alias",
    "Compiled the loaded model, but the compiled metrics have yet to be built",
    "No training configuration found in save file",
    "Found untraced functions",
    "Could not find GPU devices",
    "Running with dask-cuda",
    "Please fix your imports",
    "Sending large graph",  # distributed: the known-user/item sets travel with the graph at workshop scale
)


def silence_before_imports() -> None:
    """Environment and warning filters that must be in place before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING lines (oneDNN, cuda probes)
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # no "oneDNN custom operations are on" banner
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    for text in _KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{text}.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(dask|merlin|nvtabular|pandas)")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    logging.getLogger("merlin").setLevel(logging.ERROR)


def silence_after_tf() -> None:
    """Loggers that exist only once TensorFlow is imported."""
    import absl.logging
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # the only cure for Merlin's "Please fix your imports"
    absl.logging.set_verbosity(absl.logging.ERROR)  # "Found untraced functions" on save


def silence_dask() -> None:
    """distributed (re)configures its loggers when imported: quiet them after that, errors still raise."""
    import distributed  # noqa: F401

    for name in ("distributed", "distributed.worker", "distributed.scheduler", "distributed.nanny",
                 "distributed.core", "distributed.utils_perf", "distributed.shuffle"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
