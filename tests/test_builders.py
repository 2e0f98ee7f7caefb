"""builders.strongest_crosses picks the crosses from the data; standard_models crosses what it is given."""
from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_course.modeling import builders


def _rows(n: int = 40_000, seed: int = 0, strength: float = 1.5) -> pd.DataFrame:
    """Four independent features with main effects, a pure pairwise c × d effect and a pure 3-way a × b × d effect
    (each centred so that it has no lower-order part): the strongest pair is not inside the strongest triple."""
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.integers(0, 5, n), rng.integers(0, 3, n), rng.integers(0, 6, n), rng.integers(0, 4, n)
    pair = rng.normal(0, 1, (6, 4))
    for axis in range(2):
        pair -= pair.mean(axis=axis, keepdims=True)
    triple = rng.normal(0, 1, (5, 3, 4))
    for axis in range(3):
        triple -= triple.mean(axis=axis, keepdims=True)
    logit = rng.normal(0, 0.5, 5)[a] + rng.normal(0, 0.5, 6)[c] + 1.2 * pair[c, d] + strength * triple[a, b, d]
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "target": target})


def test_strongest_crosses_are_measured_from_the_rows():
    rows = _rows()
    crosses = builders.strongest_crosses(rows, ["a", "b", "c", "d"])
    assert set(crosses.pair) == {"c", "d"} and set(crosses.triple) == {"a", "b", "d"}
    assert crosses.combinations == rows.groupby(["a", "b", "d"]).ngroups == 5 * 3 * 4
    assert crosses.enough_bins == 2 * crosses.combinations
    assert crosses.pairs.iloc[0]["features"] == crosses.pair and crosses.triples.iloc[0]["features"] == crosses.triple
    assert crosses.record() == {"pair": list(crosses.pair), "triple": list(crosses.triple),
                                "triple_combinations": 60, "enough_bins": 120}
    said = "\n".join(crosses.describe())
    assert " × ".join(crosses.pair) in said and " × ".join(crosses.triple) in said and "120 bins" in said
    assert "no triple predicts" not in said and "no pair predicts" not in said
    weak = builders.strongest_crosses(_rows(strength=0.0), ["a", "b", "c", "d"])
    assert weak.triples.iloc[0]["interaction"] <= 0 and set(weak.pair) == {"c", "d"}
    assert "no triple predicts anything beyond its parts" in "\n".join(weak.describe())


def test_other_data_gives_other_crosses_and_missing_values_count_as_a_combination():
    rows = _rows().rename(columns={"a": "c", "c": "a"})  # the same signal under swapped names
    crosses = builders.strongest_crosses(rows, ["a", "b", "c", "d"])
    assert set(crosses.pair) == {"a", "d"} and set(crosses.triple) == {"b", "c", "d"}
    rows = rows.astype({"b": "float64"})
    rows.loc[rows.index[:200], "b"] = np.nan  # a missing value is hashed like any other
    triple = ["b", "c", "d"]
    assert (builders.strongest_crosses(rows, ["a", "b", "c", "d"]).combinations
            == rows.groupby(triple, dropna=False).ngroups > rows.groupby(triple).ngroups == 5 * 3 * 4)


def test_standard_models_cross_the_features_they_are_given(monkeypatch):
    calls = []
    monkeypatch.setattr(builders, "dlrm", lambda schema, dim, **kw: calls.append(kw) or kw)
    made = builders.standard_models(None, names=[builders.PAIR_CROSS, builders.TRIPLE_CROSS_1000,
                                                 builders.TRIPLE_CROSS, builders.TRIPLE_EMBEDDED],
                                    pair=["x", "y"], triple=("x", "y", "z"), enough_bins=777)
    got = {name: build() for name, build in made.items()}
    assert got[builders.PAIR_CROSS] == {"cross": ("x", "y")}
    assert got[builders.TRIPLE_CROSS_1000] == {"cross": ("x", "y", "z"), "num_bins": 1000}
    assert got[builders.TRIPLE_CROSS] == {"cross": ("x", "y", "z"), "num_bins": 777}
    assert got[builders.TRIPLE_EMBEDDED] == {"cross": ("x", "y", "z"), "num_bins": 777, "embed_cross": True}
    default = builders.standard_models(None, names=[builders.TRIPLE_CROSS])[builders.TRIPLE_CROSS]()
    assert default == {"cross": builders.DEFAULT_TRIPLE, "num_bins": builders.DEFAULT_ENOUGH_BINS}
    assert len(calls) == 5


def test_the_notebook_trains_the_core_and_the_bench_every_model():
    every = list(builders.standard_models(None))
    assert set(builders.CORE_MODELS) < set(builders.BENCH_MODELS) <= set(every)
    assert {builders.TRIPLE_CROSS_1000, builders.TRIPLE_EMBEDDED, builders.DCN_3,
            builders.DCN_LOW_RANK}.isdisjoint(builders.CORE_MODELS)


def test_the_fair_families_are_the_contract_architectures(tiny_processed):
    """Parameter counts pin each fair family's shape against DLRM's (dim 64, 9 vectors: d = 576, 36 dot products)."""
    from recsys_course.config import Paths
    from recsys_course.data import load

    train, _, schema = load(Paths("tiny", tiny_processed.parent))
    assert set(builders.FAIR_MODELS) <= set(builders.standard_models(None))
    assert set(builders.CROSS_LAYER_MODELS) < set(builders.FAIR_MODELS) and builders.TRIPLE_CROSS in builders.FAIR_MODELS
    made = builders.standard_models(schema, names=[builders.DLRM, builders.CONCAT_MLP, builders.DCN_2,
                                                   builders.DCN_PARALLEL, builders.DCN_WITH_DOTS,
                                                   builders.DCN_RANK_D4, builders.DCN_LOW_RANK])
    batch = next(iter(__import__("merlin.models.tf", fromlist=["Loader"]).Loader(train, batch_size=16)))[0]
    params = {}
    for name, build in made.items():
        model = build()
        model(batch)
        params[name] = model.count_params()
    d, cross2 = 576, 2 * (576 * 576 + 576)  # two full-rank cross layers: W (d x d) and a bias each
    assert params[builders.CONCAT_MLP] - params[builders.DLRM] == (d - 100) * 128  # top MLP input 576, not 36 + 64
    assert params[builders.DCN_2] - params[builders.CONCAT_MLP] == cross2
    assert params[builders.DCN_PARALLEL] - params[builders.CONCAT_MLP] == cross2 + (d + 64 - 64)  # head sees both
    assert params[builders.DCN_WITH_DOTS] - params[builders.DLRM] == cross2 + d * 128  # dots + shortcut + cross
    low = {n: params[builders.DCN_2] - params[n] for n in (builders.DCN_RANK_D4, builders.DCN_LOW_RANK)}
    assert low == {builders.DCN_RANK_D4: 2 * (d * d - 2 * d * 144), builders.DCN_LOW_RANK: 2 * (d * d - 2 * d * 16)}
