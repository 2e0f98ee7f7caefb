"""Lab 03 — DLRM by hand, the schema trap, finding the informative cross, DLRM + HashedCross."""
from __future__ import annotations

from recsys_course.exercises.core import (SCHEMA_TRAP, Exercise, Incorrect, block_types, model_features,
                                          require_model, shape_of)
from recsys_course.generate import PLANTED

ALL_FEATURES = {"user_id", "ts_weekday", "ts_hour", "product_id", "cat_0", "cat_1", "cat_2", "brand", "price",
                "relative_price"}
CATEGORICAL = ["user_id", "ts_weekday", "ts_hour", "product_id", "cat_0", "cat_1", "cat_2", "brand"]


def _nested_pair(rows, a: str, b: str) -> bool:
    return bool(rows.groupby(a)[b].nunique().max() <= 1 or rows.groupby(b)[a].nunique().max() <= 1)


def _interaction(interaction, batch, **_) -> None:
    out = shape_of(interaction(batch))
    types = block_types(interaction)
    if isinstance(out, dict):
        raise Incorrect("the block returns a dict: connect the inputs to the dot-product interaction.")
    if "DotProductInteraction" not in types:
        raise Incorrect(f"no dot products: DLRM's interaction is `DotProductInteractionBlock()` (yours gives {out}).")
    if out[1] == 36:
        raise Incorrect("36 pairwise dot products, but the bottom MLP's own vector is missing: use "
                        "`connect_with_shortcut(..., shortcut_filter=mm.Filter(\"bottom_block\"), aggregation=\"concat\")`.")
    if out[1] != 32 + 36:
        raise Incorrect(f"the output is {out[1]} wide; with 32-wide vectors DLRM gives 32 (bottom MLP) + 36 dot products = 68.")


def _dlrm_model(dlrm_model, batch, **_) -> None:
    require_model(dlrm_model, "dlrm_model")
    features = model_features(dlrm_model)
    if features != ALL_FEATURES:
        raise Incorrect(SCHEMA_TRAP.format(found=sorted(features)))
    types = block_types(dlrm_model)
    if "DotProductInteraction" not in types:
        raise Incorrect("the model has no dot-product interaction: build it on your `interaction` block from Q1.")
    out = shape_of(dlrm_model(batch))
    if out != (len(batch["user_id"]), 1):
        raise Incorrect(f"the model outputs {out}; a binary classification task gives one probability per row.")


def _cross_pair(cross_pair, rows, **_) -> None:
    if not isinstance(cross_pair, (tuple, list)) or len(cross_pair) != 2 or not all(isinstance(c, str) for c in cross_pair):
        raise Incorrect("`cross_pair` should be a pair of column names, like (\"cat_0\", \"brand\").")
    a, b = cross_pair
    for c in (a, b):
        if c not in CATEGORICAL:
            raise Incorrect(f"{c!r} is not one of the categorical features {CATEGORICAL}.")
    if a == b:
        raise Incorrect("a cross needs two different features.")
    if _nested_pair(rows, a, b):
        raise Incorrect(f"{a} × {b} is nested: one determines the other, so the pair carries nothing new. "
                        "Look for two features that vary independently.")
    if {a, b} != set(PLANTED.cross_pair):
        raise Incorrect(f"{a} × {b} is not the pair the data rewards: compare, for every pair, how far the "
                        "conversion rate of each (a, b) cell is from what a and b alone predict.")


def _cross_model(cross_model, batch, **_) -> None:
    require_model(cross_model, "cross_model")
    crosses = [layer for layer in cross_model.submodules if type(layer).__name__ == "HashedCross"]
    if not crosses:
        raise Incorrect("no HashedCross in the model: add a wide branch with `mm.HashedCross(...)`.")
    columns = set(crosses[0].schema.column_names)
    if columns == {"cat_0", "cat_1"}:
        raise Incorrect("that is the 2022 notebook's cat_0 × cat_1: nested, so it cannot help. Cross the pair you found in Q3.")
    if columns != set(PLANTED.cross_pair):
        raise Incorrect(f"the HashedCross crosses {sorted(columns)}, not the pair you found in Q3.")
    features = model_features(cross_model)
    if features != ALL_FEATURES:
        raise Incorrect(SCHEMA_TRAP.format(found=sorted(features)))
    if "DotProductInteraction" not in block_types(cross_model):
        raise Incorrect("keep DLRM's dot-product interaction and add the cross *beside* it.")
    if shape_of(cross_model(batch)) != (len(batch["user_id"]), 1):
        raise Incorrect("the model should output one probability per row.")


def lab03(schema, batch, rows) -> tuple[Exercise, Exercise, Exercise, Exercise]:
    ctx = {"batch": batch}
    q1 = Exercise("Q1 DLRM interaction", ("interaction",), _interaction, [
        "Two branches in a ParallelBlock: `\"embeddings\"` (dim 32) and `\"bottom_block\"` (an MLP ending at 32).",
        "The bottom MLP's last width must equal the embedding dim, or the dot products cannot be taken.",
        "`inputs.connect_with_shortcut(DotProductInteractionBlock(), shortcut_filter=mm.Filter(\"bottom_block\"), aggregation=\"concat\")`",
    ], '''inputs = mm.ParallelBlock({
    "embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=32),
    "bottom_block": mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(mm.MLPBlock([64, 32])),
})
interaction = inputs.connect_with_shortcut(
    DotProductInteractionBlock(), shortcut_filter=mm.Filter("bottom_block"), aggregation="concat")''',
        "32 + 36 = 68 inputs for the top MLP.", ctx)
    q2 = Exercise("Q2 the DLRM model", ("dlrm_model",), _dlrm_model, [
        "Connect your interaction to a top `mm.MLPBlock([64])` and wrap it in `mm.Model` with a BinaryClassificationTask.",
        "The task: `mm.BinaryClassificationTask(\"target\")`.",
        "Do not forget `schema=schema` — see notebook 03's trap.",
    ], '''dlrm_model = mm.Model(interaction.connect(mm.MLPBlock([64])), mm.BinaryClassificationTask("target"), schema=schema)''',
        "all ten features reach the model.", ctx)
    q3 = Exercise("Q3 which pair?", ("cross_pair",), _cross_pair, [
        "A cross helps when the conversion rate of a pair of values differs from what each value alone predicts.",
        "`analysis.interaction_strengths(rows, columns)` measures that residual for every pair; nested pairs show nothing new.",
        "Run `analysis.interaction_strengths(rows, CANDIDATES)` and take the top row.",
    ], '''strengths = analysis.interaction_strengths(rows, CANDIDATES)
cross_pair = tuple(strengths.loc[0, "pair"].split(" × "))''', "the data rewards this pair.", {"rows": rows})
    q4 = Exercise("Q4 DLRM + HashedCross", ("cross_model",), _cross_model, [
        "A ParallelBlock of two branches, concatenated: your DLRM interaction and a HashedCross branch.",
        "The HashedCross branch: `mm.ParallelBlock(mm.TabularBlock.from_schema(schema=s, pre=mm.HashedCross(s, num_bins=1000)), is_input=True, aggregation=\"concat\")` with `s = schema.select_by_name(list(cross_pair))`.",
        "Concatenate both, connect a top MLP, and pass `schema=schema` to mm.Model.",
    ], '''s = schema.select_by_name(list(cross_pair))
cross = mm.ParallelBlock(mm.TabularBlock.from_schema(schema=s, pre=mm.HashedCross(s, num_bins=1000)),
                         is_input=True, aggregation="concat")
inputs = mm.ParallelBlock({
    "embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=32),
    "bottom_block": mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(mm.MLPBlock([64, 32])),
})
deep = inputs.connect_with_shortcut(DotProductInteractionBlock(), shortcut_filter=mm.Filter("bottom_block"),
                                    aggregation="concat")
body = mm.ParallelBlock({"dlrm": deep, "cross": cross}, aggregation="concat").connect(mm.MLPBlock([64]))
cross_model = mm.Model(body, mm.BinaryClassificationTask("target"), schema=schema)''',
        "a wide cross of the informative pair, beside DLRM.", ctx)
    return q1, q2, q3, q4
