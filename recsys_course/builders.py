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


ENOUGH_BINS = 5000  # ~2x the ~2,400 combinations of the triple (with 1000 bins every bin is shared by ~2.4)

# The comparison's display names, defined once: bench/report.py, tests and notebooks import them.
DLRM = "DLRM (from blocks)"
NESTED_CROSS = "DLRM + cat_0×cat_1 (2022, nested)"
PAIR_CROSS = "DLRM + cat_0×ts_hour (pair)"
TRIPLE_CROSS_1000 = "DLRM + cat_0×ts_hour×ts_weekday, 1000 bins"
TRIPLE_CROSS = f"DLRM + cat_0×ts_hour×ts_weekday, {ENOUGH_BINS} bins"
TRIPLE_EMBEDDED = "DLRM + cat_0×ts_hour×ts_weekday, embedded id"
DCN_1 = "DCN CrossBlock depth 1"
DCN_2 = "DCN CrossBlock depth 2"
DCN_3 = "DCN CrossBlock depth 3"
DCN_LOW_RANK = "DCN depth 2, low rank 16"
BUILTIN_DLRM = "mm.DLRMModel (built-in)"
BUILTIN_DCN = "mm.DCNModel (built-in)"
# What `make bench` compares (3 seeds at `small`): depth 3 and low rank are left to lab 04 (never better, slowest).
BENCH_MODELS = (DLRM, NESTED_CROSS, PAIR_CROSS, TRIPLE_CROSS_1000, TRIPLE_CROSS, TRIPLE_EMBEDDED, DCN_1, DCN_2,
                BUILTIN_DLRM, BUILTIN_DCN)
NESTED_FEATURES = ("cat_0", "cat_1")  # the 2022 tutorial's cross: cat_1 determines cat_0, so it adds nothing
PAIR_FEATURES = ("cat_0", "ts_hour")
TRIPLE_FEATURES = ("cat_0", "ts_hour", "ts_weekday")


def dlrm_inputs(schema, dim: int = 64, bottom: Sequence[int] = (128,), aggregation: str | None = None,
                extra: dict | None = None):
    """The inputs of DLRM: a bottom MLP over the continuous features and `dim`-wide embeddings of the categoricals.

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema (categorical and continuous tags).
    dim : int
        Width of every embedding, and of the bottom MLP's output.
    bottom : sequence of int
        Hidden layers of the bottom MLP (its last layer has `dim` units).
    aggregation : str, optional
        None outputs a dict of vectors (DLRM's dot product stacks it); "concat" makes one wide vector, as a
        CrossBlock needs.
    extra : dict, optional
        More named branches of the same width, e.g. `{"crossed": crossed_embedding(schema, cols)}`.

    Example
    -------
    >>> inputs = dlrm_inputs(schema, dim=64, aggregation="concat")  # doctest: +SKIP
    """
    mm = _mm()
    from merlin.schema import Tags

    bottom_mlp = mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(
        mm.MLPBlock([*bottom, dim]))
    embeddings = mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=dim)
    return mm.ParallelBlock({"embeddings": embeddings, **(extra or {}), "bottom_block": bottom_mlp}, is_input=True,
                            aggregation=aggregation)


def hashed_cross(schema, columns: Sequence[str], num_bins: int = 1000):
    """A wide branch: the one-hot hashed cross of `columns`, one `num_bins`-wide 0/1 vector per row.

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema; `columns` must be categorical columns of it.
    columns : sequence of str
        The features to cross (two or more).
    num_bins : int
        Width of the one-hot vector. Fewer bins than combinations of values means collisions: unrelated
        combinations share a bin (and its weight).

    Example
    -------
    >>> wide = hashed_cross(schema, ["cat_0", "ts_hour", "ts_weekday"], num_bins=5000)  # doctest: +SKIP
    """
    mm = _mm()

    cross_schema = schema.select_by_name(list(columns))
    return mm.ParallelBlock(
        mm.TabularBlock.from_schema(schema=cross_schema, pre=mm.HashedCross(cross_schema, num_bins=num_bins)),
        is_input=True, aggregation="concat")


def crossed_embedding(schema, columns: Sequence[str], num_bins: int = ENOUGH_BINS, dim: int = 64):
    """The crossed id embedded: hash the combination of `columns` to one of `num_bins` ids, look up a `dim` vector.

    The cheaper form production systems use: a `num_bins` x `dim` table read one row at a time, instead of a
    `num_bins`-wide one-hot vector multiplied into the top MLP.

    Parameters
    ----------
    schema, columns
        As for `hashed_cross`: the schema, and the categorical columns to cross.
    num_bins : int
        Number of hashed ids (rows of the table).
    dim : int
        Width of the embedding.

    Example
    -------
    >>> crossed = crossed_embedding(schema, ["cat_0", "ts_hour", "ts_weekday"])  # doctest: +SKIP
    >>> inputs = dlrm_inputs(schema, extra={"crossed": crossed})  # doctest: +SKIP
    """
    mm = _mm()
    from merlin.schema import ColumnSchema, Schema, Tags

    cross_schema = schema.select_by_name(list(columns))
    name = "cross_" + "_".join(sorted(columns))
    table = Schema([ColumnSchema(name, tags=[Tags.CATEGORICAL], dtype="int64", is_list=False,
                                 properties={"domain": {"min": 0, "max": num_bins - 1, "name": name}})])
    hashed = mm.TabularBlock.from_schema(schema=cross_schema, pre=mm.HashedCross(cross_schema, num_bins=num_bins,
                                                                                output_mode="int",
                                                                                output_name=name))
    return hashed.connect(mm.Embeddings(table, dim=dim))


def dlrm(schema, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64),
         cross: Sequence[str] | None = None, num_bins: int = 1000, embed_cross: bool = False):
    """DLRM from Merlin blocks: embeddings and a bottom MLP, their pairwise dot products, a top MLP.

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema (passed to the model: without it Merlin trains on the continuous features only).
    dim : int
        Width of the embeddings and of the bottom MLP's output.
    bottom, top : sequence of int
        Hidden layers of the bottom MLP (continuous features) and of the top MLP.
    cross : sequence of str, optional
        Features to cross explicitly. By default a one-hot HashedCross wide branch joins the top MLP's input.
    num_bins : int
        Hash bins of the cross.
    embed_cross : bool
        Embed the crossed id instead (`crossed_embedding`): it joins the dot-product interaction as one more vector.

    Example
    -------
    >>> model = dlrm(schema, cross=["cat_0", "ts_hour", "ts_weekday"], num_bins=5000)  # doctest: +SKIP
    >>> model.compile(optimizer="adam"); model.fit(train, batch_size=4096)  # doctest: +SKIP
    """
    mm = _mm()
    from merlin.models.tf.blocks.dlrm import DotProductInteractionBlock

    extra = {"crossed": crossed_embedding(schema, cross, num_bins, dim)} if cross and embed_cross else None
    interaction = dlrm_inputs(schema, dim, bottom, extra=extra).connect_with_shortcut(
        DotProductInteractionBlock(), shortcut_filter=mm.Filter("bottom_block"), aggregation="concat")
    if cross and not embed_cross:
        interaction = mm.ParallelBlock({"dlrm": interaction, "cross": hashed_cross(schema, cross, num_bins)},
                                       aggregation="concat")
    return mm.Model(interaction.connect(mm.MLPBlock(list(top))), _task(), schema=schema)


def dcn(schema, depth: int = 2, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64),
        low_rank_dim: int | None = None):
    """DCN-V2 from Merlin blocks: DLRM's inputs concatenated, a CrossBlock of `depth` layers, then a top MLP.

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema.
    depth : int
        Number of cross layers: depth l reaches feature interactions of degree l + 1.
    dim : int
        Width of the embeddings and of the bottom MLP's output.
    bottom, top : sequence of int
        Hidden layers of the bottom MLP and of the MLP after the cross layers.
    low_rank_dim : int, optional
        Factor each cross kernel W (d x d) as U V with rank `low_rank_dim`: far fewer parameters.

    Example
    -------
    >>> model = dcn(schema, depth=1)  # doctest: +SKIP
    """
    mm = _mm()

    body = dlrm_inputs(schema, dim, bottom, aggregation="concat").connect(
        mm.CrossBlock(depth, low_rank_dim=low_rank_dim), mm.MLPBlock(list(top)))
    return mm.Model(body, _task(), schema=schema)


def builtin_dlrm(schema, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64)):
    """Merlin's own `mm.DLRMModel` with the same sizes as `dlrm` (the reference the from-blocks model matches).

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema.
    dim : int
        Width of the embeddings and of the bottom MLP's output.
    bottom, top : sequence of int
        Hidden layers of the bottom and top MLPs.

    Example
    -------
    >>> model = builtin_dlrm(schema)  # doctest: +SKIP
    """
    mm = _mm()

    return mm.DLRMModel(schema, embedding_dim=dim, bottom_block=mm.MLPBlock([*bottom, dim]),
                        top_block=mm.MLPBlock(list(top)), prediction_tasks=_task())


def builtin_dcn(schema, depth: int = 2, dim: int = 64, deep: Sequence[int] = (128, 64)):
    """Merlin's own `mm.DCNModel` (stacked: cross layers, then a deep MLP) with `dim`-wide embeddings.

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema.
    depth : int
        Number of cross layers.
    dim : int
        Width of the embeddings.
    deep : sequence of int
        Hidden layers of the MLP after the cross layers.

    Example
    -------
    >>> model = builtin_dcn(schema, depth=2)  # doctest: +SKIP
    """
    mm = _mm()
    from merlin.schema import Tags

    inputs = mm.InputBlockV2(schema, categorical=mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=dim))
    return mm.DCNModel(schema, depth=depth, deep_block=mm.MLPBlock(list(deep)), input_block=inputs,
                       prediction_tasks=_task())


def standard_models(schema, dim: int = 64, names: Sequence[str] | None = None) -> dict:
    """The comparison of notebook 04 and bench/: display name -> builder (a fresh model per call).

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema.
    dim : int
        Embedding width of every model.
    names : sequence of str, optional
        Only these models (names from this module's constants), in this order; default: all.

    Example
    -------
    >>> builders = standard_models(schema, names=[DLRM, TRIPLE_CROSS])  # doctest: +SKIP
    >>> model = builders[DLRM]()  # doctest: +SKIP
    """
    every = {
        DLRM: lambda: dlrm(schema, dim),
        NESTED_CROSS: lambda: dlrm(schema, dim, cross=NESTED_FEATURES),
        PAIR_CROSS: lambda: dlrm(schema, dim, cross=PAIR_FEATURES),
        TRIPLE_CROSS_1000: lambda: dlrm(schema, dim, cross=TRIPLE_FEATURES, num_bins=1000),
        TRIPLE_CROSS: lambda: dlrm(schema, dim, cross=TRIPLE_FEATURES, num_bins=ENOUGH_BINS),
        TRIPLE_EMBEDDED: lambda: dlrm(schema, dim, cross=TRIPLE_FEATURES, num_bins=ENOUGH_BINS, embed_cross=True),
        DCN_1: lambda: dcn(schema, 1, dim),
        DCN_2: lambda: dcn(schema, 2, dim),
        DCN_3: lambda: dcn(schema, 3, dim),
        DCN_LOW_RANK: lambda: dcn(schema, 2, dim, low_rank_dim=16),
        BUILTIN_DLRM: lambda: builtin_dlrm(schema, dim),
        BUILTIN_DCN: lambda: builtin_dcn(schema, 2, dim),
    }
    unknown = [n for n in names or () if n not in every]
    if unknown:
        raise ValueError(f"unknown model name(s) {unknown}: choose from {list(every)}")
    return {n: every[n] for n in (names or every)}


def dcn_feature_order(schema) -> list[str]:
    """The order of the vectors in the concatenated DCN input: Merlin concatenates by sorted name."""
    from merlin.schema import Tags

    return sorted(["bottom_block", *schema.select_by_tag(Tags.CATEGORICAL).column_names])
