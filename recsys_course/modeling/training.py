"""Training and scoring: fit a model, evaluate it on validation, time its epochs, compare several, reload weights."""
from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path


def set_seeds(seed: int) -> None:
    """Python's, NumPy's and TensorFlow's seeds, so that a run repeats."""
    import numpy as np
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    tf.keras.utils.set_random_seed(seed)


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


@dataclass
class EarlyStopped:
    """What `fit_early_stopping` did: the model with its best epoch's weights, and every epoch's scores."""

    model: object = field(repr=False)
    stop_auc: list  # AUC on the stop slice after each epoch (what chose the epoch)
    stopped_epoch: int  # 1-based: the epoch whose weights the model has
    watch_auc: list = field(default_factory=list)  # AUC on `watch` after each epoch (recorded, never used)
    train_seconds: list = field(default_factory=list)
    rows_per_second: float = 0.0

    @property
    def epochs_run(self) -> int:
        return len(self.stop_auc)


def best_epoch(scores: list[float], patience: int) -> tuple[int, bool]:
    """(1-based epoch of the best score so far, whether to stop now): stop once `patience` epochs in a row have not
    beaten the best (ties do not count as better)."""
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return best + 1, len(scores) - 1 - best >= patience


def fit_early_stopping(model, fit_rows, stop_rows, max_epochs: int, patience: int, batch_size: int = 4096,
                       learning_rate: float = 1e-3, watch=None) -> EarlyStopped:
    """Train one epoch at a time on `fit_rows` until the AUC on `stop_rows` has not improved for `patience` epochs
    (or `max_epochs`), then restore the best epoch's weights.

    `stop_rows` must be a slice of the TRAIN rows held out from `fit_rows` (never the validation rows: choosing the
    epoch on them would leak them into the model). `watch` (e.g. the validation rows) is only scored after each
    epoch, for the curves: it takes no part in any choice.
    """
    import numpy as np

    if max_epochs < 1 or patience < 1:
        raise ValueError(f"max_epochs ({max_epochs}) and patience ({patience}) must be at least 1")
    compile_model(model, learning_rate)
    timer = epoch_timer()
    result = EarlyStopped(model, [], 0)
    best_weights = None
    for epoch in range(max_epochs):
        model.fit(fit_rows, batch_size=batch_size, epochs=1, verbose=0, callbacks=[timer], shuffle=True)
        score = float(model.evaluate(stop_rows, batch_size=batch_size, return_dict=True, verbose=0)["auc"])
        result.stop_auc.append(score if np.isfinite(score) else 0.0)
        result.train_seconds.append(timer.train_seconds[-1])
        if watch is not None:
            result.watch_auc.append(float(model.evaluate(watch, batch_size=batch_size, return_dict=True,
                                                         verbose=0)["auc"]))
        result.stopped_epoch, stop = best_epoch(result.stop_auc, patience)
        if result.stopped_epoch == epoch + 1:
            best_weights = model.get_weights()
        if stop:
            break
    model.set_weights(best_weights)
    steady = result.train_seconds[1:] or result.train_seconds  # the first epoch includes graph tracing
    result.rows_per_second = fit_rows.num_rows / (sum(steady) / len(steady))
    return result
