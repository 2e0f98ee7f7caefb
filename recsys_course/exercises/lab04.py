"""Lab 04 — DCN: a deeper CrossBlock, a low-rank one, and what a cross layer costs."""
from __future__ import annotations

import numbers

from recsys_course.exercises.core import (SCHEMA_TRAP, Exercise, Incorrect, block_types, model_features,
                                          require_model, shape_of)
from recsys_course.exercises.lab03 import ALL_FEATURES

WIDTH = 9 * 64  # eight 64-wide embeddings and the 64-wide bottom MLP, concatenated


def _cross_kernels(model) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w in model.weights if "/cross" in w.name and "kernel" in w.name]


def _common(model, name: str, batch) -> None:
    require_model(model, name)
    features = model_features(model)
    if features != ALL_FEATURES:
        raise Incorrect(SCHEMA_TRAP.format(found=sorted(features)))
    out = shape_of(model(batch))
    if "Cross" not in block_types(model):
        raise Incorrect("there is no CrossBlock: connect the concatenated inputs to `mm.CrossBlock(depth)`.")
    if "DotProductInteraction" in block_types(model):
        raise Incorrect("the dot-product interaction is still there: DCN *replaces* it with the CrossBlock.")
    if out != (len(batch["user_id"]), 1):
        raise Incorrect(f"the model outputs {out}; expected one probability per row.")


def _dcn3(dcn3, batch, **_) -> None:
    _common(dcn3, "dcn3", batch)
    layers = sum(1 for layer in dcn3.submodules if type(layer).__name__ == "Cross")
    if layers != 3:
        raise Incorrect(f"the CrossBlock has {layers} cross layer(s); depth 3 means three.")
    if any(len(set(k)) != 1 for k in _cross_kernels(dcn3)):
        raise Incorrect("the cross layers are low rank; this exercise wants the full-rank CrossBlock(3).")


def _low_rank(dcn_low_rank, batch, **_) -> None:
    _common(dcn_low_rank, "dcn_low_rank", batch)
    kernels = _cross_kernels(dcn_low_rank)
    if all(k == (WIDTH, WIDTH) for k in kernels):
        raise Incorrect(f"the kernels are full {WIDTH} × {WIDTH}: pass `low_rank_dim=16` to mm.CrossBlock.")
    ranks = {min(k) for k in kernels}
    if ranks != {16}:
        raise Incorrect(f"the kernels have rank {sorted(ranks)}; the exercise asks for low_rank_dim=16.")
    layers = sum(1 for layer in dcn_low_rank.submodules if type(layer).__name__ == "Cross")
    if layers != 2:
        raise Incorrect(f"{layers} cross layer(s); use depth 2.")


def _params(cross_layer_params, low_rank_params, **_) -> None:
    for name, value in (("cross_layer_params", cross_layer_params), ("low_rank_params", low_rank_params)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise Incorrect(f"`{name}` should be a whole number.")
    full = WIDTH * WIDTH + WIDTH
    if cross_layer_params == WIDTH * WIDTH:
        raise Incorrect("W is counted, but each cross layer also has a bias b of 576 numbers.")
    if cross_layer_params == 64 * 64 + 64:
        raise Incorrect("a cross layer sees the *concatenation* of all nine 64-wide vectors: 576, not 64.")
    if cross_layer_params != full:
        raise Incorrect(f"{cross_layer_params:,} is not the size of W (576 × 576) plus b (576).")
    low = 2 * WIDTH * 16 + WIDTH
    if low_rank_params == WIDTH * 16 + WIDTH:
        raise Incorrect("low rank writes W = U V with U of 576 × 16 *and* V of 16 × 576: count both, and b.")
    if low_rank_params != low:
        raise Incorrect(f"{low_rank_params:,} is not U (576 × 16) + V (16 × 576) + b (576).")


def lab04(schema, batch) -> tuple[Exercise, Exercise, Exercise]:
    ctx = {"batch": batch}
    q1 = Exercise("Q1 DCN with depth 3", ("dcn3",), _dcn3, [
        "DCN's input is DLRM's ParallelBlock with `aggregation=\"concat\"`: one 576-wide vector.",
        "Connect it to `mm.CrossBlock(3)` and then a top `mm.MLPBlock([64])`.",
        "Wrap it in `mm.Model(body, mm.BinaryClassificationTask(\"target\"), schema=schema)`.",
    ], '''inputs = mm.ParallelBlock({
    "embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=64),
    "bottom_block": mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(mm.MLPBlock([128, 64])),
}, aggregation="concat")
dcn3 = mm.Model(inputs.connect(mm.CrossBlock(3), mm.MLPBlock([64])), mm.BinaryClassificationTask("target"), schema=schema)''',
        "three cross layers: crosses of up to four features.", ctx)
    q2 = Exercise("Q2 low-rank DCN", ("dcn_low_rank",), _low_rank, [
        "Same inputs as Q1 (make new blocks: a built block cannot be reused in another model).",
        "`mm.CrossBlock(2, low_rank_dim=16)` writes each W as a product of two thin matrices.",
        "`mm.Model(inputs.connect(mm.CrossBlock(2, low_rank_dim=16), mm.MLPBlock([64])), task, schema=schema)`",
    ], '''inputs = mm.ParallelBlock({
    "embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=64),
    "bottom_block": mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(mm.MLPBlock([128, 64])),
}, aggregation="concat")
dcn_low_rank = mm.Model(inputs.connect(mm.CrossBlock(2, low_rank_dim=16), mm.MLPBlock([64])),
                        mm.BinaryClassificationTask("target"), schema=schema)''',
        "each cross layer now has 19,008 parameters instead of 332,352.", ctx)
    q3 = Exercise("Q3 what a cross layer costs", ("cross_layer_params", "low_rank_params"), _params, [
        "One cross layer computes x0 ⊙ (x W + b) + x on the concatenated 576-wide input.",
        "Full rank: W is 576 × 576 and b is 576. Low rank 16: W = U V, U is 576 × 16, V is 16 × 576, plus b.",
        "`cross_layer_params = 576 * 576 + 576` and `low_rank_params = 576 * 16 + 16 * 576 + 576`.",
    ], '''cross_layer_params = 576 * 576 + 576
low_rank_params = 576 * 16 + 16 * 576 + 576''', "low rank is 17 times smaller per layer.", {})
    return q1, q2, q3
