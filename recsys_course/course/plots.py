"""Pictures and tables the notebooks show: the funnel, the daily rhythm, the schema, curves, heatmaps, diagrams.

Pictures only: what they show is computed in `recsys_course.modeling.analysis` and read by `recsys_course.data`."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def funnel(month, kept_views: float = 1.0):
    """Views, carts and purchases of one month as linear bars, each labelled with its count and its rate.

    `month` is a `rawfiles.MonthProfile`. With thinned views (`kept_views` < 1, generated data only) the view count is
    scaled back up, so the view -> cart rate is the real one.
    """
    counts = month.by_type.reindex(["view", "cart", "purchase"], fill_value=0).astype(float)
    counts["view"] /= kept_views
    notes = [f"{counts['view']:,.0f}", f"{counts['cart']:,.0f}  ({counts['cart'] / counts['view']:.1%} of views)",
             f"{counts['purchase']:,.0f}  ({counts['purchase'] / counts['cart']:.1%} of carts)"]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 2.4))
    ax.barh(counts.index[::-1], counts.values[::-1], color=["#76b900", "#4a90d9", "#999999"])
    for y, (count, note) in enumerate(zip(counts.values[::-1], notes[::-1])):
        ax.text(count + counts.max() * 0.01, y, note, va="center", fontsize=9)
    ax.set_xlim(0, counts.max() * 1.6)
    ax.set_xlabel(f"events in {month.name} (linear scale)")
    ax.set_title("view → cart → purchase")
    fig.tight_layout()
    return fig


def rhythm(month):
    """Share of a month's events by hour of day (UTC), and the mean number of events per calendar day of each weekday
    (a month has four or five of each weekday: totals would mostly count days)."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 2.6))
    (month.by_hour / month.events).plot.bar(ax=a, color="#4a90d9", xlabel="hour (UTC)", ylabel="share of events")
    month.per_weekday()["events per day"].plot.bar(ax=b, color="#76b900", rot=0, xlabel="weekday",
                                                   ylabel="events per day (mean)")
    fig.tight_layout()
    return fig


def schema_table(schema, dim: int = 64) -> pd.DataFrame:
    """Name, tags, dtype, cardinality and embedding-table size of each column a model sees."""
    rows = []
    for col in schema:
        card = int(col.int_domain.max) + 1 if col.int_domain and "categorical" in {t.value for t in col.tags} else None
        rows.append({"column": col.name, "tags": ", ".join(sorted(t.value for t in col.tags)), "dtype": col.dtype.name,
                     "cardinality": card, "embedding table": f"{card:,} × {dim}" if card else "",
                     "embedding params": card * dim if card else 0})
    return pd.DataFrame(rows).set_index("column")


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "d")
_LINESTYLES = ("-", "--", ":", "-.")
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf", "#000000", "#b8860b")  # tab10, then black and dark gold: twelve distinct lines


def curves(results: Iterable, metric: str = "val_auc"):
    """Validation AUC per epoch of each FitResult: whole-number epoch ticks, the legend beside the plot, and a
    different hollow marker and line style per model, so that two models with identical curves both stay visible."""
    from matplotlib.ticker import MaxNLocator

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8.5, 3.4))
    for i, r in enumerate(results):
        values = r.history.get(metric, [])
        ax.plot(range(1, len(values) + 1), values, marker=_MARKERS[i % len(_MARKERS)],
                linestyle=_LINESTYLES[i % len(_LINESTYLES)], color=_COLOURS[i % len(_COLOURS)],
                markersize=9 - (i % 3) * 2, markerfacecolor="none", label=r.name)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def heatmap(table: pd.DataFrame, title: str, ax=None, vmin: float = 0.0, vmax: float | None = None,
            hide_diagonal: bool = False):
    """A table as a heatmap whose colour scale starts at `vmin` (0 by default), not at the smallest cell.

    Scaled from the smallest to the largest cell, differences of a few percent (noise) fill the whole colour range
    and look like structure; from 0, cells that are nearly equal look nearly equal. `hide_diagonal` leaves the
    diagonal blank (for a cross kernel, a feature with itself is the main path, not a cross).
    """
    values = table.values.astype(float).copy()
    if hide_diagonal:
        np.fill_diagonal(values, np.nan)
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
    im = ax.imshow(values, cmap="Greens", vmin=vmin, vmax=vmax if vmax is not None else np.nanmax(values))
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(table.index)), table.index)
    ax.set_title(title, fontsize=10)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if fig is not None:
        fig.tight_layout()
    return ax.figure


# ---- architecture diagrams (drawn here; `python -m recsys_course diagrams` saves them under notebooks/img) ----

def _box(ax, x, y, w, h, text, color):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=color, ec="#333333"))
    ax.text(x, y, text, ha="center", va="center", fontsize=8)


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "color": "#333333"})


def architecture(kind: str):
    """A diagram of 'dlrm', 'dlrm_cross' or 'dcn', bottom (inputs) to top (prediction)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 4.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 11)
    ax.axis("off")
    green, blue, grey, orange = "#d8efb0", "#cfe2f7", "#eeeeee", "#fde2c0"
    _box(ax, 2.5, 1, 3.6, 0.8, "price, relative_price", grey)
    _box(ax, 6.8, 1, 4.6, 0.8, "8 categorical ids", grey)
    _box(ax, 2.5, 2.8, 3.6, 0.9, "bottom MLP → 64", blue)
    _box(ax, 6.8, 2.8, 4.6, 0.9, "embeddings 8 × 64", blue)
    _arrow(ax, 2.5, 1.4, 2.5, 2.35)
    _arrow(ax, 6.8, 1.4, 6.8, 2.35)
    if kind in ("dlrm", "dlrm_cross"):
        _box(ax, 5, 5, 5.5, 1.0, "pairwise dot products\n(9 vectors → 36 scalars)", green)
        _box(ax, 1.4, 5, 1.9, 1.0, "shortcut:\nbottom 64", grey)
        _arrow(ax, 2.5, 3.25, 1.6, 4.5)
        _arrow(ax, 2.5, 3.25, 4.0, 4.5)
        _arrow(ax, 6.8, 3.25, 6.0, 4.5)
        top_in = "concat 64 + 36"
        if kind == "dlrm_cross":
            _box(ax, 8.8, 5, 2.2, 1.0, "HashedCross\none-hot", orange)
            _arrow(ax, 8.5, 1.4, 8.8, 4.5)
            top_in = "concat 64 + 36 + bins"
        _box(ax, 5, 6.9, 6, 0.8, top_in, grey)
        for x in (1.4, 5, 8.8) if kind == "dlrm_cross" else (1.4, 5):
            _arrow(ax, x, 5.5, 5, 6.5)
    else:
        _box(ax, 5, 4.4, 6.5, 0.8, "concat 9 × 64 = 576", grey)
        _arrow(ax, 2.5, 3.25, 4.2, 4.0)
        _arrow(ax, 6.8, 3.25, 5.8, 4.0)
        _box(ax, 5, 5.9, 6.5, 1.1, "CrossBlock (depth d):\nx₁ = x₀ ⊙ (W x + b) + x", green)
        _arrow(ax, 5, 4.8, 5, 5.35)
        _box(ax, 5, 6.9, 6, 0.5, "576", grey)
        _arrow(ax, 5, 6.45, 5, 6.65)
    _box(ax, 5, 8.3, 4.5, 0.9, "top MLP 128 → 64", blue)
    _arrow(ax, 5, 7.3, 5, 7.85)
    _box(ax, 5, 9.8, 5.4, 0.9, "sigmoid(logit / 2): P(purchase)", green)
    _arrow(ax, 5, 8.75, 5, 9.35)
    ax.set_title({"dlrm": "DLRM", "dlrm_cross": "DLRM + HashedCross", "dcn": "DCN: CrossBlock"}[kind], fontsize=11)
    fig.tight_layout()
    return fig


def save_diagrams(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in ("dlrm", "dlrm_cross", "dcn"):
        fig = architecture(kind)
        path = folder / f"{kind}.png"
        fig.savefig(path, dpi=110)
        out.append(path)
    return out
