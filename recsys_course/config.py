"""Where the course's data lives and the parameters a notebook runs with (read from the environment)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC_SCALES = ("tiny", "small", "workshop")  # made by the generator
REAL = "real"  # the REES46 downloads, prepared into data/real (README "Use the real data"); no ground truth
SCALE_NAMES = SYNTHETIC_SCALES + (REAL,)


def data_root() -> Path:
    """`RECSYS_COURSE_DATA`, or the repository's `data/` folder."""
    return Path(os.environ.get("RECSYS_COURSE_DATA", REPO_ROOT / "data")).resolve()


@dataclass(frozen=True)
class Paths:
    scale: str
    root: Path

    @classmethod
    def for_scale(cls, scale: str) -> "Paths":
        if scale not in SCALE_NAMES:
            raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALE_NAMES)}")
        return cls(scale, data_root() / scale)

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def prepared(self) -> Path:
        return self.root / "prepared"

    @property
    def processed(self) -> Path:
        return self.root / "processed_nvt"

    @property
    def train(self) -> Path:
        return self.processed / "train"

    @property
    def valid(self) -> Path:
        return self.processed / "valid"

    @property
    def workflow(self) -> Path:
        return self.processed / "workflow"

    def status(self) -> dict[str, bool]:
        return {"raw": (self.raw / "_generator.json").exists() or any(self.raw.glob("*.csv*")),
                "prepared": (self.prepared / "prepare.json").exists(),
                "processed": (self.processed / "etl.json").exists()}


def default_scale() -> str:
    from recsys_course import device

    return "workshop" if device.current().is_gpu else "small"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


@dataclass(frozen=True)
class Training:
    """How a scale trains by default: enough gradient steps per epoch to learn something at every scale."""

    epochs: int
    batch_size: int


# tiny has ~3,900 train rows: batch 128 gives ~30 steps an epoch (batch 4096 would give one); its AUCs stay rough.
SCALE_TRAINING: dict[str, Training] = {
    "tiny": Training(epochs=2, batch_size=128),
    # 2 epochs, as the bench and the 2022 tutorial: its validation loss already rose in the second epoch
    "small": Training(epochs=2, batch_size=4096),  # ~290k train rows: ~70 steps an epoch
    "workshop": Training(epochs=2, batch_size=4096),
    REAL: Training(epochs=2, batch_size=4096),
}


@dataclass(frozen=True)
class Params:
    """A notebook's parameters: RECSYS_SCALE, RECSYS_EPOCHS, RECSYS_BATCH_SIZE, RECSYS_SEED."""

    scale: str
    epochs: int
    batch_size: int
    seed: int

    @classmethod
    def from_env(cls, epochs: int | None = None, batch_size: int | None = None, seed: int = 42) -> "Params":
        """The scale from RECSYS_SCALE (else the device's default); epochs and batch size from the arguments,
        else the scale's `SCALE_TRAINING`; the environment variables override all of them."""
        scale = os.environ.get("RECSYS_SCALE", "").strip() or default_scale()
        Paths.for_scale(scale)  # validates the name
        train = SCALE_TRAINING[scale]
        epochs = train.epochs if epochs is None else epochs
        batch_size = train.batch_size if batch_size is None else batch_size
        return cls(scale, _env_int("RECSYS_EPOCHS", epochs), _env_int("RECSYS_BATCH_SIZE", batch_size),
                   _env_int("RECSYS_SEED", seed))

    @property
    def paths(self) -> Paths:
        return Paths.for_scale(self.scale)
