"""What every notebook does first: quiet logs, seeds, the device line, and a check of its prerequisites."""
from __future__ import annotations

from recsys_course import device
from recsys_course.config import REAL, Params, Paths
from recsys_course.modeling.training import set_seeds

_MAKE_DATA = "make data SCALE={scale}   (or run notebooks/01_data_and_etl.ipynb)"  # makes every stage
_PREPARE_REAL = ("put the REES46 monthly files in {raw}, then: make data SCALE=real   "
                 "(README: 'Use the real data')")


class PrerequisiteMissing(RuntimeError):
    """Raised when a notebook runs before the step that makes its input; shown as one line in Jupyter."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"PrerequisiteMissing: {self}"]


def require(paths: Paths, *stages: str) -> None:
    """Stop with one line naming what to run first if a stage's output is missing."""
    have = paths.status()
    for stage in stages:
        if not have[stage]:
            raise PrerequisiteMissing(
                f"no {stage} data for scale '{paths.scale}' in {paths.root}. Run first: "
                + (_PREPARE_REAL.format(raw=paths.raw) if paths.scale == REAL else _MAKE_DATA.format(scale=paths.scale)))


def start(*stages: str, epochs: int | None = None, batch_size: int | None = None, seed: int = 42,
          quiet_print: bool = False) -> Params:
    """Import TensorFlow quietly, set seeds, print the device line; check `stages` exist. Returns the parameters.

    Epochs and batch size default to the scale's (`config.SCALES`); RECSYS_EPOCHS / RECSYS_BATCH_SIZE override.
    """
    from recsys_course import quiet

    quiet.silence_after_tf()
    params = Params.from_env(epochs=epochs, batch_size=batch_size, seed=seed)
    set_seeds(params.seed)
    if not quiet_print:
        print(device.current().line())
        print(f"scale: {params.scale} · epochs: {params.epochs} · batch size: {params.batch_size} · seed: {params.seed}")
    require(params.paths, *stages)
    return params
