"""Notebook 04's comparison at tiny scale, with metric bands (the notebook itself runs under nbval)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from recsys_course import models

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def compared(tiny_processed, tiny_prepared):
    from recsys_course.config import Paths

    paths = Paths("tiny", tiny_processed.parent)
    train, valid, schema = models.load(paths)
    builders = models.standard_models(schema)
    results = models.compare(builders, train, valid, epochs=3, batch_size=256, seed=42)
    oracle = json.loads((tiny_prepared / "prepare.json").read_text())["oracle"]["valid"]["auc"]
    return paths, train, valid, schema, builders, {r.name: r for r in results}, oracle


def test_every_model_learns_and_stays_below_the_oracle(compared):
    *_, results, oracle = compared
    assert len(results) == 9
    for name, r in results.items():
        assert 0.5 < r.auc < oracle, f"{name}: AUC {r.auc:.3f}, oracle {oracle:.3f}"
        assert np.isfinite(r.logloss) and 0.3 < r.logloss < 1.0, name


def test_from_scratch_dlrm_has_the_builtin_parameter_count(compared):
    *_, results, _ = compared
    assert results["DLRM (from blocks)"].params == results["mm.DLRMModel (built-in)"].params
    assert results["DLRM (from blocks)"].params < results["DLRM + cat_0×ts_hour (planted)"].params


def test_the_reloaded_model_predicts_what_the_original_did(compared, tmp_path):
    import merlin.models.tf as mm

    paths, train, valid, schema, builders, results, _ = compared
    for name in ("DLRM + cat_0×ts_hour (planted)", "DCN CrossBlock depth 2"):
        original = results[name].model
        sample = mm.sample_batch(valid, batch_size=5, include_targets=False)
        reloaded = models.reload_weights(builders[name], original, tmp_path / name.replace(" ", "_") / "w", sample)
        a, b = models.predict(original, valid), models.predict(reloaded, valid)
        assert a.shape == (valid.num_rows,) and np.allclose(a, b, atol=1e-6), name


def test_cross_kernel_picture_and_ranking(compared):
    from recsys_course import analysis

    paths, train, valid, schema, builders, results, _ = compared
    blocks = analysis.cross_kernel_blocks(results["DCN CrossBlock depth 1"].model, models.dcn_feature_order(schema), 64)
    assert blocks.shape == (9, 9) and (blocks.values > 0).all()
    low = analysis.first_cross_kernel(results["DCN depth 2, low rank 16"].model)
    assert low.shape == (576, 576) and np.linalg.matrix_rank(low) <= 16
    user = int(models.read_processed(paths.valid, ["user_id_raw"])["user_id_raw"].iloc[0])
    top = models.rank_for_user(results["DLRM (from blocks)"].model, paths, user, k=5)
    assert len(top) == 5 and top["score"].is_monotonic_decreasing and top["score"].between(0, 1).all()
    assert top["product_id_raw"].is_unique
