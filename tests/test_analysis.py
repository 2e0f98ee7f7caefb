"""analysis.interaction_strengths: pairs and triples, held out, lower-order effects removed first."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_course.modeling import analysis


def _rows(n: int = 60_000, pair: float = 0.0, triple: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Random rows of four independent features (a, b, c, d) and a nested one (a_fine inside a), with strong main
    effects, a pure pairwise a × b effect of size `pair` and a pure 3-way a × b × c effect of size `triple`."""
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.integers(0, 6, n), rng.integers(0, 8, n), rng.integers(0, 2, n), rng.integers(0, 5, n)
    a_fine = a * 4 + rng.integers(0, 4, n)  # nested in a
    pair_table = rng.normal(0, 1, (6, 8))
    pair_table -= pair_table.mean(axis=0, keepdims=True)
    pair_table -= pair_table.mean(axis=1, keepdims=True)
    triple_table = rng.normal(0, 1, (6, 8, 2))
    for axis in range(3):
        triple_table -= triple_table.mean(axis=axis, keepdims=True)
    logit = (rng.normal(0, 0.8, 6)[a] + rng.normal(0, 0.8, 8)[b] + 0.5 * c + rng.normal(0, 0.8, 5)[d]
             + rng.normal(0, 0.5, 24)[a_fine] + pair * pair_table[a, b] + triple * triple_table[a, b, c])
    target = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "a_fine": a_fine, "target": target})


def test_pairs_find_the_planted_pair_and_not_the_nested_one():
    got = analysis.interaction_strengths(_rows(pair=1.0), ["a", "b", "c", "d", "a_fine"])
    assert list(got.columns) == ["features", "pair", "interaction"]
    assert len(got) == 10  # 5 choose 2
    by_name = got.set_index("pair")["interaction"]
    # a_fine determines a, so b × a_fine carries the planted a × b too: those two lead, far above the rest
    assert set(got.loc[:1, "pair"]) == {"a × b", "b × a_fine"}
    assert got.loc[got["pair"] == "a × b", "features"].item() == ("a", "b")
    strong = by_name["a × b"]
    assert strong > 5
    # main effects, even strong ones, and a nested finer feature carry no interaction: ~0 held out
    assert got.loc[2:, "interaction"].abs().max() < 0.05 * strong
    assert abs(by_name["a × a_fine"]) < 0.05 * strong


def test_a_pure_triple_is_invisible_to_pairs_and_found_as_a_triple():
    rows = _rows(triple=1.5)
    triples = analysis.interaction_strengths(rows, ["a", "b", "c", "d"], order=3)
    assert list(triples.columns) == ["features", "pair", "interaction"]
    assert len(triples) == 4  # 4 choose 3
    assert triples.loc[0, "features"] == ("a", "b", "c") and triples.loc[0, "pair"] == "a × b × c"
    strong = triples.loc[0, "interaction"]
    assert strong > 5
    assert triples.loc[1:, "interaction"].abs().max() < 0.1 * strong
    pairs = analysis.interaction_strengths(rows, ["a", "b", "c", "d"])
    assert pairs["interaction"].abs().max() < 0.05 * strong  # no pair carries it


def test_a_strong_pair_does_not_leak_into_its_triples():
    """The pair's cell effects are removed before a triple is measured: a × b × c scores ~0 without a triple."""
    rows = _rows(pair=1.5)
    pair = analysis.interaction_strengths(rows, ["a", "b"]).loc[0, "interaction"]
    triple = analysis.interaction_strengths(rows, ["a", "b", "c"], order=3).loc[0, "interaction"]
    assert pair > 5 and abs(triple) < 0.05 * pair


def test_bad_arguments_are_refused():
    rows = _rows(n=200)
    with pytest.raises(ValueError, match="order must be 2"):
        analysis.interaction_strengths(rows, ["a", "b", "c"], order=4)
    with pytest.raises(ValueError, match="missing_column"):
        analysis.interaction_strengths(rows, ["a", "missing_column"])
    with pytest.raises(ValueError, match="at least two"):
        analysis.interaction_gain(rows, ["a"])
