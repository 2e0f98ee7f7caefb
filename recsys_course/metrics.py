"""Scores computed without TensorFlow: ROC AUC and log-loss of probabilities against 0/1 labels."""
from __future__ import annotations

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula, ties averaged."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(s.size, dtype=np.float64)
    first = np.r_[True, s[1:] != s[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = avg[group]
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def logloss(labels: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities `p` (clipped away from 0 and 1)."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def auc_standard_error(auc_value: float, positives: int, negatives: int) -> float:
    """Standard error of an AUC measured on `positives` + `negatives` rows (Hanley & McNeil, Radiology 1982)."""
    if positives < 1 or negatives < 1:
        raise ValueError("an AUC's standard error needs both classes")
    a = float(auc_value)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives)
    return float(np.sqrt(max(var, 0.0)))


def auc_noise(labels, auc_value: float) -> float:
    """Two standard errors of an AUC of `auc_value` measured on these 0/1 `labels`: a difference between two models
    scored on the same rows that is smaller than this says little (unpaired, so on the safe side)."""
    y = np.asarray(labels).astype(bool)
    return 2 * auc_standard_error(auc_value, int(y.sum()), int((~y).sum()))
