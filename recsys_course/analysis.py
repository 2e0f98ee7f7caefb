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


def conversion_by_pair(rows: pd.DataFrame, a: str, b: str, shrink: float = 10.0) -> float:
    """How much the pair (a, b) predicts beyond a and b alone, measured on held-out rows.

    The residual of a row is target - rate(a) - rate(b) + overall rate: what a and b alone do not explain. The
    pair's cells (a, b) learn their mean residual (shrunk toward 0 by n / (n + shrink), so that a cell of a few
    rows says little) on one half of the rows and predict the other half's; the result
    is the drop in squared error, averaged over both halves, per row (x 1000). Held out, a pair with many small cells
    (a finer category, say) gains nothing from its noise: ~0 means no interaction.
    """
    y = rows["target"].astype(float).to_numpy()
    ra = rows.groupby(a)["target"].transform("mean").to_numpy()
    rb = rows.groupby(b)["target"].transform("mean").to_numpy()
    resid = y - ra - rb + y.mean()
    cell = pd.MultiIndex.from_arrays([rows[a].to_numpy(), rows[b].to_numpy()])
    half = np.arange(len(rows)) % 2 == 0
    gain = 0.0
    for learn in (half, ~half):
        stats = pd.Series(resid[learn]).groupby(cell[learn]).agg(["sum", "size"])
        means = stats["sum"] / (stats["size"] + shrink)  # small cells are shrunk toward 0
        pred = means.reindex(cell[~learn]).fillna(0.0).to_numpy()
        gain += float(np.mean(resid[~learn] ** 2) - np.mean((resid[~learn] - pred) ** 2))
    return 1000 * gain / 2


def interaction_strengths(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`conversion_by_pair` for every pair of `columns`, strongest first."""
    out = [{"features": (a, b), "pair": f"{a} × {b}", "interaction": conversion_by_pair(rows, a, b)}
           for i, a in enumerate(columns) for b in columns[i + 1:]]
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
