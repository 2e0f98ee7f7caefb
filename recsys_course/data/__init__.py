"""Reading the course's data: processed parquet as Merlin datasets or pandas frames, and the generator's view share.

(Raw monthly CSVs are read by `recsys_course.data.rawfiles`.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from recsys_course.data.formats import EXTRA_COLUMNS
from recsys_course.data.oracle import generator_meta


def load(paths) -> tuple:
    """(train, valid, schema): merlin Datasets of the processed data and the schema a model should see."""
    from merlin.io import Dataset

    train = Dataset(str(paths.train), engine="parquet")
    valid = Dataset(str(paths.valid), engine="parquet")
    schema = train.schema.without(EXTRA_COLUMNS)
    train.schema = schema
    valid.schema = schema
    return train, valid, schema


def read_processed(folder: Path, columns: Sequence[str] | None = None) -> "pd.DataFrame":  # noqa: F821
    """The parquet parts of an NVTabular output folder (which also holds schema and metadata files)."""
    import pandas as pd

    parts = sorted(Path(folder).glob("*.parquet"))
    return pd.concat([pd.read_parquet(p, columns=list(columns) if columns else None) for p in parts], ignore_index=True)


def view_fraction(raw: Path) -> float:
    """The share of views the generator kept (1.0 for real data, which has no generator sidecar)."""
    meta = generator_meta(raw)
    return float(meta["view_fraction"]) if meta else 1.0
