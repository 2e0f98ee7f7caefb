"""Lab 02 — building blocks: a residual bottom MLP, item embeddings, a concatenating ParallelBlock."""
from __future__ import annotations

from recsys_course.exercises.core import Exercise, Incorrect, block_types, shape_of

ITEM_FEATURES = {"product_id", "cat_0", "cat_1", "cat_2", "brand"}


def _residual_bottom(bottom, batch, **_) -> None:
    out = shape_of(bottom(batch))
    types = block_types(bottom)
    if "WithShortcut" in types and "ResidualBlock" not in types:
        raise Incorrect("`connect_with_shortcut` keeps the input *beside* the output (a dict, or it concatenates "
                        "them with aggregation=\"concat\"); a residual connection *adds* them: use `connect_with_residual`.")
    if isinstance(out, dict):
        raise Incorrect("the block returns a dict: connect the continuous features to an MLPBlock so it returns one tensor.")
    if "ResidualBlock" not in types:
        raise Incorrect("there is no residual connection yet: finish with `.connect_with_residual(mm.MLPBlock([32]))`.")
    if out != (len(next(iter(batch.values()))), 32):
        raise Incorrect(f"the output is {out}, expected (batch, 32): both MLPs must be 32 wide, because a residual "
                        "adds the block's input to its output.")
    if "ContinuousFeatures" not in types:
        raise Incorrect("start from the continuous features: `mm.ContinuousFeatures.from_schema(...)`.")


def _item_embeddings(item_embeddings, batch, **_) -> None:
    out = shape_of(item_embeddings(batch))
    if not isinstance(out, dict):
        raise Incorrect("`mm.Embeddings` returns one vector per feature as a dict; did you aggregate it?")
    if set(out) != ITEM_FEATURES:
        extra, missing = set(out) - ITEM_FEATURES, ITEM_FEATURES - set(out)
        raise Incorrect(f"embeddings for {sorted(out)}: select the columns tagged ITEM "
                        f"(extra: {sorted(extra)}, missing: {sorted(missing)}).")
    widths = {v[1] for v in out.values()}
    if widths != {32}:
        raise Incorrect(f"the vectors are {sorted(widths)} wide; the exercise asks for dim=32.")


def _item_tower(item_tower, batch, **_) -> None:
    out = shape_of(item_tower(batch))
    if isinstance(out, dict):
        raise Incorrect(f"the ParallelBlock returns a dict of {len(out)} tensors: pass `aggregation=\"concat\"`.")
    if out[1] != 5 * 32 + 32:
        raise Incorrect(f"the output is {out[1]} wide; five 32-wide item embeddings and the 32-wide bottom MLP "
                        f"make {5 * 32 + 32}.")
    if "ResidualBlock" not in block_types(item_tower):
        raise Incorrect("the continuous branch should be your residual bottom MLP from Q1.")


def lab02(schema, batch) -> tuple[Exercise, Exercise, Exercise]:
    ctx = {"batch": batch}
    q1 = Exercise("Q1 residual bottom MLP", ("bottom",), _residual_bottom, [
        "Start from `mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS))`.",
        "`.connect(mm.MLPBlock([32]))` first; then a second 32-wide MLP whose input is added back.",
        "`.connect_with_residual(mm.MLPBlock([32]))` adds the block's input to its output.",
    ], '''bottom = (mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS))
          .connect(mm.MLPBlock([32]))
          .connect_with_residual(mm.MLPBlock([32])))''', "the residual keeps the width at 32.", ctx)
    q2 = Exercise("Q2 item embeddings", ("item_embeddings",), _item_embeddings, [
        "Only the item's columns: product_id, cat_0, cat_1, cat_2 and brand all carry the ITEM tag.",
        "`schema.select_by_tag(Tags.ITEM)` selects them.",
        "`mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=32)`",
    ], "item_embeddings = mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=32)",
        "five tables, one 32-wide vector per item feature.", ctx)
    q3 = Exercise("Q3 a concatenated item tower", ("item_tower",), _item_tower, [
        "A ParallelBlock takes a dict of branches: your item embeddings and your bottom MLP.",
        "Without an aggregation it returns a dict; `aggregation=\"concat\"` makes one tensor.",
        "`mm.ParallelBlock({\"items\": item_embeddings, \"continuous\": bottom}, aggregation=\"concat\")`",
    ], 'item_tower = mm.ParallelBlock({"items": item_embeddings, "continuous": bottom}, aggregation="concat")',
        "192 numbers per row, ready for an MLP.", ctx)
    return q1, q2, q3
