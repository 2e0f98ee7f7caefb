"""Lab 05 — change the ground truth: turn a planted term off and another up, predict which model wins, measure it.

Only this lab reads the generator's planted truth, because changing it is the exercise: the learner's data is made
by `recsys_course.experiment` from the learner's own `planted`, whatever the course's data is (real files too).
"""
from __future__ import annotations

import math

from recsys_course import experiment
from recsys_course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.generate import PLANTED, Planted, planted_from
from recsys_course.training import FitResult

OFF, UP = "cross", "triple"  # Q1: the pairwise term off, the 3-way term up to UP_TO
UP_TO = 1.0


def as_planted(value) -> Planted:
    """A learner's `planted`: a dict {name: size}, "NAME=VALUE" strings (a list, or one string) or a `Planted`."""
    if not isinstance(value, (Planted, dict, list, tuple, str)):
        raise Incorrect(f"`planted` should be a dict like {{\"{OFF}\": 0.0}}, got {type(value).__name__}.")
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):
        raise Incorrect("a list of (name, size) pairs: write it as a dict, `dict(pairs)`, or as \"NAME=VALUE\" strings.")
    try:
        return planted_from(value)
    except ValueError as e:
        raise Incorrect(f"{e}.") from None


def _size(value: float) -> str:
    return format(value, ".15g")


class Q1(Exercise):
    title = "change the ground truth"
    names = ("planted",)
    hints = ("`PLANTED_NAMES` lists what you can change. The pairwise term is one name, the 3-way term another.",
             f"A dict of the two changes only: the pairwise term (`{OFF}`) to 0, the 3-way term (`{UP}`) to {UP_TO:g}.")
    solution_code = f'planted = {{"{OFF}": 0.0, "{UP}": {UP_TO}}}'
    success = (f"the pairwise term is off and the 3-way term is up: the data's only interaction is now "
               f"{' × '.join(PLANTED.cross_triple)} (hour in bands, weekday as weekend or not).")

    def verify(self, planted) -> None:
        spec = as_planted(planted)
        for field in ("cross_pair", "cross_triple"):
            if getattr(spec, field) != getattr(PLANTED, field):
                raise Incorrect(f"`{field}` was changed: keep the features the terms live on, change only sizes.")
        changed = experiment.changes(spec)
        if changed.get(OFF) != 0.0:
            now = _size(spec.cross) + (" (as shipped)" if OFF not in changed else "")
            raise Incorrect(f"the pairwise top category × hour term is still on: `{OFF}` is {now}. Turn it off: "
                            f"`\"{OFF}\": 0`.")
        if UP not in changed or not math.isclose(changed[UP], UP_TO, rel_tol=1e-9):
            raise Incorrect(f"the 3-way term `{UP}` is {_size(spec.triple)}"
                            + (" (as shipped)" if UP not in changed else "") + f": turn it up to {UP_TO:g}.")
        others = sorted(set(changed) - {OFF, UP})
        if others:
            raise Incorrect(f"you also changed {', '.join(f'`{n}`' for n in others)}: change only `{OFF}` and `{UP}`, "
                            "so that what the comparison shows comes from those two.")


class Q2(Exercise):
    title = "predict the winner"
    names = ("prediction",)
    hints = ("Which interaction is left in your data, and which model gives each of its combinations its own weight?",
             "DLRM's dot products meet two features at a time; a HashedCross of a pair gives each pair of values a "
             "weight; a HashedCross of three features gives each triple of values a weight.")
    solution_code = f'prediction = "{experiment.TRIPLE}"'
    success = (f"with only the 3-way term left, {experiment.TRIPLE} is the one model that gives each of its "
               "combinations its own weight. Now measure it.")

    def verify(self, prediction) -> None:
        if isinstance(prediction, FitResult):
            raise Incorrect("predict before you measure: write the name of a contender, not a run's result.")
        if not isinstance(prediction, str):
            raise Incorrect(f"`prediction` should be one of the names in `CONTENDERS`, a str, got "
                            f"{type(prediction).__name__}.")
        names = {n.lower(): n for n in experiment.CONTENDERS}
        if prediction not in experiment.CONTENDERS:
            close = names.get(prediction.strip().lower())
            raise Incorrect(f"{prediction!r} is not one of the contenders "
                            + (f"— write it exactly: {close!r}." if close else f"{list(experiment.CONTENDERS)}."))
        if prediction == experiment.DLRM:
            raise Incorrect("DLRM meets features two at a time, through dot products of embeddings. With the pairwise "
                            "term off, what is left is a 3-way term with no pairwise part: any two of its features, "
                            "averaged over the third, show (nearly) nothing. Which model sees all three at once?")
        if prediction == experiment.PAIR:
            raise Incorrect(f"the pair cross gives each (top category, hour) a weight — but you turned that term off "
                            f"(`{OFF}=0`), and the 3-way term averages out within each pair: weekend and weekdays pull "
                            "each (category, hour) cell in opposite directions. What is left needs all three features.")


class Q3(Exercise):
    title = "read the measurement"
    names = ("winner",)
    hints = ("`runs` holds one result per contender; each has `.name` and `.auc` (validation AUC).",
             "The run with the highest `auc`: `max(runs, key=lambda r: r.auc)`, and its `.name`.")
    solution_code = "winner = max(runs, key=lambda r: r.auc).name"

    def verify(self, winner) -> str:
        runs = _measurement(self.scope.get("runs"))
        if isinstance(winner, FitResult) and not any(winner is r for r in runs):
            raise Incorrect("that result is not one of `runs`: take the winner from `runs` itself.")
        name = winner.name if isinstance(winner, FitResult) else winner
        if not isinstance(name, str):
            raise Incorrect(f"`winner` should be the winning contender's name (a str), got {type(winner).__name__}.")
        measured = {r.name: r.auc for r in runs}
        if name not in measured:
            raise Incorrect(f"{name!r} is not one of the runs: {list(measured)}.")
        top = max(measured.values())
        if measured[name] < top:
            best = next(n for n, a in measured.items() if a == top)
            digits = 4 if round(measured[name], 4) != round(top, 4) else 8
            raise Incorrect(f"in your run {name} scored {measured[name]:.{digits}f}, but {best} scored {top:.{digits}f}. "
                            "Take the highest validation AUC of *this* run, whatever you predicted.")
        agrees = (", the model Q2 reasons for from Q1's ground truth." if name == experiment.TRIPLE else
                  f" — not {experiment.TRIPLE}, the model Q2 reasons for from Q1's ground truth: with one seed at a "
                  "quick size a small margin can mislead (run it again with another seed).")
        return f"{name} won this run{agrees}"


def _measurement(runs) -> list:
    """`runs` as `experiment.measure` returns it: one result for each contender, each with an AUC; else Incorrect."""
    if runs is None:
        raise Incorrect("no measurement found: run the cell that sets `runs` (it trains the three contenders) first.")
    if not isinstance(runs, list) or not all(isinstance(r, FitResult) for r in runs):
        raise Incorrect(f"`runs` should be the list of results `experiment.measure` returns, got {type(runs).__name__}"
                        + ("" if not isinstance(runs, list) else " with other things in it") + ": run the measurement "
                        "cell again.")
    names = [r.name for r in runs]
    if sorted(names) != sorted(experiment.CONTENDERS):
        raise Incorrect(f"`runs` should hold one result for each of {', '.join(experiment.CONTENDERS)}; it holds "
                        f"{names}: run the measurement cell again.")
    failed = [r.name for r in runs if not isinstance(r.auc, (int, float)) or math.isnan(r.auc)]
    if failed:
        raise Incorrect(f"{', '.join(failed)} has no AUC (NaN): its training failed. Run the measurement cell again.")
    return runs


def lab05() -> tuple[Exercise, ...]:
    """`q1, q2, q3 = lab05()`."""
    return Lab().add(Q1, Q2, Q3)
