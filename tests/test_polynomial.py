"""The controlled DCN case: a cross layer recovers a known polynomial that much larger MLPs only approximate."""
from __future__ import annotations

import json

import numpy as np
import pytest

from recsys_course.course import polynomial as poly

SLOW = pytest.mark.slow  # trains models (about 20 s)


@pytest.fixture(scope="module")
def case() -> dict:
    return poly.controlled_dcn_case(seed=42)


def test_the_target_is_the_polynomial_its_formula_says():
    x = np.zeros((3, len(poly.FEATURES)), dtype="float32")
    x[0, [0, 1]] = 1.0  # x0 = x1 = 1: 0.4·x0 + 1·x0·x1
    x[1, [1, 3, 5]] = -1.0  # 0.2·x3 + 0.8·x1·x3·x5 with all three at -1
    x[2, [2, 4]] = 0.5  # 0.6·x2·x4
    assert np.allclose(poly.target(x), [0.4 + 1.0, -0.2 - 0.8, 0.6 * 0.25])
    assert poly.formula().startswith("y = 0.4·x0 + 0.2·x3 + 1·x0·x1")


def test_meeting_pairs_hold_the_crosses_and_the_pairs_inside_the_triple():
    m = poly.meeting_pairs()
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)
    idx = poly.FEATURES.index
    assert m[idx("x0"), idx("x1")] == 1.0 and m[idx("x2"), idx("x4")] == 0.6
    assert m[idx("x1"), idx("x3")] == m[idx("x3"), idx("x5")] == m[idx("x1"), idx("x5")] == 0.8
    assert m[idx("x0"), idx("x2")] == 0.0


@SLOW
def test_a_cross_layer_beats_an_mlp_with_ten_times_its_parameters(case):
    models = case["models"]
    assert case["cross"] == "CrossBlock depth 2"
    assert case["mlp"] is not None and models[case["mlp"]]["kind"] == "mlp"
    assert models[case["mlp"]]["params"] >= 10 * models[case["cross"]]["params"]
    assert case["error_ratio"] >= 5 and case["clearly_better"] is True
    # every MLP, however large, stays behind the depth-2 cross layer
    assert all(r["rmse"] > 5 * models[case["cross"]]["rmse"] for r in models.values() if r["kind"] == "mlp")
    assert models[case["cross"]]["rmse"] < 0.01 * case["target_sd"]


@SLOW
def test_depth_one_is_left_with_exactly_the_three_way_term(case):
    """Depth l writes degree l + 1: one layer cannot write x1·x3·x5, and that term's size is what it misses."""
    depth1 = case["models"]["CrossBlock depth 1"]["rmse"]
    assert abs(depth1 - case["triple_rmse"]) < 0.1 * case["triple_rmse"]


@SLOW
def test_the_cross_network_learned_the_true_coefficients(case):
    for term, c in case["learned"]["terms"].items():
        assert abs(c["learned"] - c["true"]) < 0.02, term
    assert abs(case["learned"]["largest_other"]["learned"]) < 0.05
    assert case["learned"]["largest_other"]["term"] not in case["learned"]["terms"]


@SLOW
def test_the_first_kernel_singles_out_pairs_that_meet_in_the_target(case):
    w = np.abs(np.array(case["kernels"][0]))
    assert len(case["kernels"]) == 2 and w.shape == (6, 6)
    pair_strength = w + w.T
    np.fill_diagonal(pair_strength, 0)
    i, j = np.triu_indices(6, 1)
    top3 = np.argsort(pair_strength[i, j])[::-1][:3]
    meets = np.array(case["meeting_pairs"]) > 0
    assert all(meets[i[k], j[k]] for k in top3), pair_strength.round(2)


@SLOW
def test_the_case_is_plain_json(case):
    json.loads(json.dumps(case))  # goes into bench/results.json
    assert set(case["models"]) == {"CrossBlock depth 1", "CrossBlock depth 2", "MLP 32-32", "MLP 128-64"}
    assert case["error_ratio"] == case["models"][case["mlp"]]["rmse"] / case["models"][case["cross"]]["rmse"]


@SLOW
def test_same_seed_same_numbers():
    quick = poly.Setup(n_train=2000, n_test=500, epochs=2, mlps=((16,),), depths=(1,))
    a, b = poly.controlled_dcn_case(3, quick), poly.controlled_dcn_case(3, quick)
    assert [r["rmse"] for r in a["models"].values()] == [r["rmse"] for r in b["models"].values()]
    assert a["kernels"] == b["kernels"]


@SLOW
def test_the_kernel_picture_has_one_panel_per_layer_and_the_target(case):
    fig = poly.kernel_picture([np.array(k) for k in case["kernels"]], case["cross"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 1 + len(case["kernels"]) and titles[-1] == f"{case['cross']}: |W| of layer 2"


@pytest.mark.parametrize("bad", [{"depths": ()}, {"depths": (0,)}, {"mlps": ((32, 0),)}, {"epochs": 0}])
def test_a_bad_setup_is_refused_with_a_clear_error(bad):
    with pytest.raises(ValueError, match="Setup"):
        poly.Setup(**bad)
