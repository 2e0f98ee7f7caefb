"""Notebook 04's comparison at tiny scale, with metric bands (the notebook itself runs under nbval)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from recsys_course.modeling import builders, ranking, training
from recsys_course import data
from recsys_course.modeling.builders import (BENCH_MODELS, BUILTIN_DLRM, DCN_1, DCN_2, DCN_LOW_RANK, DLRM, PAIR_CROSS,
                                    TRIPLE_CROSS, TRIPLE_CROSS_1000, TRIPLE_EMBEDDED)

pytestmark = pytest.mark.slow


@dataclass
class Compared:
    """The tiny comparison, trained once for the module."""

    paths: object
    valid: object
    schema: object
    builders: dict
    results: dict
    oracle: float
    crosses: object  # builders.Crosses measured on the tiny train rows


@pytest.fixture(scope="module")
def compared(tiny_processed, tiny_prepared) -> Compared:
    from recsys_course.config import Paths

    import pandas as pd

    paths = Paths("tiny", tiny_processed.parent)
    train, valid, schema = data.load(paths)
    crosses = builders.strongest_crosses(pd.read_parquet(tiny_prepared / "train"))
    # the classic comparison's models (the fair comparison's new families are trained by notebook 04 and
    # tests/test_fair.py): every one of them must learn
    builds = builders.standard_models(schema, names=BENCH_MODELS, pair=crosses.pair, triple=crosses.triple,
                                      enough_bins=crosses.enough_bins)
    results = training.compare(builds, train, valid, epochs=3, batch_size=256, seed=42)
    oracle = json.loads((tiny_prepared / "prepare.json").read_text())["oracle"]["valid"]["auc"]
    return Compared(paths, valid, schema, builds, {r.name: r for r in results}, oracle, crosses)


def test_every_model_learns_and_stays_below_the_oracle(compared):
    results, oracle = compared.results, compared.oracle
    assert list(results) == list(BENCH_MODELS)
    for name, r in results.items():
        assert 0.5 < r.auc < oracle, f"{name}: AUC {r.auc:.3f}, oracle {oracle:.3f}"
        assert np.isfinite(r.logloss) and 0.3 < r.logloss < 1.0, name


def test_parameter_counts_follow_the_architecture(compared):
    params = {name: r.params for name, r in compared.results.items()}
    bins = compared.crosses.enough_bins  # twice the measured triple's combinations in the tiny train rows
    assert params[DLRM] == params[BUILTIN_DLRM]
    # a one-hot cross of 1000 bins adds a 1000 x 128 slice of the top MLP's first kernel, whatever it crosses
    assert params[PAIR_CROSS] - params[DLRM] == params[TRIPLE_CROSS_1000] - params[DLRM] == 1000 * 128
    assert params[TRIPLE_CROSS] - params[DLRM] == bins * 128
    # the embedded id: a table of `bins` x 64, and one more vector in the dot products
    assert params[TRIPLE_EMBEDDED] - params[DLRM] > bins * 64
    assert params[DCN_1] < params[DCN_2]


def test_the_reloaded_model_predicts_what_the_original_did(compared, tmp_path):
    import merlin.models.tf as mm

    valid = compared.valid
    for i, name in enumerate((TRIPLE_CROSS, TRIPLE_EMBEDDED, DCN_2)):
        original = compared.results[name].model
        sample = mm.sample_batch(valid, batch_size=5, include_targets=False)
        folder = tmp_path / f"model{i}" / "w"
        reloaded = training.reload_weights(compared.builders[name], original, folder, sample)
        a, b = training.predict(original, valid), training.predict(reloaded, valid)
        assert a.shape == (valid.num_rows,) and np.allclose(a, b, atol=1e-6), name


def test_cross_kernel_picture_and_ranking(compared):
    from recsys_course.modeling import analysis

    results, paths = compared.results, compared.paths
    blocks = analysis.cross_kernel_blocks(results[DCN_1].model, builders.dcn_feature_order(compared.schema), 64)
    assert blocks.shape == (9, 9) and (blocks.values > 0).all()
    low = analysis.first_cross_kernel(results[DCN_LOW_RANK].model)
    assert low.shape == (576, 576) and np.linalg.matrix_rank(low) <= 16
    user = int(data.read_processed(paths.valid, ["user_id_raw"])["user_id_raw"].iloc[0])
    top = ranking.rank_for_user(results[DLRM].model, paths, user, k=5)
    assert len(top) == 5 and top["score"].is_monotonic_decreasing and top["score"].between(0, 1).all()
    assert top["product_id_raw"].is_unique


def test_every_scale_trains_enough_steps_and_the_environment_overrides(tiny_prepared, monkeypatch):
    """tiny's default batch gives >= 20 gradient steps an epoch (batch 4096 gave one); RECSYS_* still override."""
    from recsys_course.config import SCALES, Params

    rows = json.loads((tiny_prepared / "prepare.json").read_text())["train"]["rows"]
    assert rows // SCALES["tiny"].batch_size >= 20
    monkeypatch.setenv("RECSYS_SCALE", "tiny")
    monkeypatch.delenv("RECSYS_BATCH_SIZE", raising=False)
    monkeypatch.delenv("RECSYS_EPOCHS", raising=False)
    assert (Params.from_env().batch_size, Params.from_env().epochs) == (SCALES["tiny"].batch_size,
                                                                         SCALES["tiny"].epochs)
    assert Params.from_env(epochs=5).epochs == 5  # a notebook's explicit choice beats the scale's
    monkeypatch.setenv("RECSYS_BATCH_SIZE", "64")
    monkeypatch.setenv("RECSYS_EPOCHS", "3")
    assert (Params.from_env(epochs=5).batch_size, Params.from_env(epochs=5).epochs) == (64, 3)
