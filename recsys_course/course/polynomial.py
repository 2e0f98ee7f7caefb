"""A controlled case where a DCN cross layer clearly wins: a known polynomial with crosses, learned from samples.

In the spirit of the TensorFlow Recommenders DCN tutorial: six features drawn uniformly from [-1, 1], a target that
is a known polynomial (two main effects, two pairwise crosses and one 3-way cross, no noise), and four regressors
trained on the same rows with the same optimizer and budget: Merlin's `mm.CrossBlock` of depth 1 and of depth 2 (each
followed by one linear unit) and two ReLU MLPs with 10× and 100× more parameters. A cross layer computes
`x_{l+1} = x0 ⊙ (W x_l + b) + x_l`: each layer multiplies by x0 once more, so depth l writes polynomials of degree
l + 1 exactly. Depth 1 therefore cannot write the 3-way term (its error is that term's size), depth 2 can.

`controlled_dcn_case(seed)` runs it for the bench (about 15 s on 2 CPU cores) and returns plain numbers for
bench/results.json. Notebook 04 writes the same data, models and training loop in its cells, at the same `Setup`, and
calls only what is not the lesson: `learned_polynomial` (least squares over every monomial), `meeting_pairs` and
`kernel_picture` (the picture). Run with `python -m recsys_course.course.polynomial` for a quick look.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

FEATURES = ("x0", "x1", "x2", "x3", "x4", "x5")


@dataclass(frozen=True)
class Term:
    """One monomial of the target: `coef` times the product of `features`."""

    coef: float
    features: tuple[str, ...]

    @property
    def name(self) -> str:
        return "·".join(self.features)


# The known target: two main effects, two pairwise crosses, one 3-way cross; nothing else.
TERMS = (Term(0.4, ("x0",)), Term(0.2, ("x3",)), Term(1.0, ("x0", "x1")), Term(0.6, ("x2", "x4")),
         Term(0.8, ("x1", "x3", "x5")))


@dataclass(frozen=True)
class Setup:
    """Sizes of the case: rows, training budget (the same for every model), and the MLPs' hidden widths."""

    n_train: int = 20_000
    n_test: int = 5_000
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 0.01
    mlps: tuple[tuple[int, ...], ...] = ((32, 32), (128, 64))
    depths: tuple[int, ...] = (1, 2)

    def __post_init__(self):
        if not self.depths or any(d < 1 for d in self.depths):
            raise ValueError(f"Setup.depths must hold cross depths of 1 or more, got {self.depths!r}")
        if any(not w or any(u < 1 for u in w) for w in self.mlps):
            raise ValueError(f"Setup.mlps must hold hidden widths of 1 or more per MLP, got {self.mlps!r}")
        if min(self.n_train, self.n_test, self.epochs, self.batch_size) < 1:
            raise ValueError("Setup.n_train, n_test, epochs and batch_size must be 1 or more")


def formula(terms: Sequence[Term] = TERMS) -> str:
    """The target as text, e.g. 'y = 0.4·x0 + 0.2·x3 + 1.0·x0·x1 + …'."""
    return "y = " + " + ".join(f"{t.coef:g}·{t.name}" for t in terms)


def target(x: np.ndarray, terms: Sequence[Term] = TERMS) -> np.ndarray:
    """The polynomial's value for each row of `x` (columns in FEATURES order)."""
    col = {f: x[:, i] for i, f in enumerate(FEATURES)}
    return sum(t.coef * np.prod([col[f] for f in t.features], axis=0) for t in terms).astype("float32")


def sample(seed: int, n: int) -> np.ndarray:
    """`n` rows of the six features, uniform on [-1, 1], reproducible from `seed`."""
    return np.random.default_rng(seed).uniform(-1, 1, (n, len(FEATURES))).astype("float32")


def cross_model(depth: int):
    """Merlin's CrossBlock of `depth` layers on the six raw features, then one linear unit: a polynomial of degree
    depth + 1."""
    import tensorflow as tf

    from recsys_course.quiet import silence_after_tf

    silence_after_tf()
    import merlin.models.tf as mm

    inputs = tf.keras.Input((len(FEATURES),))
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(mm.CrossBlock(depth)(inputs)))


def mlp_model(widths: Sequence[int]):
    """A ReLU MLP with the given hidden widths and one linear output unit."""
    import tensorflow as tf

    inputs = tf.keras.Input((len(FEATURES),))
    hidden = inputs
    for w in widths:
        hidden = tf.keras.layers.Dense(w, activation="relu")(hidden)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1)(hidden))


def _fit_rmse(model, train: np.ndarray, test: np.ndarray, setup: Setup) -> float:
    """Train on `train` rows (mean squared error, Adam), return the root mean squared error on `test` rows."""
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(setup.learning_rate), loss="mse")
    model.fit(train, target(train), batch_size=setup.batch_size, epochs=setup.epochs, verbose=0, shuffle=True)
    pred = model.predict(test, batch_size=4096, verbose=0).reshape(-1)
    return float(np.sqrt(np.mean((pred - target(test)) ** 2)))


def monomials(degree: int) -> list[tuple[str, ...]]:
    """Every monomial of the six features up to `degree` (squares included), constant first."""
    out: list[tuple[str, ...]] = [()]
    for k in range(1, degree + 1):
        out += list(itertools.combinations_with_replacement(FEATURES, k))
    return out


def learned_polynomial(model, degree: int, seed: int = 0) -> dict[str, float]:
    """The coefficients of the polynomial a cross network computes, read off by least squares on random points.

    A cross network of depth d followed by a linear unit IS a polynomial of degree d + 1, so with `degree` ≥ d + 1
    the fit is exact (up to float32 rounding) and these are the model's own coefficients.
    """
    x = sample(seed + 10_000, 4_000)
    terms = monomials(degree)
    design = np.stack([np.prod([x[:, FEATURES.index(f)] for f in t], axis=0) if t else np.ones(len(x))
                       for t in terms], axis=1).astype("float64")
    y = model.predict(x, batch_size=4096, verbose=0).reshape(-1).astype("float64")
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return {("·".join(t) or "1"): float(c) for t, c in zip(terms, coef)}


def cross_kernels(model) -> list[np.ndarray]:
    """The W of each cross layer, first layer first, as (row i = the feature slot multiplied by x0_i, column j = the
    slot mixed in): W[i, j] is the weight of x_j in what multiplies x0_i. Keras kernels are (in, out), hence the
    transpose. Full-rank layers only."""
    from merlin.models.tf.blocks.cross import Cross

    return [layer.dense.weights[0].numpy().T for layer in model.submodules if isinstance(layer, Cross)]


def meeting_pairs(terms: Sequence[Term] = TERMS) -> np.ndarray:
    """A symmetric 6 × 6 matrix: for each pair of features that meet in a term of the target (a pairwise cross, or
    two of the three features of a 3-way cross), the size of that term's coefficient; 0 elsewhere."""
    m = np.zeros((len(FEATURES), len(FEATURES)))
    for t in terms:
        for a, b in itertools.combinations(t.features, 2):
            i, j = FEATURES.index(a), FEATURES.index(b)
            m[i, j] = m[j, i] = max(m[i, j], abs(t.coef))
    return m


def _train_all(seed: int, setup: Setup) -> dict:
    """Fit every model of the case on the same rows; name -> {kind, params, rmse, seconds, model}."""
    from recsys_course.modeling.training import set_seeds

    train, test = sample(seed, setup.n_train), sample(seed + 1, setup.n_test)
    builds = {f"CrossBlock depth {d}": ("cross", d, lambda d=d: cross_model(d)) for d in setup.depths}
    builds.update({f"MLP {'-'.join(map(str, w))}": ("mlp", None, lambda w=w: mlp_model(w)) for w in setup.mlps})
    out = {}
    for name, (kind, depth, build) in builds.items():
        set_seeds(seed)
        model = build()
        t = time.perf_counter()
        rmse = _fit_rmse(model, train, test, setup)
        out[name] = {"kind": kind, "depth": depth, "params": int(model.count_params()), "rmse": rmse,
                     "seconds": time.perf_counter() - t, "model": model}
    return out


def controlled_dcn_case(seed: int = 42, setup: Setup = Setup()) -> dict:
    """Train CrossBlocks and much larger MLPs on a known polynomial; return errors, parameter counts and the kernel.

    The result holds only plain numbers, lists and strings (it goes into bench/results.json):
    `models` (name -> kind, depth (None for an MLP), params, test RMSE, seconds), `cross` (the best cross model), `mlp` (the best MLP with
    ≥ 10× its parameters), `param_ratio`, `error_ratio` (MLP RMSE / cross RMSE), `clearly_better` (error ratio ≥ 5),
    `triple_rmse` (the error a model that cannot write the 3-way term is left with), `kernels` (each layer's W of
    the best cross model, first layer first, rows and columns in `features` order), `meeting_pairs` (see that
    function), and `learned` (true vs learned coefficient of each term of the target, and the largest coefficient
    the target does not have).
    """
    t0 = time.perf_counter()
    trained = _train_all(seed, setup)
    crosses = {k: v for k, v in trained.items() if v["kind"] == "cross"}
    cross = min(crosses, key=lambda k: crosses[k]["rmse"])
    big = {k: v for k, v in trained.items() if v["kind"] == "mlp" and v["params"] >= 10 * trained[cross]["params"]}
    mlp = min(big, key=lambda k: big[k]["rmse"]) if big else None
    degree = max(max(setup.depths) + 1, max(len(t.features) for t in TERMS))
    coefs = learned_polynomial(trained[cross]["model"], degree, seed=seed)
    planted = {t.name: t.coef for t in TERMS}
    spurious = max((k for k in coefs if k not in planted and k != "1"), key=lambda k: abs(coefs[k]))
    x = sample(seed + 1, setup.n_test)
    triple = [t for t in TERMS if len(t.features) == 3]
    result = {
        "seed": seed, "formula": formula(), "features": list(FEATURES),
        "setup": {"n_train": setup.n_train, "n_test": setup.n_test, "epochs": setup.epochs,
                  "batch_size": setup.batch_size, "learning_rate": setup.learning_rate},
        "target_sd": float(target(x).std()),
        "triple_rmse": float(target(x, triple).std()),
        "models": {k: {key: v[key] for key in ("kind", "depth", "params", "rmse", "seconds")} for k, v in trained.items()},
        "cross": cross, "mlp": mlp,
        "param_ratio": trained[mlp]["params"] / trained[cross]["params"] if mlp else None,
        "error_ratio": trained[mlp]["rmse"] / trained[cross]["rmse"] if mlp else None,
        "kernels": [k.round(4).tolist() for k in cross_kernels(trained[cross]["model"])],
        "meeting_pairs": meeting_pairs().tolist(),
        "learned": {"terms": {name: {"true": c, "learned": coefs[name]} for name, c in planted.items()},
                    "largest_other": {"term": spurious, "learned": coefs[spurious]}},
    }
    result["clearly_better"] = bool(mlp and result["error_ratio"] >= 5.0)
    result["seconds"] = time.perf_counter() - t0
    return result


def error_words(ratio: float) -> str:
    """An error ratio (MLP RMSE / cross RMSE) in words: '15× smaller', or '2.5× larger' when the MLP did better."""
    return f"{ratio:.0f}× smaller" if ratio >= 1 else f"{1 / ratio:.1f}× larger"


def kernel_picture(kernels: Sequence[np.ndarray], name: str, terms: Sequence[Term] = TERMS):
    """Heatmaps, each on a colour scale from 0: the pairs of features that meet in a term of the target, then |W| of
    each cross layer in `kernels` (first layer first, rows and columns in FEATURES order) of the model `name`."""
    import pandas as pd

    from recsys_course.course import plots

    panels = [("pairs that meet in a term of the target", meeting_pairs(terms))]
    panels += [(f"{name}: |W| of layer {i}", k) for i, k in enumerate(kernels, start=1)]
    fig, axes = plots._plt().subplots(1, len(panels), figsize=(4.3 * len(panels), 3.8))
    for ax, (title, matrix) in zip(np.atleast_1d(axes), panels):
        plots.heatmap(pd.DataFrame(np.abs(matrix), index=FEATURES, columns=FEATURES), title, ax=ax)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    import pandas as pd

    case = controlled_dcn_case()
    print(case["formula"])
    print(pd.DataFrame(case["models"]).T[["params", "rmse"]])
