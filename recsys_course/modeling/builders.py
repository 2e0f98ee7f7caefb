"""The course's architectures, built from Merlin Models blocks.

Notebook 03 builds these step by step in cells; notebook 04, the exercise checks and the benchmarks call these
functions so that every comparison uses exactly the same architecture. Every model gets `schema=`: without it
Merlin Models infers the inputs from the continuous features only and silently trains without any categorical
feature.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from recsys_course.data.formats import TARGET


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


# The comparison's display names, defined once: bench/report.py, tests and notebooks import them. They name ROLES that
# hold for any data: which pair and triple are "strongest" is measured on the train rows (`strongest_crosses`).
DLRM = "DLRM (from blocks)"
NESTED_CROSS = "DLRM + cat_0×cat_1 (2022, nested)"  # the 2022 tutorial's choice, kept as it was
PAIR_CROSS = "DLRM + strongest pair"
TRIPLE_CROSS_1000 = "DLRM + strongest triple, 1000 bins"
TRIPLE_CROSS = "DLRM + strongest triple, enough bins"
TRIPLE_EMBEDDED = "DLRM + strongest triple, embedded id"
DCN_1 = "DCN CrossBlock depth 1"
DCN_2 = "DCN CrossBlock depth 2"
DCN_3 = "DCN CrossBlock depth 3"
DCN_LOW_RANK = "DCN depth 2, low rank 16 (d/36)"
BUILTIN_DLRM = "mm.DLRMModel (built-in)"
BUILTIN_DCN = "mm.DCNModel (built-in)"
# What `make bench` compares (3 seeds at `small`): every model, so that notebook 04 can quote the variants it does not
# train itself (1000 bins, the embedded id, depth 3, low rank) and lab 04 can point to depth 3 and low rank.
BENCH_MODELS = (DLRM, NESTED_CROSS, PAIR_CROSS, TRIPLE_CROSS_1000, TRIPLE_CROSS, TRIPLE_EMBEDDED, DCN_1, DCN_2, DCN_3,
                DCN_LOW_RANK, BUILTIN_DLRM, BUILTIN_DCN)
# What notebook 04 trains itself at any scale; the variants are quoted from the bench (lab 03 measures 1000 vs enough
# bins and the embedded id, lab 04 depth 3 and low rank).
# The fair comparison of the bench (bench/fair.py, issue 18): each family trained to its early-stopping epoch with
# its own learning rate. The baseline without any interaction, DCN with DLRM's dot products kept (the confound of
# "DCN removes the dot products AND adds cross layers" separated), DCN parallel, low rank d/4 and d/36; the data's cross
# both as the one-hot HashedCross and as the embedded crossed id (its cheap form: where the data's triple has ~20k
# combinations, the one-hot cross is ~40k wide and the slowest model to train).
CONCAT_MLP = "concat → MLP (no interaction)"
DCN_PARALLEL = "DCN parallel, depth 2"
DCN_WITH_DOTS = "DCN + dot products (hybrid)"
DCN_RANK_D4 = "DCN depth 2, low rank 144 (d/4)"
FAIR_MODELS = (DLRM, TRIPLE_CROSS, TRIPLE_EMBEDDED, CONCAT_MLP, DCN_2, DCN_PARALLEL, DCN_WITH_DOTS, DCN_RANK_D4, DCN_LOW_RANK,
               BUILTIN_DLRM, BUILTIN_DCN)
CROSS_LAYER_MODELS = (DCN_2, DCN_PARALLEL, DCN_WITH_DOTS, DCN_RANK_D4, DCN_LOW_RANK, BUILTIN_DCN)
TWINS = {BUILTIN_DLRM: DLRM, BUILTIN_DCN: DCN_2}  # built-in -> the from-blocks model of the same architecture
CORE_MODELS = (DLRM, NESTED_CROSS, PAIR_CROSS, TRIPLE_CROSS, DCN_1, DCN_2, BUILTIN_DLRM, BUILTIN_DCN)
NESTED_FEATURES = ("cat_0", "cat_1")  # the 2022 tutorial's cross: cat_1 determines cat_0, so it adds nothing
# Only for callers that measured nothing (quick calls, tests): the generated data's planted pair and triple and ~2x
# the triple's ~2,400 combinations at `small`. Notebook 04 and the bench pass `strongest_crosses(train rows)` instead.
DEFAULT_PAIR = ("cat_0", "ts_hour")
DEFAULT_TRIPLE = ("cat_0", "ts_hour", "ts_weekday")
DEFAULT_ENOUGH_BINS = 5000


@dataclass(frozen=True)
class Crosses:
    """What the data in front of the learner says to cross: its strongest pair and triple, and enough bins.

    `pairs` and `triples` are the full rankings (`analysis.interaction_strengths`); `combinations` counts the
    triple's combinations of values in the rows, and `enough_bins` is twice that, so hash collisions stay rare.
    """

    pair: tuple
    triple: tuple
    combinations: int
    enough_bins: int
    pairs: object = None  # pandas.DataFrame: every pair, strongest first
    triples: object = None  # every triple, strongest first

    def record(self) -> dict:
        """The JSON-ready summary bench/results.json stores: features crossed, combinations, bins."""
        return {"pair": list(self.pair), "triple": list(self.triple), "triple_combinations": self.combinations,
                "enough_bins": self.enough_bins}

    def describe(self) -> list[str]:
        """What the cross models will cross, in words (with the measured strengths when the rankings are here)."""
        said, weak = {}, []
        for key, table in (("pair", self.pairs), ("triple", self.triples)):
            top = None if table is None or not len(table) else table.iloc[0]
            said[key] = "" if top is None else f" (interaction {top['interaction']:.3f})"
            if top is not None and top["interaction"] <= 0:
                weak.append(f"no {key} predicts anything beyond its parts on held-out train rows here: the "
                            f"{key} cross uses the least weak one (expect no gain from it)")
        return [f"{PAIR_CROSS}: crosses {' × '.join(self.pair)}{said['pair']}, 1000 bins",
                f"{TRIPLE_CROSS}: crosses {' × '.join(self.triple)}{said['triple']}, {self.combinations:,} "
                f"combinations in the train rows -> {self.enough_bins:,} bins", *weak]


def strongest_crosses(rows, candidates: Sequence[str] | None = None) -> Crosses:
    """The strongest pair and triple of `candidates` in `rows` (the train rows), and enough bins for the triple.

    Parameters
    ----------
    rows : pandas.DataFrame
        Train rows with the candidate columns and the target (never the validation rows: the comparison stays fair).
    candidates : sequence of str, optional
        The categorical features to rank (default `formats.CROSS_CANDIDATES`).

    Example
    -------
    >>> crosses = strongest_crosses(pd.read_parquet(paths.prepared / "train"))  # doctest: +SKIP
    >>> models = standard_models(schema, pair=crosses.pair, triple=crosses.triple,
    ...                          enough_bins=crosses.enough_bins)  # doctest: +SKIP
    """
    from recsys_course.modeling import analysis
    from recsys_course.data.formats import CROSS_CANDIDATES

    candidates = list(candidates or CROSS_CANDIDATES)
    pairs = analysis.interaction_strengths(rows, candidates, order=2)
    triples = analysis.interaction_strengths(rows, candidates, order=3)
    pair, triple = tuple(pairs["features"].iloc[0]), tuple(triples["features"].iloc[0])
    combinations = int(rows.groupby(list(triple), dropna=False).ngroups)  # a missing value is hashed too
    return Crosses(pair, triple, combinations, 2 * combinations, pairs, triples)


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


def crossed_embedding(schema, columns: Sequence[str], num_bins: int = DEFAULT_ENOUGH_BINS, dim: int = 64):
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


def concat_mlp(schema, dim: int = 64, bottom: Sequence[int] = (128,), top: Sequence[int] = (128, 64)):
    """The baseline without any interaction: DLRM's inputs concatenated, straight into the top MLP.

    Example
    -------
    >>> model = concat_mlp(schema)  # doctest: +SKIP
    """
    mm = _mm()

    body = dlrm_inputs(schema, dim, bottom, aggregation="concat").connect(mm.MLPBlock(list(top)))
    return mm.Model(body, _task(), schema=schema)


def dcn_parallel(schema, depth: int = 2, dim: int = 64, bottom: Sequence[int] = (128,),
                 deep: Sequence[int] = (128, 64)):
    """DCN-V2 parallel (the paper's and TFRS's other form): the concatenated inputs go through a CrossBlock and an
    MLP side by side; their outputs are concatenated into the prediction head.

    Example
    -------
    >>> model = dcn_parallel(schema, depth=2)  # doctest: +SKIP
    """
    mm = _mm()

    body = dlrm_inputs(schema, dim, bottom, aggregation="concat").connect_branch(
        mm.CrossBlock(depth), mm.MLPBlock(list(deep)), aggregation="concat")
    return mm.Model(body, _task(), schema=schema)


def dcn_with_dots(schema, depth: int = 2, dim: int = 64, bottom: Sequence[int] = (128,),
                  top: Sequence[int] = (128, 64)):
    """DLRM with a CrossBlock added (the hybrid): one set of inputs feeds DLRM's pairwise dot products, DLRM's
    shortcut of the bottom MLP and a CrossBlock of the concatenated vectors; the three are concatenated into the top
    MLP. Against DLRM it adds cross layers only; against the stacked DCN it keeps the dot products.

    Example
    -------
    >>> model = dcn_with_dots(schema, depth=2)  # doctest: +SKIP
    """
    mm = _mm()
    from merlin.models.tf.blocks.dlrm import DotProductInteractionBlock

    cross = mm.SequentialBlock(mm.TabularBlock(aggregation="concat"), mm.CrossBlock(depth))
    interaction = dlrm_inputs(schema, dim, bottom).connect(mm.ParallelBlock(
        {"dots": DotProductInteractionBlock(), "shortcut": mm.Filter("bottom_block"), "cross": cross},
        aggregation="concat"))
    return mm.Model(interaction.connect(mm.MLPBlock(list(top))), _task(), schema=schema)


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


def standard_models(schema, dim: int = 64, names: Sequence[str] | None = None, *,
                    pair: Sequence[str] = DEFAULT_PAIR, triple: Sequence[str] = DEFAULT_TRIPLE,
                    enough_bins: int = DEFAULT_ENOUGH_BINS) -> dict:
    """The comparison of notebook 04 and bench/: display name -> builder (a fresh model per call).

    Parameters
    ----------
    schema : merlin.schema.Schema
        The processed data's schema.
    dim : int
        Embedding width of every model.
    names : sequence of str, optional
        Only these models (names from this module's constants), in this order; default: all.
    pair, triple : sequence of str
        The features the "strongest pair" and "strongest triple" models cross: pass `strongest_crosses(rows)`'s.
        The defaults are the generated data's planted ones, for callers that measured nothing.
    enough_bins : int
        Hash bins of the "enough bins" triple cross and of the embedded id (twice the triple's combinations).

    Example
    -------
    >>> crosses = strongest_crosses(train_rows)  # doctest: +SKIP
    >>> builders = standard_models(schema, names=[DLRM, TRIPLE_CROSS], pair=crosses.pair, triple=crosses.triple,
    ...                            enough_bins=crosses.enough_bins)  # doctest: +SKIP
    >>> model = builders[DLRM]()  # doctest: +SKIP
    """
    pair, triple = tuple(pair), tuple(triple)
    every = {
        DLRM: lambda: dlrm(schema, dim),
        NESTED_CROSS: lambda: dlrm(schema, dim, cross=NESTED_FEATURES),
        PAIR_CROSS: lambda: dlrm(schema, dim, cross=pair),
        TRIPLE_CROSS_1000: lambda: dlrm(schema, dim, cross=triple, num_bins=1000),
        TRIPLE_CROSS: lambda: dlrm(schema, dim, cross=triple, num_bins=enough_bins),
        TRIPLE_EMBEDDED: lambda: dlrm(schema, dim, cross=triple, num_bins=enough_bins, embed_cross=True),
        DCN_1: lambda: dcn(schema, 1, dim),
        DCN_2: lambda: dcn(schema, 2, dim),
        DCN_3: lambda: dcn(schema, 3, dim),
        DCN_LOW_RANK: lambda: dcn(schema, 2, dim, low_rank_dim=16),
        DCN_RANK_D4: lambda: dcn(schema, 2, dim, low_rank_dim=9 * dim // 4),
        CONCAT_MLP: lambda: concat_mlp(schema, dim),
        DCN_PARALLEL: lambda: dcn_parallel(schema, 2, dim),
        DCN_WITH_DOTS: lambda: dcn_with_dots(schema, 2, dim),
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
