"""The processed schema: names, tags, dtypes and cardinalities, as the 2022 notebook's first cells expect."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_course.data.formats import CATEGORICAL, EXTRA_COLUMNS, MODEL_COLUMNS

EXPECTED_TAGS = {
    "user_id": {"categorical", "user", "id"},
    "ts_weekday": {"categorical", "context"},
    "ts_hour": {"categorical", "context"},
    "product_id": {"categorical", "item", "id"},
    "cat_0": {"categorical", "item"}, "cat_1": {"categorical", "item"}, "cat_2": {"categorical", "item"},
    "brand": {"categorical", "item"},
    "price": {"continuous"}, "relative_price": {"continuous"},
    "target": {"binary_classification", "target"},
}


@pytest.fixture(scope="module")
def datasets(tiny_processed):
    from merlin.io import Dataset

    return (Dataset(str(tiny_processed / "train"), engine="parquet"),
            Dataset(str(tiny_processed / "valid"), engine="parquet"))


def test_the_seed_notebooks_first_cells_see_their_schema(datasets):
    train, _ = datasets
    assert train.schema.column_names == MODEL_COLUMNS + EXTRA_COLUMNS
    schema = train.schema.without(["event_time_ts", "user_id_raw", "product_id_raw"])
    assert schema.column_names == MODEL_COLUMNS
    for col in schema:
        assert {t.value for t in col.tags} == EXPECTED_TAGS[col.name], col.name


def test_dtypes_and_value_ranges(datasets, tiny_prepared):
    train, valid = (d.to_ddf().compute() for d in datasets)
    for c in CATEGORICAL:
        assert train[c].dtype == np.int64 and train[c].min() >= 3  # 0-2 are pad, null and OOV
    assert train["target"].isin([0, 1]).all()
    assert abs(train["price"].mean()) < 1e-6 and train["price"].std() == pytest.approx(1, abs=0.01)
    raw = pd.read_parquet(tiny_prepared / "train")
    assert (train["user_id_raw"].to_numpy() == raw["user_id"].to_numpy()).all()  # row order is kept
    # relative_price = (price - the product's mean train price) / that mean: zero on average per product.
    assert train.groupby("product_id")["relative_price"].mean().abs().max() < 1e-6
    assert valid[CATEGORICAL].min().min() >= 3  # valid holds only users and items known in train: no OOV


def test_cardinalities_are_distinct_train_values_plus_three(datasets, tiny_prepared, tiny_processed):
    import json

    train, _ = datasets
    raw = pd.read_parquet(tiny_prepared / "train")
    cards = json.loads((tiny_processed / "etl.json").read_text())["cardinalities"]
    for c in CATEGORICAL:
        assert train.schema[c].int_domain.max + 1 == raw[c].nunique() + 3 == cards[c], c


def test_existing_output_is_refused(tiny_prepared, tmp_path):
    from recsys_course.data.etl import run_etl

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        run_etl(tiny_prepared, tmp_path / "out", cpu=True)
    with pytest.raises(FileNotFoundError, match="run `python -m recsys_course prepare` first"):
        run_etl(tmp_path / "nothing", tmp_path / "out2", cpu=True)


def test_the_readme_says_what_the_workflow_writes_and_that_te_columns_are_left_out(datasets):
    """README "Preparation" lists the model's columns and says the 2022 target-encoded columns (TE_*) are left out."""
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    said = " ".join(readme[readme.index("Then the NVTabular workflow"):readme.index("## Use the real data")].split())
    columns = datasets[0].schema.column_names
    assert not [c for c in columns if c.upper().startswith("TE_")]  # no target-encoded column is written
    assert "target-encoded columns (`TE_*`" in said and "leaves them out" in said
    model = [c for c in columns if c not in EXTRA_COLUMNS]
    assert sorted(model) == sorted(EXPECTED_TAGS)
    assert "the eight categorical ids" in said and len(CATEGORICAL) == 8
