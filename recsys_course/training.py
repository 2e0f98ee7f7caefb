"""Training and scoring: fit a model, evaluate it on validation, time its epochs, compare several, reload weights."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path


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


def epoch_timer():
    """A Keras callback that records each epoch's wall time, and its training part alone (validation excluded)."""
    import tensorflow as tf

    class EpochTimer(tf.keras.callbacks.Callback):
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

    return EpochTimer()


def compile_model(model, learning_rate: float = 1e-3):
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=False,
                  metrics=[tf.keras.metrics.AUC(name="auc")])
    return model


def fit_evaluate(name: str, model, train, valid, epochs: int = 1, batch_size: int = 4096, verbose: int = 0,
                 learning_rate: float = 1e-3) -> FitResult:
    """Compile, fit for `epochs`, evaluate on valid: AUC, log-loss, parameter count, epoch times."""
    compile_model(model, learning_rate)
    timer = epoch_timer()
    hist = model.fit(train, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=[timer],
                     validation_data=valid, shuffle=True)
    scores = model.evaluate(valid, batch_size=batch_size, return_dict=True, verbose=0)
    steady = timer.train_seconds[-1]  # the last epoch: the first one includes graph tracing
    return FitResult(name, float(scores["auc"]), float(scores["loss"]), int(model.count_params()),
                     {k: [float(x) for x in v] for k, v in hist.history.items()}, timer.seconds,
                     train.num_rows / steady if steady else 0.0, model)


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


def predict(model, dataset, batch_size: int = 4096):
    import numpy as np

    return np.asarray(model.predict(dataset, batch_size=batch_size, verbose=0)).reshape(-1)


def reload_weights(build, model, path: str | Path, batch) -> object:
    """Save `model`'s weights, build a fresh model with `build`, load them: the reload that works with the installed Merlin Models.

    (Keras' load_model of a from-blocks model with a shortcut connection loads, then fails on every call.)
    """
    model.save_weights(str(path))
    fresh = build()
    fresh(batch)  # create the variables before loading into them
    fresh.load_weights(str(path)).expect_partial()
    return fresh
