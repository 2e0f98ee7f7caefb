"""Lab 03 — DLRM by hand, the schema trap, finding the interacting features, DLRM + HashedCross.

The interacting features are the ones `analysis.interaction_strengths` ranks first (pairs and triples) on the
learner's own rows, so the lab is right on generated and real data alike.
"""
from __future__ import annotations

from itertools import combinations

import pandas as pd

from recsys_course.modeling import analysis, builders
from recsys_course.course.exercises import checkers as rules
from recsys_course.course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.course.exercises.merlin_adapter import describe, find
from recsys_course.data.formats import CROSS_CANDIDATES

DIM, BOTTOM, TOP = 32, (64, 32), (64,)
FROM_BLOCKS = "your `interaction` from Q1, a top `mm.MLPBlock([64])` and `mm.BinaryClassificationTask(\"target\")`"


def strength_table(rows: pd.DataFrame, candidates=tuple(CROSS_CANDIDATES)) -> pd.DataFrame:
    """Pairs and triples of `candidates`, strongest interaction first (measured on `rows`)."""
    both = pd.concat([analysis.interaction_strengths(rows, list(candidates)),
                      analysis.interaction_strengths(rows, list(candidates), order=3)], ignore_index=True)
    return both.sort_values("interaction", ascending=False, kind="stable").reset_index(drop=True)


class Q1(Exercise):
    title = "DLRM interaction"
    names = ("interaction",)
    hints = ("Two branches in a ParallelBlock: `\"embeddings\"` (dim 32) and `\"bottom_block\"` (an MLP ending at 32).",
             "The bottom MLP's last width must equal the embedding dim, or the dot products cannot be taken.",
             "`inputs.connect_with_shortcut(DotProductInteractionBlock(), shortcut_filter=mm.Filter(\"bottom_block\"), aggregation=\"concat\")`")
    def verify(self, interaction) -> str:
        path = rules.block(interaction, "interaction")
        width = rules.check_dlrm_interaction(path, rules.inputs_spec(self.ctx["schema"], DIM, BOTTOM, False), self.ctx["batch"])
        return f"{DIM} (bottom MLP) + {width - DIM} dot products = {width} inputs for the top MLP."


class Q2(Exercise):
    title = "the DLRM model"
    names = ("dlrm_model",)
    hints = ("Connect your interaction to a top `mm.MLPBlock([64])` and wrap it in `mm.Model` with a BinaryClassificationTask.",
             "The task: `mm.BinaryClassificationTask(\"target\")`.",
             "Do not forget `schema=schema` — see notebook 03's trap.")
    success = "all ten features reach the model."

    def verify(self, dlrm_model) -> None:
        spec, batch = rules.inputs_spec(self.ctx["schema"], DIM, BOTTOM, False), self.ctx["batch"]
        rules.model(dlrm_model, "dlrm_model", self.ctx, FROM_BLOCKS,
                    [lambda path: rules.check_dlrm_interaction([s for s in path if s.kind != "task"][:2], spec),
                     lambda path: rules.check_top(path, 2, TOP, "the interaction")],
                    self.lab.later_answers(self),
                    after=[lambda path: rules.check_interaction_output(path[0], path[1], batch, spec)],
                    reference=lambda: builders.dlrm(self.ctx["schema"], DIM, BOTTOM[:-1], TOP))


class Q3(Exercise):
    title = "which features interact?"
    names = ("cross_features",)
    hints = ("A cross helps when the purchase rate of a combination differs from what its parts predict on their own.",
             "`analysis.interaction_strengths(rows, CANDIDATES)` scores every pair, and with `order=3` every triple "
             "(what the pairs already explain is removed first).",
             "Put both tables together (`pd.concat`), sort by `interaction` and take the top row's `features`.")
    success = "these features interact most on your data (pairs and triples ranked together)."

    def verify(self, cross_features) -> None:
        got = _feature_set(cross_features)
        table = self.lab.strengths()
        top = table.loc[0]
        nested = _nested(self.ctx["rows"], got)
        if nested:
            raise Incorrect(f"{' × '.join(nested[0])} is nested: one determines the other, so their cross carries "
                            "nothing new. Look for features that vary independently.")
        if got != set(top["features"]):
            ranked = table[table["features"].map(set) == got]
            where = f"it ranks #{ranked.index[0] + 1} ({ranked['interaction'].iloc[0]:.2f})" if len(ranked) else "it is not scored"
            advice = ("Rank pairs *and* triples together (`order=3`)." if len(got) != len(top["features"]) else
                      "Take the strongest: sort by `interaction`, descending, and take the first row.")
            raise Incorrect(f"{' × '.join(sorted(got))} is not what your data rewards most: {where}, and another set "
                            f"scores {top['interaction']:.2f}. {advice}")


def _feature_set(value) -> set[str]:
    if isinstance(value, str) or not isinstance(value, (tuple, list, set, frozenset)) or not all(
            isinstance(c, str) for c in value):
        raise Incorrect("`cross_features` should be a tuple of two or three column names, like (\"cat_0\", \"brand\"), "
                        f"got {value!r}.")
    for c in value:
        if c not in CROSS_CANDIDATES:
            raise Incorrect(f"{c!r} is not one of the candidate categorical features {CROSS_CANDIDATES}.")
    if len(set(value)) != len(value) or len(value) not in (2, 3):
        raise Incorrect(f"a cross needs two or three different features, got {value!r}.")
    return set(value)


def _reference(schema, cross_model):
    """DLRM with the learner's HashedCross (its features and bins), as the bench builds it."""
    cross = find(rules.steps(cross_model), "hashed_cross")[0]
    return builders.dlrm(schema, DIM, BOTTOM[:-1], TOP, cross=list(cross["features"]), num_bins=cross["bins"])


class Q4(Exercise):
    title = "DLRM + HashedCross"
    names = ("cross_model",)
    hints = ("A ParallelBlock of two branches, concatenated: a new DLRM interaction and a HashedCross branch.",
             "The HashedCross branch: `mm.ParallelBlock(mm.TabularBlock.from_schema(schema=s, pre=mm.HashedCross(s, "
             "num_bins=...)), is_input=True, aggregation=\"concat\")` with `s = schema.select_by_name(list(cross_features))`; "
             "count the combinations with `rows.groupby(list(cross_features)).ngroups`.",
             "Concatenate both, connect a top MLP, and pass `schema=schema` to mm.Model.")

    def verify(self, cross_model) -> str:
        spec = rules.inputs_spec(self.ctx["schema"], DIM, BOTTOM, False)
        path = rules.model(cross_model, "cross_model", self.ctx,
                           "a ParallelBlock of a new DLRM interaction and a HashedCross branch",
                           [lambda p: self._structure(p, spec)],
                           self.lab.earlier_answers(self, self.scope) + self.lab.later_answers(self),
                           [lambda p: self._outputs(p, spec)], lambda: _reference(self.ctx["schema"], cross_model))
        features, bins = find(path, "hashed_cross")[0]["features"], find(path, "hashed_cross")[0]["bins"]
        combos = self.ctx["rows"].groupby(list(features)).ngroups
        return (f"a wide cross of {' × '.join(features)}, the features your data rewards, beside DLRM: {bins:,} bins "
                f"for its {combos:,} combinations. Hashing still puts some combinations in a shared bin; the last "
                "part of this lab counts them.")

    def _structure(self, path: list, spec) -> None:
        """A ParallelBlock of DLRM's interaction and the wide HashedCross alone, concatenated, then the top MLP."""
        crosses = find(path, "hashed_cross")
        if not crosses:
            raise Incorrect("no HashedCross in the model: add a wide branch with `mm.HashedCross(...)` beside DLRM.")
        self._check_cross(crosses[0])
        top = path[0]
        if top.kind != "parallel" or len(top["branches"]) != 2:
            raise Incorrect(f"expected a ParallelBlock of two branches (DLRM, HashedCross) first, got {describe(path[:1])}.")
        wide, deep = _wide_and_deep(top)
        if len(deep) != 1 or not find(deep[0], "embeddings"):
            raise Incorrect(f"one branch should be DLRM (inputs → dot products with the shortcut), the other the "
                            f"HashedCross; got {describe(path[:1])}.")
        rules.check_dlrm_interaction(deep[0], spec)
        _check_wide_path(top["branches"][wide[0]])
        if top["agg"] != "concat":
            raise Incorrect(f"the two branches are aggregated with {top['agg']}: pass `aggregation=\"concat\"`.")
        rules.check_top(path, 1, TOP, "the concatenated DLRM and cross")

    def _outputs(self, path: list, spec) -> None:
        wide, deep = _wide_and_deep(path[0])
        rules.check_interaction_output(deep[0][0], deep[0][1], self.ctx["batch"], spec)
        _check_wide_output(path[0]["blocks"][wide[0]], self.ctx["batch"], find(path, "hashed_cross")[0]["bins"])

    def _check_cross(self, cross) -> None:
        """The crossed features are Q3's (nesting judged on the learner's rows, as Q3 does), with enough bins."""
        truth = tuple(self.lab.strengths().loc[0, "features"])
        got = set(cross["features"])
        nested = _nested(self.ctx["rows"], got)
        if nested:
            which = ("the 2022 notebook's cat_0 × cat_1" if set(nested[0]) == {"cat_0", "cat_1"}
                     else " × ".join(nested[0]))
            raise Incorrect(f"that crosses {which}, nested in your data: one determines the other, so their cross "
                            f"carries nothing new. Cross the features you found in Q3 ({' × '.join(truth)}).")
        if got != set(truth):
            raise Incorrect(f"the HashedCross crosses {sorted(got)}; your data rewards {' × '.join(truth)} (Q3).")
        combos = self.ctx["rows"].groupby(list(truth)).ngroups
        if cross["bins"] < combos:
            raise Incorrect(f"num_bins={cross['bins']} for {combos} combinations of {' × '.join(truth)} in your data: "
                            f"many combinations would share a bin (hash collisions). Use at least {combos} bins.")
        if cross["mode"] not in ("one_hot", "multi_hot"):  # one cross: multi_hot is the same one-hot vector
            raise Incorrect(f"output_mode={cross['mode']!r} gives bin ids; this wide branch is the one-hot cross "
                            "(leave output_mode at its default).")


def _nested(rows: pd.DataFrame, features: set[str]) -> list[tuple[str, str]]:
    """The pairs of `features` nested in the rows (one determines the other)."""
    return [p for p in combinations(sorted(features), 2) if analysis.nested_pair(rows, *p)]


def _wide_and_deep(top) -> tuple[list[str], list[list]]:
    """The names of a ParallelBlock's branches with a HashedCross, and the paths of the others."""
    wide = [n for n, p in top["branches"].items() if find(p, "hashed_cross")]
    return wide, [p for p in top["branches"].values() if not find(p, "hashed_cross")]


def _check_wide_path(path: list) -> None:
    """The wide branch is the HashedCross alone (possibly wrapped in a one-branch ParallelBlock, concatenated)."""
    def alone(steps_: list):  # a Filter that selects the crossed columns (TabularBlock.from_schema adds one) is fine
        rest = [s for s in steps_ if s.kind != "filter"]
        return rest[0] if len(rest) == 1 else None

    step = alone(path)
    while step is not None and step.kind == "parallel" and len(step["branches"]) == 1 and step["agg"] in (None, "concat"):
        step = alone(next(iter(step["branches"].values())))
    if step is None or step.kind != "hashed_cross":
        raise Incorrect(f"the wide branch should be the HashedCross alone, its one-hot vector going straight into the "
                        f"concatenation; got {describe(path)}. Leave out anything else in that branch.")


def _check_wide_output(block, batch, bins: int) -> None:
    """On the batch the wide branch gives one one-hot vector of `bins` numbers per row."""
    import numpy as np

    out = block(batch)
    values = list(out.values()) if isinstance(out, dict) else [out]
    got = [tuple(v.shape) for v in values]
    rows = len(next(iter(batch.values())))
    array = np.asarray(values[0], dtype=float) if len(values) == 1 else None
    if array is None or got[0] != (rows, bins) or not (np.isin(array, (0, 1)).all() and (array.sum(1) == 1).all()):
        raise Incorrect(f"the wide branch outputs {got} on the {rows}-row batch; expected one one-hot vector of "
                        f"num_bins={bins} per row, i.e. ({rows}, {bins}) with a single 1 in each row.")


class Lab03(Lab):
    """Lab 03's context, with the interaction ranking measured once on the learner's rows."""

    def strengths(self) -> pd.DataFrame:
        if "strengths" not in self.context:
            self.context["strengths"] = strength_table(self.context["rows"])
        return self.context["strengths"]


def lab03(schema, batch, rows) -> tuple[Exercise, ...]:
    """`q1, q2, q3, q4 = lab03(schema, batch, rows)`."""
    return Lab03(schema=schema, batch=batch, rows=rows).add(Q1, Q2, Q3, Q4)
