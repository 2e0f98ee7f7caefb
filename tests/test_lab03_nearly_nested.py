"""Lab 03 on data the course did not generate: when the strongest interaction is the nearly-nested cat_0 × cat_1 (as
in the real files, where `kitchen` sits under two top categories), the official Q3 → Q4 path passes, because Q4
judges nesting from the learner's rows as Q3 does; on rows where the pair is exactly nested, Q4 still refuses it."""
from __future__ import annotations

import random

import numpy as np
import pytest

from mistakes.support import lab_namespace  # noqa: F401 - fixture
from rees46_fixture import CODES
from test_exercises import solve
from recsys_course.modeling import analysis
from recsys_course.course.exercises import lab03
from recsys_course.course.exercises.core import CORRECT, INCORRECT

# the purchase rate of a kitchen product depends on its top category; every other code is a coin flip
KITCHEN_RATE = {"appliances": 0.85, "furniture": 0.15}


def real_like_rows(rows, shared_kitchen: bool = True, seed: int = 7):
    """The tiny rows with the REES46 fixture's category codes (`kitchen` under appliances and furniture) and a
    target that only the combination of cat_0 and cat_1 explains."""
    rng = random.Random(seed)
    codes = [c for c in CODES if shared_kitchen or not c.startswith("furniture.kitchen")]
    out = rows.copy()
    levels = [(c.split(".") + ["NA", "NA"])[:3] for c in (rng.choice(codes) for _ in range(len(out)))]
    out["cat_0"], out["cat_1"], out["cat_2"] = (list(col) for col in zip(*levels))
    rate = [KITCHEN_RATE.get(top, 0.5) if mid == "kitchen" else 0.5 for top, mid, _ in levels]
    out["target"] = (np.random.default_rng(seed).random(len(out)) < np.array(rate)).astype(out["target"].dtype)
    return out


def _lab(ns, rows):
    exercises = lab03(ns["schema"], ns["batch"], rows)
    return exercises, {**ns, "rows": rows}


def test_the_official_path_passes_when_the_strongest_pair_is_nearly_nested(lab_namespace):  # noqa: F811
    rows = real_like_rows(lab_namespace["rows"])
    assert set(rows.groupby("cat_1")["cat_0"].nunique().loc[lambda s: s > 1].index) == {"kitchen"}
    assert not analysis.nested_pair(rows, "cat_0", "cat_1")  # nearly, not exactly, nested
    (q1, q2, q3, q4), ns = _lab(lab_namespace, rows)
    for q in (q1, q2, q3):
        answer = solve(q, ns)
        ns.update(answer)
        assert q.check(**answer).status == CORRECT, q.check(**answer)
    assert set(ns["cross_features"]) == {"cat_0", "cat_1"}  # the case this test is about: Q3's answer is that pair
    outcome = q4.check(**solve(q4, ns))
    assert outcome.status == CORRECT, outcome
    assert "cat_0 × cat_1" in outcome.message or "cat_1 × cat_0" in outcome.message


def test_q4_still_refuses_cat_0_x_cat_1_where_the_data_nests_it(lab_namespace):  # noqa: F811
    rows = real_like_rows(lab_namespace["rows"], shared_kitchen=False)
    assert analysis.nested_pair(rows, "cat_0", "cat_1")
    (q1, q2, q3, q4), ns = _lab(lab_namespace, rows)
    build = lab_namespace["xmodel"]
    combos = rows.groupby(["cat_0", "cat_1"]).ngroups
    outcome = q4.check(cross_model=build(features=("cat_0", "cat_1"), bins=2 * combos))
    assert outcome.status == INCORRECT and "2022 notebook's cat_0 × cat_1, nested in your data" in outcome.message, \
        outcome


@pytest.mark.parametrize("shared", [True, False])
def test_q3_and_q4_agree_on_nesting(lab_namespace, shared):  # noqa: F811
    rows = real_like_rows(lab_namespace["rows"], shared_kitchen=shared)
    (_, _, q3, q4), ns = _lab(lab_namespace, rows)
    q3_says = q3.check(cross_features=("cat_0", "cat_1"))
    assert ("is nested" in q3_says.message) == (not shared)
    combos = rows.groupby(["cat_0", "cat_1"]).ngroups
    q4_says = q4.check(cross_model=lab_namespace["xmodel"](features=("cat_0", "cat_1"), bins=2 * combos))
    assert ("nested in your data" in q4_says.message) == (not shared), q4_says
