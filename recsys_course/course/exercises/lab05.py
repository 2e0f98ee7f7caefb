"""Lab 05 — change the ground truth: choose which planted terms to change, predict which model wins, measure it.

Only this lab reads the generator's planted truth, because changing it is the exercise: the learner's data is made
by `recsys_course.course.experiment` from the learner's own `planted`, whatever the course's data is (real files too).
The prediction is recorded by Q2's check before the measurement and judged only once `runs` exists (Q3, and the
verdict cell), against the measurement and its noise.
"""
from __future__ import annotations

import inspect
from typing import Any, NamedTuple

from recsys_course.course import experiment
from recsys_course.course.exercises import checkers as rules
from recsys_course.course.exercises.core import Exercise, Incorrect, Lab, caller_scope
from recsys_course.data.generate import PLANTED, Planted, planted_from
from recsys_course.modeling.training import FitResult

CHANGEABLE = experiment.CHANGEABLE  # cross, triple, affinity (and smooth when the generator has it)
_NAMES = ", ".join(f"`{n}`" for n in CHANGEABLE)


def as_planted(value) -> Planted:
    """A learner's `planted`: a dict {name: size}, "NAME=VALUE" strings (a list, or one string) or a `Planted`."""
    if not isinstance(value, (Planted, dict, list, tuple, str)):
        raise Incorrect(f"`planted` should be a dict like {{\"{CHANGEABLE[0]}\": 0.0}}, got {type(value).__name__}.")
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):
        raise Incorrect("a list of (name, size) pairs: write it as a dict, `dict(pairs)`, or as \"NAME=VALUE\" strings.")
    try:
        return planted_from(value)
    except ValueError as e:
        raise Incorrect(f"{e}.") from None


def _described(changed: dict[str, float]) -> str:
    """e.g. "`cross` 0.9 -> 0 (off), `triple` 0.45 -> 1 (up)"."""
    said = []
    for name, value in changed.items():
        shipped = getattr(PLANTED, name)
        how = "off" if value == 0 else ("up" if value > shipped else "down")
        said.append(f"`{name}` {shipped:.15g} -> {value:.15g} ({how})")
    return ", ".join(said)


def _checked_choice(planted) -> dict[str, float]:
    """The learner's changes {name: size}, or Incorrect: only the changeable terms, at least one, sizes in range."""
    spec = as_planted(planted)
    for field in ("cross_pair", "cross_triple"):
        if getattr(spec, field) != getattr(PLANTED, field):
            raise Incorrect(f"`{field}` was changed: keep the features the terms live on, change only sizes.")
    changed = experiment.changes(spec)
    if not changed:
        raise Incorrect(f"nothing is changed: every size is as shipped, so the data would be the course's own. "
                        f"Change one or more of {_NAMES}.")
    others = sorted(set(changed) - set(CHANGEABLE))
    if others:
        raise Incorrect(f"you also changed {', '.join(f'`{n}`' for n in others)}: change only {_NAMES}, so that "
                        "what the comparison shows comes from the interactions you chose.")
    big = {n: v for n, v in changed.items() if v > experiment.MAX_SIZE}
    if big:
        raise Incorrect(f"{_described(big)}: above {experiment.MAX_SIZE:g} on the logit nearly every purchase becomes "
                        "certain or impossible and no comparison is left. Choose a size up to "
                        f"{experiment.MAX_SIZE:g}.")
    return changed


class Q1(Exercise):
    title = "change the ground truth"
    names = ("planted",)
    hints = (f"`PLANTED_NAMES` lists what each name is. Choose among {_NAMES}: a dict {{name: size}} of only what "
             "you change, e.g. one interaction off and another up.",
             "For example `{\"cross\": 0.0, \"triple\": 1.0}`: the pairwise top category × hour term off, the 3-way "
             "term up to 1. Sizes are standard deviations on the logit; 0 turns a term off.")

    def verify(self, planted) -> str:
        changed = _checked_choice(planted)
        return (f"your ground truth: {_described(changed)}; everything else as shipped. Now predict which contender "
                "will win on it (Q2), before you measure.")


class Recorded(NamedTuple):
    """What Q2's check recorded: the prediction, the ground truth it was made for, and the measurement (`runs`)
    that already existed then, if any (a prediction made after a measurement is not judged against it)."""

    prediction: str
    planted: dict | None
    runs_then: Any


class Q2(Exercise):
    title = "predict the winner"
    names = ("prediction",)
    reads = ("runs",)  # the Measure cell's results
    hints = ("Which terms are in your data now, and which contender can represent each one? The check only records "
             "your prediction: the measurement judges it.",
             "DLRM's dot products meet two features at a time (the user × category affinity is a dot product); a "
             "HashedCross of a pair gives each pair of values a weight of its own, of three features each triple of "
             "values; a CrossBlock multiplies the inputs' vectors, so it writes smooth products of features with "
             "few weights, but it drops DLRM's dot products.")

    def verify(self, prediction) -> str:
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
        runs = self.scope.get("runs")
        planted = _choice_or_none(self.scope.get("planted"))
        self.lab.context["recorded"] = Recorded(str(prediction), planted, runs)
        already = ("" if runs is None else " (a measurement `runs` exists already: this prediction will be judged "
                   "only against the next one)")
        if planted is None:
            already += (" — but `planted` is not a correct Q1 answer yet: a prediction is judged only for the ground "
                        "truth it was made for, so check Q2 again once Q1 is correct")
        return (f"recorded: you predict {prediction}{already}. Nothing is judged yet — run the measurement; Q3 and "
                "the verdict below say whether it held.")

    def recorded(self, runs=None) -> str | None:
        """The prediction Q2's check recorded before `runs` was measured, for the notebook's `planted` now; None when
        none was (never checked, checked after that measurement, or made for another ground truth)."""
        return self.recorded_for(runs, caller_scope(inspect.currentframe().f_back).get("planted"))

    def recorded_for(self, runs, planted) -> str | None:
        rec = self.lab.context.get("recorded")
        if rec is None or rec.planted is None or (runs is not None and rec.runs_then is runs):
            return None  # none, made without a valid ground truth (Q1), or made after this measurement
        return rec.prediction if _choice_or_none(planted) == rec.planted else None


def _choice_or_none(planted) -> dict | None:
    try:
        return _checked_choice(planted)
    except Incorrect:
        return None


class Q3(Exercise):
    title = "read the measurement"
    names = ("winner",)
    reads = ("runs",)  # the Measure cell's results
    hints = ("`runs` holds one result per contender; each has `.name` and `.auc` (validation AUC).",
             "The run with the highest `auc`: `max(runs, key=lambda r: r.auc)`, and its `.name`.")

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
        q2 = next((q for q in self.lab.exercises if isinstance(q, Q2)), None)
        recorded = None if q2 is None else q2.recorded_for(runs, self.scope.get("planted"))
        return f"{name} won this run. {_judged(recorded, name)}"


def _judged(prediction: str | None, winner: str) -> str:
    if prediction is None:
        return ("No prediction was recorded for this measurement (Q2's check records it, before the measurement, "
                "for the same `planted`): nothing to judge.")
    if prediction == winner:
        return f"Your prediction, recorded before the measurement, held: {prediction}."
    return (f"Your prediction, recorded before the measurement, was {prediction}: it did not hold in this run. The "
            "verdict below says whether the margin is beyond the noise.")


def _measurement(runs) -> list:
    """`runs` as the Measure cell makes it (`train_until_stopped` for each contender): one result for each, each with
    an AUC; else Incorrect."""
    rules.measurement(runs, experiment.CONTENDERS, f"run the Measure cell that sets `runs` (it trains the "
                      f"{len(experiment.CONTENDERS)} contenders) first.",
                      "the Measure cell makes (one `train_until_stopped` per contender)",
                      f"one result for each of {', '.join(experiment.CONTENDERS)}")
    return runs


def lab05() -> tuple[Exercise, ...]:
    """`q1, q2, q3 = lab05()`: Q2's check records the prediction; Q3 and `q2.recorded(runs)` judge it after the
    measurement."""
    return Lab().add(Q1, Q2, Q3)
