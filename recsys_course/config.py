"""Where the course's data lives and the parameters a notebook runs with (read from the environment)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL = "real"  # the REES46 downloads, prepared into data/real (README "Use the real data"); no ground truth


@dataclass(frozen=True)
class Scale:
    """One scale: what the generator makes of it (no sizes: the real files) and how a notebook trains on it."""

    name: str
    epochs: int
    batch_size: int
    users: int = 0
    products: int = 0
    brands: int = 0
    sessions: int = 0  # over the seven months
    view_fraction: float = 1.0  # share of view events kept in the CSVs (labels never depend on it)

    def generated(self) -> dict:
        """What the generator's sidecar records of the scale."""
        return {k: getattr(self, k) for k in ("name", "users", "products", "brands", "sessions", "view_fraction")}


# The one table of scales. tiny has ~3,900 train rows: batch 128 gives ~30 steps an epoch (batch 4096 would give one),
# its AUCs stay rough; small has ~290k train rows, ~70 steps an epoch. 2 epochs, as the bench and the 2022 tutorial.
SCALES: dict[str, Scale] = {s.name: s for s in (
    Scale("tiny", 2, 128, users=700, products=500, brands=60, sessions=60_000, view_fraction=1.0),
    Scale("small", 2, 4096, users=42_000, products=16_000, brands=420, sessions=3_600_000, view_fraction=0.25),
    Scale("workshop", 2, 4096, users=750_000, products=130_000, brands=2_650, sessions=36_000_000, view_fraction=0.1),
    Scale(REAL, 2, 4096),
)}
SYNTHETIC_SCALES = tuple(name for name, s in SCALES.items() if s.sessions)  # made by the generator
SCALE_NAMES = tuple(SCALES)


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
class Params:
    """A notebook's parameters: RECSYS_SCALE, RECSYS_EPOCHS, RECSYS_BATCH_SIZE, RECSYS_SEED."""

    scale: str
    epochs: int
    batch_size: int
    seed: int

    @classmethod
    def from_env(cls, epochs: int | None = None, batch_size: int | None = None, seed: int = 42) -> "Params":
        """The scale from RECSYS_SCALE (else the device's default); epochs and batch size from the arguments,
        else the scale's (`SCALES`); the environment variables override all of them."""
        scale = os.environ.get("RECSYS_SCALE", "").strip() or default_scale()
        Paths.for_scale(scale)  # validates the name
        train = SCALES[scale]
        epochs = train.epochs if epochs is None else epochs
        batch_size = train.batch_size if batch_size is None else batch_size
        return cls(scale, _env_int("RECSYS_EPOCHS", epochs), _env_int("RECSYS_BATCH_SIZE", batch_size),
                   _env_int("RECSYS_SEED", seed))

    @property
    def paths(self) -> Paths:
        return Paths.for_scale(self.scale)
