"""Lab 01 — the data: conversion rate, nested features, embedding-table sizes."""
from __future__ import annotations

import numbers

import pandas as pd

from recsys_course.exercises.core import Exercise, Incorrect


def _conversion(conversion_rate, rows: pd.DataFrame, **_) -> None:
    truth = float(rows["target"].mean())
    if isinstance(conversion_rate, bool) or not isinstance(conversion_rate, numbers.Real):
        raise Incorrect(f"`conversion_rate` should be a number, got {type(conversion_rate).__name__}.")
    value = float(conversion_rate)
    if abs(value - 100 * truth) < 1e-6:
        raise Incorrect("that is a percentage: give the rate as a fraction between 0 and 1.")
    if abs(value - (1 - truth)) < 1e-6:
        raise Incorrect("that is the share of carts that were *not* bought: the label 1 means purchased.")
    if abs(value - truth) > 1e-6:
        raise Incorrect(f"{value:.4f} is not the share of train rows whose target is 1. Each row is one cart; "
                        "average its `target`.")


def _nested(is_nested, rows: pd.DataFrame, **_) -> None:
    if not callable(is_nested):
        raise Incorrect("`is_nested` should be a function `is_nested(rows, child, parent)`.")
    toy = pd.DataFrame({"child": [1, 1, 2, 3, 3, 4], "parent": ["a", "a", "a", "b", "b", "b"],
                        "many": [1, 2, 3, 4, 5, 6], "loose": ["x", "y", "x", "x", "y", "y"]})
    answers = {("child", "parent"): True, ("parent", "child"): False, ("many", "parent"): True,
               ("child", "loose"): False}
    got = {k: is_nested(toy, *k) for k in answers}
    if any(not isinstance(v, (bool,)) and type(v).__name__ != "bool_" for v in got.values()):
        raise Incorrect("`is_nested` should return True or False.")
    got = {k: bool(v) for k, v in got.items()}
    if got[("child", "parent")] is False and got[("parent", "child")] is True:
        raise Incorrect("the direction is reversed: `child` is nested in `parent` when each *child* value has a single parent.")
    if got[("child", "loose")] is True:
        raise Incorrect("comparing how many distinct values the columns have is not enough: group the rows by "
                        "`child` and count the distinct `parent` values of each group.")
    if got != answers:
        wrong = [k for k in answers if got[k] != answers[k]]
        raise Incorrect(f"wrong answer for child={wrong[0][0]!r}, parent={wrong[0][1]!r} on a small test table.")
    if not is_nested(rows, "cat_1", "cat_0") or is_nested(rows, "ts_hour", "cat_0"):
        raise Incorrect("right on the test table, wrong on the course data (cat_1 is inside cat_0; hours are not).")


def _embedding_params(embedding_params, schema, rows: pd.DataFrame, **_) -> None:
    from merlin.schema import Tags

    cats = schema.select_by_tag(Tags.CATEGORICAL)
    truth = sum((int(c.int_domain.max) + 1) * 64 for c in cats)
    if isinstance(embedding_params, bool) or not isinstance(embedding_params, numbers.Integral):
        raise Incorrect(f"`embedding_params` should be a whole number, got {type(embedding_params).__name__}.")
    distinct = sum(rows[c].nunique() for c in cats.column_names)
    if embedding_params == distinct * 64:
        raise Incorrect("close: Categorify adds 3 rows to every table (padding, null, out-of-vocabulary). Use the "
                        "cardinality in the schema (`int_domain.max + 1`), not the distinct values of the data.")
    if embedding_params == truth // 64:
        raise Incorrect("that is the number of table rows: each row is a 64-wide vector.")
    if embedding_params != truth:
        raise Incorrect(f"{embedding_params:,} is not the sum over the categorical columns of cardinality × 64.")


def lab01(rows: pd.DataFrame, schema) -> tuple[Exercise, Exercise, Exercise]:
    ctx = {"rows": rows, "schema": schema}
    q1 = Exercise("Q1 conversion rate", ("conversion_rate",), _conversion, [
        "Every row of the prepared train data is one cart; `target` is 1 when it was bought.",
        "The mean of a 0/1 column is the share of ones.",
        "`conversion_rate = rows[\"target\"].mean()`",
    ], 'conversion_rate = rows["target"].mean()', "a bit over half of the carts are bought.", ctx)
    q2 = Exercise("Q2 nested features", ("is_nested",), _nested, [
        "`child` is nested in `parent` when knowing the child value tells you the parent value.",
        "Group by the child column and count the distinct parent values in each group: nested means at most one everywhere.",
        "`rows.groupby(child)[parent].nunique().max() <= 1`",
    ], '''def is_nested(rows, child, parent):
    return bool(rows.groupby(child)[parent].nunique().max() <= 1)''',
        "cat_1 lies inside cat_0, so a cat_0 × cat_1 cross adds nothing that cat_1 does not already say.", ctx)
    q3 = Exercise("Q3 embedding parameters", ("embedding_params",), _embedding_params, [
        "Each categorical column has a table of `cardinality` rows of 64 numbers.",
        "The cardinality is in the schema: `schema[col].int_domain.max + 1`.",
        "Sum `(schema[c].int_domain.max + 1) * 64` over `schema.select_by_tag(Tags.CATEGORICAL)`.",
    ], '''embedding_params = sum((col.int_domain.max + 1) * 64 for col in schema.select_by_tag(Tags.CATEGORICAL))''',
        "the user and product tables are by far the largest.", ctx)
    return q1, q2, q3
