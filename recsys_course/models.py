"""The course's architectures, built from Merlin Models blocks, and one way to train and score them.

Notebook 03 builds these step by step in cells; notebook 04, the exercise checks and the benchmarks
call these functions so that every comparison uses exactly the same architecture.
Every model gets `schema=`: without it Merlin 23.08 infers the inputs from the continuous features
only and silently trains without any categorical feature.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from recsys_course.etl import EXTRA_COLUMNS

TARGET = "target"


def _mm():
    """merlin.models.tf, imported after TensorFlow's loggers are quieted (else: "Please fix your imports")."""
    from recsys_course.quiet import silence_after_tf

    silence_after_tf()
    import merlin.models.tf as mm

    return mm


def load(paths) -> tuple:
    """(train, valid, schema): merlin Datasets of the processed data and the schema a model should see."""
    from merlin.io import Dataset

    train = Dataset(str(paths.train), engine="parquet")
    valid = Dataset(str(paths.valid), engine="parquet")
    schema = train.schema.without(EXTRA_COLUMNS)
    train.schema = schema
    valid.schema = schema
    return train, valid, schema


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


@dataclass
class FitResult:
    name: str
    auc: float
    logloss: float
    params: int
    history: dict = field(default_factory=dict)
    epoch_seconds: list = field(default_factory=list)
    rows_per_second: float = 0.0
    model: object = field(default=None, repr=False)


class _EpochTimer:
    """Keras callback: wall time of each epoch, and of its training part alone (validation excluded)."""

    def __new__(cls):
        import tensorflow as tf

        class Timer(tf.keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.seconds, self.train_seconds = [], []

            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()
                self._train_end = None

            def on_test_begin(self, logs=None):
                if self._train_end is None:
                    self._train_end = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                end = time.perf_counter()
                self.seconds.append(end - self._t)
                self.train_seconds.append((self._train_end or end) - self._t)

        return Timer()


def compile_model(model, learning_rate: float = 1e-3):
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=False,
                  metrics=[tf.keras.metrics.AUC(name="auc")])
    return model


def fit_evaluate(name: str, model, train, valid, epochs: int = 1, batch_size: int = 4096, verbose: int = 0,
                 learning_rate: float = 1e-3) -> FitResult:
    """Compile, fit for `epochs`, evaluate on valid: AUC, log-loss, parameter count, epoch times."""
    compile_model(model, learning_rate)
    timer = _EpochTimer()
    hist = model.fit(train, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=[timer],
                     validation_data=valid, shuffle=True)
    scores = model.evaluate(valid, batch_size=batch_size, return_dict=True, verbose=0)
    steady = timer.train_seconds[-1]  # the last epoch: the first one includes graph tracing
    return FitResult(name, float(scores["auc"]), float(scores["loss"]), int(model.count_params()),
                     {k: [float(x) for x in v] for k, v in hist.history.items()}, timer.seconds,
                     train.num_rows / steady if steady else 0.0, model)



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


def compare(builders: dict, train, valid, epochs: int, batch_size: int, seed: int, **fit_kwargs) -> list[FitResult]:
    """Fit each model with the same data and seed; one FitResult each."""
    from recsys_course.notebook import set_seeds

    results = []
    for name, build in builders.items():
        set_seeds(seed)
        results.append(fit_evaluate(name, build(), train, valid, epochs, batch_size, **fit_kwargs))
    return results


def results_table(results: list[FitResult], oracle_auc: float | None = None):
    import pandas as pd

    table = pd.DataFrame([{"model": r.name, "params": r.params, "valid AUC": round(r.auc, 4),
                           "valid log-loss": round(r.logloss, 4)} for r in results]).set_index("model")
    if oracle_auc is not None:
        table["gap to oracle"] = (oracle_auc - table["valid AUC"]).round(4)
    return table


def dcn_feature_order(schema) -> list[str]:
    """The order of the vectors in the concatenated DCN input: Merlin concatenates by sorted name."""
    from merlin.schema import Tags

    return sorted(["bottom_block", *schema.select_by_tag(Tags.CATEGORICAL).column_names])


def predict(model, dataset, batch_size: int = 4096):
    import numpy as np

    return np.asarray(model.predict(dataset, batch_size=batch_size, verbose=0)).reshape(-1)


def reload_weights(build, model, path: str | Path, batch) -> object:
    """Save `model`'s weights, build a fresh model with `build`, load them: the reload that works on 23.8.0.

    (Keras' load_model of a from-blocks model with a shortcut connection loads, then fails on every call.)
    """
    model.save_weights(str(path))
    fresh = build()
    fresh(batch)  # create the variables before loading into them
    fresh.load_weights(str(path)).expect_partial()
    return fresh


def read_processed(folder: Path, columns: Sequence[str] | None = None) -> "pd.DataFrame":  # noqa: F821
    """The parquet parts of an NVTabular output folder (which also holds schema and metadata files)."""
    import pandas as pd

    parts = sorted(Path(folder).glob("*.parquet"))
    return pd.concat([pd.read_parquet(p, columns=list(columns) if columns else None) for p in parts], ignore_index=True)


def item_features(paths) -> "pd.DataFrame":  # noqa: F821
    """Each product's latest processed features (encoded ids, price), with its raw id."""
    items = ["product_id", "cat_0", "cat_1", "cat_2", "brand", "price", "relative_price", "product_id_raw"]
    train = read_processed(paths.train, items + ["event_time_ts"])
    return train.sort_values("event_time_ts").drop_duplicates("product_id", keep="last")[items].reset_index(drop=True)


def rank_for_user(model, paths, user_raw_id: int, k: int = 10) -> "pd.DataFrame":  # noqa: F821
    """Score every known product for one user in the context of their latest row; the top k."""
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    rows = read_processed(paths.valid)
    mine = rows[rows["user_id_raw"] == user_raw_id].sort_values("event_time_ts")
    if mine.empty:
        raise ValueError(f"user {user_raw_id} has no validation row")
    last = mine.iloc[-1]
    items = item_features(paths)
    feats = {c: items[c].to_numpy() for c in items.columns if c != "product_id_raw"}
    for c in ("user_id", "ts_weekday", "ts_hour"):
        feats[c] = np.full(len(items), last[c])
    batch = {c: tf.constant(v.reshape(-1, 1), dtype=tf.float32 if v.dtype.kind == "f" else tf.int64)
             for c, v in feats.items()}
    scores = np.asarray(model(batch)).reshape(-1)
    out = items.assign(score=scores).nlargest(k, "score")
    raw = pd.read_parquet(paths.prepared / "train", columns=["product_id", "cat_0", "cat_1", "brand"])
    raw = raw.drop_duplicates("product_id").rename(columns={"product_id": "product_id_raw"})
    return out[["product_id_raw", "score"]].merge(raw, on="product_id_raw", how="left").reset_index(drop=True)
