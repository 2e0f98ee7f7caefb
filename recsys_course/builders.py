"""The course's architectures, built from Merlin Models blocks.

Notebook 03 builds these step by step in cells; notebook 04, the exercise checks and the benchmarks call these
functions so that every comparison uses exactly the same architecture. Every model gets `schema=`: without it
Merlin 23.08 infers the inputs from the continuous features only and silently trains without any categorical
feature.
"""
from __future__ import annotations

from typing import Sequence

from recsys_course.formats import TARGET


def _mm():
    """merlin.models.tf, imported after TensorFlow's loggers are quieted (else: "Please fix your imports")."""
    from recsys_course.quiet import silence_after_tf

    silence_after_tf()
    import merlin.models.tf as mm

    return mm


def _task():
    mm = _mm()
    from merlin.models.tf.transforms.bias import LogitsTemperatureScaler

    return mm.BinaryClassificationTask(TARGET, pre=LogitsTemperatureScaler(temperature=2))


def dlrm_inputs(schema, dim: int = 64, bottom: Sequence[int] = (128,), aggregation: str | None = None):
    """ParallelBlock of the bottom MLP over continuous features and `dim`-wide embeddings of the categoricals.

    Without aggregation it outputs a dict (the dot product stacks it); CrossBlock needs `aggregation="concat"`.
    """
    mm = _mm()
    from merlin.schema import Tags

    bottom_mlp = mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(
        mm.MLPBlock([*bottom, dim]))
    embeddings = mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=dim)
    return mm.ParallelBlock({"embeddings": embeddings, "bottom_block": bottom_mlp}, is_input=True,
                            aggregation=aggregation)


def hashed_cross(schema, columns: Sequence[str], num_bins: int = 1000):
    """A wide branch: the one-hot hashed cross of `columns`."""
    mm = _mm()

    cross_schema = schema.select_by_name(list(columns))
    return mm.ParallelBlock(
        mm.TabularBlock.from_schema(schema=cross_schema, pre=mm.HashedCross(cross_schema, num_bins=num_bins)),
        is_input=True, aggregation="concat")


def dlrm(schema, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64),
         cross: Sequence[str] | None = None, num_bins: int = 1000):
    """DLRM from blocks; with `cross`, a HashedCross wide branch joins the top MLP's input."""
    mm = _mm()
    from merlin.models.tf.blocks.dlrm import DotProductInteractionBlock

    interaction = dlrm_inputs(schema, dim, bottom).connect_with_shortcut(
        DotProductInteractionBlock(), shortcut_filter=mm.Filter("bottom_block"), aggregation="concat")
    if cross:
        interaction = mm.ParallelBlock({"dlrm": interaction, "cross": hashed_cross(schema, cross, num_bins)},
                                       aggregation="concat")
    return mm.Model(interaction.connect(mm.MLPBlock(list(top))), _task(), schema=schema)


def dcn(schema, depth: int = 2, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64),
        low_rank_dim: int | None = None):
    """DLRM's inputs, with a DCN CrossBlock in place of the dot-product interaction."""
    mm = _mm()

    body = dlrm_inputs(schema, dim, bottom, aggregation="concat").connect(
        mm.CrossBlock(depth, low_rank_dim=low_rank_dim), mm.MLPBlock(list(top)))
    return mm.Model(body, _task(), schema=schema)


def builtin_dlrm(schema, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64)):
    mm = _mm()

    return mm.DLRMModel(schema, embedding_dim=dim, bottom_block=mm.MLPBlock([*bottom, dim]),
                        top_block=mm.MLPBlock(list(top)), prediction_tasks=_task())


def builtin_dcn(schema, depth: int = 2, dim: int = 64, deep: Sequence[int] = (128, 64)):
    mm = _mm()
    from merlin.schema import Tags

    inputs = mm.InputBlockV2(schema, categorical=mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=dim))
    return mm.DCNModel(schema, depth=depth, deep_block=mm.MLPBlock(list(deep)), input_block=inputs,
                       prediction_tasks=_task())


def standard_models(schema, dim: int = 64) -> dict:
    """The comparison of notebook 04 and bench/: name -> builder (a fresh model per call)."""
    from recsys_course.generate import PLANTED

    planted = list(PLANTED.cross_pair)
    return {
        "DLRM (from blocks)": lambda: dlrm(schema, dim),
        "DLRM + cat_0×cat_1 (seed, nested)": lambda: dlrm(schema, dim, cross=["cat_0", "cat_1"]),
        f"DLRM + {'×'.join(planted)} (planted)": lambda: dlrm(schema, dim, cross=planted),
        "DCN CrossBlock depth 1": lambda: dcn(schema, 1, dim),
        "DCN CrossBlock depth 2": lambda: dcn(schema, 2, dim),
        "DCN CrossBlock depth 3": lambda: dcn(schema, 3, dim),
        "DCN depth 2, low rank 16": lambda: dcn(schema, 2, dim, low_rank_dim=16),
        "mm.DLRMModel (built-in)": lambda: builtin_dlrm(schema, dim),
        "mm.DCNModel (built-in)": lambda: builtin_dcn(schema, 2, dim),
    }


def dcn_feature_order(schema) -> list[str]:
    """The order of the vectors in the concatenated DCN input: Merlin concatenates by sorted name."""
    from merlin.schema import Tags

    return sorted(["bottom_block", *schema.select_by_tag(Tags.CATEGORICAL).column_names])
