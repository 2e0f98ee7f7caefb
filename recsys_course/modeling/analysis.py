"""What the data and the trained models say: interaction strengths, nesting, what a cross layer learned.

Everything here is computed from the data in front of the learner (generated or real), never from the
generator's planted truth.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def is_nested(rows: pd.DataFrame, child: str, parent: str) -> bool:
    """True when every value of `child` occurs with a single value of `parent` (the child determines the parent)."""
    return bool(rows.groupby(child)[parent].nunique().max() <= 1)


def nested_pair(rows: pd.DataFrame, a: str, b: str) -> bool:
    """True when either column determines the other: their cross carries nothing the finer one does not."""
    return is_nested(rows, a, b) or is_nested(rows, b, a)


def _codes(rows: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One integer per row naming its combination of values of `columns` (0 .. number of combinations - 1)."""
    code = np.zeros(len(rows), dtype=np.int64)
    for col in columns:
        values, _ = pd.factorize(rows[col], use_na_sentinel=False)
        code = code * (int(values.max(initial=0)) + 1) + values
    return pd.factorize(code)[0]


def _shrunk_means(codes: np.ndarray, values: np.ndarray, shrink: float) -> np.ndarray:
    """Each cell's mean of `values`, shrunk toward 0 by n / (n + shrink): a cell of a few rows says little."""
    sums = np.bincount(codes, weights=values)
    return sums / (np.bincount(codes, minlength=sums.size) + shrink)


def _lower_order_removed(rows: pd.DataFrame, features: Sequence[str], shrink: float, sweeps: int = 3) -> np.ndarray:
    """target minus its mean, every single feature's effect and every smaller combination's cell effect.

    The effects are fitted together by backfitting (a few sweeps, each cell mean shrunk), so that nested or
    correlated features are not counted twice: what is left is what only the full combination could explain.
    """
    from itertools import combinations

    resid = rows["target"].astype(float).to_numpy()
    resid = resid - resid.mean()
    groups = [_codes(rows, g) for k in range(1, len(features)) for g in combinations(features, k)]
    fitted = [np.zeros(len(rows)) for _ in groups]
    for _ in range(sweeps):
        for i, codes in enumerate(groups):
            resid = resid + fitted[i]
            fitted[i] = _shrunk_means(codes, resid, shrink)[codes]
            resid = resid - fitted[i]
    return resid


def interaction_gain(rows: pd.DataFrame, features: Sequence[str], shrink: float = 10.0) -> float:
    """How much the combination of `features` (2 or more) predicts beyond its parts, measured on held-out rows.

    The residual of a row is what the overall rate, each feature alone and every smaller combination do not
    explain (fitted together, shrunk). The combination's cells learn their mean residual (shrunk toward 0 by
    n / (n + shrink), so that a cell of a few rows says little) on one half of the rows and predict the other
    half's; the result is the drop in squared error, averaged over both halves, per row (x 1000). Held out, a
    combination with many small cells (a finer category, say) gains nothing from its noise: ~0 means no
    interaction of that order.
    """
    if len(features) < 2:
        raise ValueError(f"an interaction needs at least two features, got {list(features)}")
    resid = _lower_order_removed(rows, features, shrink)
    cell = _codes(rows, features)
    half = np.arange(len(rows)) % 2 == 0
    gain = 0.0
    for learn in (half, ~half):
        means = _shrunk_means(cell[learn], resid[learn], shrink)
        pred = np.append(means, 0.0)[np.minimum(cell[~learn], means.size)]  # a cell unseen in `learn`: 0
        gain += float(np.mean(resid[~learn] ** 2) - np.mean((resid[~learn] - pred) ** 2))
    return 1000 * gain / 2


def interaction_strengths(rows: pd.DataFrame, columns: Sequence[str], order: int = 2,
                          shrink: float = 10.0) -> pd.DataFrame:
    """`interaction_gain` of every pair (order=2) or triple (order=3) of `columns`, strongest first.

    Columns: "features" (a tuple of names), "pair" (its display name, 'a × b' or 'a × b × c') and
    "interaction" (the held-out gain x 1000). For a triple, the main effects and every pairwise cell effect are
    removed first, so a triple scores only what no pair of its features carries.
    """
    from itertools import combinations

    if order not in (2, 3):
        raise ValueError(f"order must be 2 (pairs) or 3 (triples), got {order!r}")
    missing = [c for c in columns if c not in rows.columns]
    if missing or "target" not in rows.columns:
        raise ValueError(f"rows lack the column(s) {missing or ['target']}")
    out = [{"features": tuple(f), "pair": " × ".join(f), "interaction": interaction_gain(rows, f, shrink)}
           for f in combinations(list(columns), order)]
    return pd.DataFrame(out).sort_values("interaction", ascending=False, kind="stable").reset_index(drop=True)


def cross_kernel_blocks(model, feature_order: Sequence[str], width: int) -> pd.DataFrame:
    """Frobenius norm of each (feature, feature) block of the first CrossBlock layer's kernel.

    A cross layer computes x0 * (x W + b) + x (Keras kernels are (in, out)). Block (i, j) of W maps feature
    i's vector into the slice that multiplies feature j's vector of x0: a large block is a learned cross of
    i and j.
    """
    w = first_cross_kernel(model)
    n = len(feature_order)
    if w.shape[0] != n * width:
        raise ValueError(f"kernel is {w.shape}, expected {n} features × {width}")
    norms = np.array([[np.linalg.norm(w[i * width:(i + 1) * width, j * width:(j + 1) * width]) for j in range(n)]
                      for i in range(n)])
    return pd.DataFrame(norms, index=feature_order, columns=feature_order)


def first_cross_kernel(model) -> np.ndarray:
    """The (in, out) kernel W of the model's first cross layer; for a low-rank layer, the product U V."""
    import re

    layers: dict[int, list[np.ndarray]] = {}
    for var in model.weights:
        m = re.search(r"/cross(?:_(\d+))?/", var.name)
        if m and "kernel" in var.name:
            layers.setdefault(int(m.group(1) or 0), []).append(var.numpy())
    if not layers:
        raise ValueError("the model has no CrossBlock kernel")
    kernels = layers[min(layers)]
    if len(kernels) == 1:
        return kernels[0]
    down = next(k for k in kernels if k.shape[0] > k.shape[1])  # (d, r), applied first
    up = next(k for k in kernels if k.shape[0] < k.shape[1])  # (r, d)
    return down @ up
