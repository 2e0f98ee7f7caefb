"""Lab 01 — the data: conversion rate, nested features, embedding-table sizes."""
from __future__ import annotations

import inspect

import pandas as pd

from recsys_course.modeling import analysis
from recsys_course.course.exercises import checkers
from recsys_course.course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.course.exercises.merlin_adapter import cardinalities

NESTING_COLUMNS = ("product_id", "cat_0", "cat_1", "cat_2", "brand", "ts_hour")
TOY = pd.DataFrame({"child": [1, 1, 2, 3, 3, 4], "parent": ["a", "a", "a", "b", "b", "b"],
                    "many": [1, 2, 3, 4, 5, 6], "loose": ["x", "y", "x", "x", "y", "y"],
                    "twin": ["p", "p", "q", "r", "r", "s"]})  # one to one with child: nested both ways
TOY_ANSWERS = {("child", "parent"): True, ("parent", "child"): False, ("many", "parent"): True,
               ("child", "loose"): False, ("loose", "parent"): False, ("child", "twin"): True, ("twin", "child"): True}
TOY_CASES = {k: (TOY, *k) for k in TOY_ANSWERS}
TOY_MISTAKES = [  # what a wrong `is_nested` may compute instead, each told by name when it matches on the toy table
    (lambda rows, child, parent: analysis.is_nested(rows, parent, child),
     "the direction is reversed: `child` is nested in `parent` when each *child* value has a single parent."),
    (lambda rows, child, parent: rows[child].nunique() >= rows[parent].nunique(),
     "comparing how many distinct values the columns have is not enough: group the rows by `child` and count the "
     "distinct `parent` values of each group."),
    (analysis.nested_pair, "that tests both directions (either column determines the other); `is_nested` asks only "
                           "whether each *child* value has a single parent."),
]
LONG = pd.DataFrame({"child": [1] * 1500, "parent": ["a"] * 1499 + ["b"]})  # the last row gives child 1 a 2nd parent


class Q1(Exercise):
    title = "conversion rate"
    names = ("conversion_rate",)
    hints = ("Every row of the prepared train data is one cart; `target` is 1 when it was bought.",
             "The mean of a 0/1 column is the share of ones.",
             "`conversion_rate = rows[\"target\"].mean()`")
    success = "that is the share of carts that end in a purchase."

    def verify(self, conversion_rate) -> None:
        truth, target = float(self.ctx["rows"]["target"].mean()), self.ctx["rows"]["target"]
        rounded = [(round(truth, k), f"close, but {round(truth, k)} is rounded: give the exact share, not a rounded "
                                     "figure.") for k in range(1, 6)]
        checkers.value(conversion_rate, "conversion_rate", truth, [
            (100 * truth, "that is a percentage: give the rate as a fraction between 0 and 1."),
            (1 - truth, "that is the share of carts that were *not* bought: the label 1 means purchased."),
            (target.sum(), "that is the number of bought carts; divide by the number of carts (or take the mean)."),
            *rounded], "{got:.4f} is not the share of train rows whose target is 1. Each row is one cart; average "
                       "its `target`.", tolerance=1e-6)


class Q2(Exercise):
    title = "nested features"
    names = ("is_nested",)
    hints = ("`child` is nested in `parent` when knowing the child value tells you the parent value.",
             "Group by the child column and count the distinct parent values in each group: nested means at most one everywhere.",
             "`rows.groupby(child)[parent].nunique().max() <= 1`")
    success = "it agrees with `analysis.is_nested` on every pair of columns of your data."

    def verify(self, is_nested) -> None:
        if not callable(is_nested):
            raise Incorrect(f"`is_nested` should be a function `is_nested(rows, child, parent)`, got {type(is_nested).__name__}.")
        _require_signature(is_nested)
        got = checkers.on_cases(lambda *k: _truth_value(is_nested(*k)), TOY_CASES)
        for pattern, message in TOY_MISTAKES:
            if got == {k: bool(v) for k, v in checkers.on_cases(pattern, TOY_CASES).items()}:
                raise Incorrect(message)
        wrong = [k for k in TOY_ANSWERS if got[k] != TOY_ANSWERS[k]]
        if wrong:
            twin = " (the two columns map one to one: each is nested in the other)" if "twin" in wrong[0] else ""
            raise Incorrect(f"on a small test table, child={wrong[0][0]!r}, parent={wrong[0][1]!r}: expected "
                            f"{TOY_ANSWERS[wrong[0]]}, got {got[wrong[0]]}{twin}.")
        if _truth_value(is_nested(LONG, "child", "parent")):
            raise Incorrect("on a 1,500-row table whose last row gives child 1 a second parent, your function says "
                            "nested: look at every row, not the first ones or a sample.")
        _on_the_data(is_nested, self.ctx["rows"])


def _require_signature(fn) -> None:
    try:
        inspect.signature(fn).bind(TOY, "child", "parent")
    except TypeError:
        raise Incorrect(f"`is_nested` should take three arguments, `is_nested(rows, child, parent)`; yours is "
                        f"`is_nested{inspect.signature(fn)}`.") from None
    except ValueError:  # no signature to read (a builtin): calling it will tell
        pass


def _truth_value(value) -> bool:
    if type(value).__name__ not in ("bool", "bool_"):
        raise Incorrect(f"`is_nested` should return True or False, got {type(value).__name__} {value!r}.")
    return bool(value)


def _on_the_data(is_nested, rows: pd.DataFrame) -> None:
    """Compare with `analysis.is_nested` on the learner's own rows (missing values dropped for both)."""
    columns = [c for c in NESTING_COLUMNS if c in rows.columns]
    for child, parent in ((c, p) for c in columns for p in columns if c != p):
        sub = rows[[child, parent]].dropna()
        truth, got = analysis.is_nested(sub, child, parent), _truth_value(is_nested(sub, child, parent))
        if got != truth:
            raise Incorrect(f"right on the test table, wrong on your data: is_nested(rows, {child!r}, {parent!r}) "
                            f"should be {truth}, got {got}.")


class Q3(Exercise):
    title = "embedding parameters"
    names = ("embedding_params",)
    hints = ("Each categorical column has a table of `cardinality` rows of 64 numbers.",
             "The cardinality is in the schema: `schema[col].int_domain.max + 1`.",
             "Sum `(schema[c].int_domain.max + 1) * 64` over `schema.select_by_tag(Tags.CATEGORICAL)`.")
    success = "the user and product tables are by far the largest."

    def verify(self, embedding_params) -> None:
        tables = cardinalities(self.ctx["schema"])
        truth = sum(tables.values()) * 64
        distinct = sum(self.ctx["rows"][c].nunique() for c in tables if c in self.ctx["rows"])
        checkers.value(embedding_params, "embedding_params", truth, {
            distinct * 64: "close: Categorify adds 3 rows to every table (padding, null, out-of-vocabulary). Use "
                           "the cardinality in the schema (`int_domain.max + 1`), not the distinct values of the data.",
            truth // 64: "that is the number of table rows: each row is a 64-wide vector.",
            (truth // 64 - len(tables)) * 64: "`int_domain.max` is the largest id; ids start at 0, so a table has "
                                              "`int_domain.max + 1` rows.",
            truth // 2: "that counts 32-wide vectors; the tables here are 64 wide."},
            f"{{got:,.0f}} is not the sum over the {len(tables)} categorical columns of cardinality × 64.", whole=True)


def lab01(rows: pd.DataFrame, schema) -> tuple[Exercise, ...]:
    """`q1, q2, q3 = lab01(rows, schema)`."""
    return Lab(rows=rows, schema=schema).add(Q1, Q2, Q3)
