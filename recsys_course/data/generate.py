"""Synthetic REES46 "eCommerce behavior data from multi category store" with a planted, known signal.

Writes monthly CSVs `2019-Oct.csv` … `2020-Apr.csv` in the exact Kaggle format, plus two sidecars that
the CSVs never contain: `_oracle.parquet` (the true purchase probability of every labelled cart pair)
and `_generator.json` (scale, seed, planted effects, counts).

Whether a cart becomes a purchase follows a logistic model over only what a model sees after
preparation (see `PLANTED` and `_purchase_logit`): user, product, brand and time effects, a user ×
category affinity (a dot product, DLRM's own shape), a pure pairwise top category × hour interaction, and a
pure 3-way top category × hour band × weekend interaction that no pair of those features carries (an explicit
cross of cat_0 × ts_hour × ts_weekday can learn it; pairwise dot products cannot), and, when `smooth` is set above
its default 0, a smooth low-rank 3-way term brand × top category × hour (`_smooth_term`: the kind of product of
latent vectors a cross layer represents with few weights and a hashed cross must memorise combination by
combination). `generate(...,
planted=...)` or `--planted NAME=VALUE` changes the sizes (`PLANTED_NAMES`). Everything is drawn from numpy
Generators spawned from one seed, one stream per month, so the same seed gives byte-identical files.
"""
from __future__ import annotations

import calendar
import json
import numbers
import os
import re
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recsys_course.data import formats, taxonomy
from recsys_course.device import usable_cores
from recsys_course.files import atomic_output
from recsys_course.data.formats import HEADER, MONTHS, month_filename
from recsys_course.config import SCALES, SYNTHETIC_SCALES, Scale
from recsys_course.metrics import auc
from recsys_course.data.oracle import META_FILE, ORACLE_FILE

# The generator's name in its sidecar: the module's name before the package had folders, kept so that a seed still
# gives the same bytes (the golden digests and the bench's figures were recorded on them).
GENERATOR = "recsys_course.generate"  # layout: keep
EVENT_TYPES = np.array(formats.EVENT_TYPES)
VIEW, CART, PURCHASE = 0, 1, 2


@dataclass(frozen=True)
class Planted:
    """Sizes of the planted effects on the purchase logit (standard deviations unless said otherwise).

    Change them with `Planted(cross=0.0)`, `PLANTED.with_values(triple=1.0)`, `generate(..., planted={"cross": 0})`
    or `python -m recsys_course generate --planted cross=0 triple=1.0`; `PLANTED_NAMES` says what each one is.
    """

    intercept: float = 0.15
    user: float = 0.15  # per-user effect (small: a user has ~12 labelled rows to learn it from)
    item: float = 0.50  # per-product effect
    affinity: float = 0.20  # user x top-category affinity: scale of a rank-2 dot product
    brand: float = 0.35
    hour_amplitude: float = 0.30  # smooth daily curve, peak at 19h UTC
    weekend: float = 0.20
    discount: float = 2.5  # per unit of discount (0.2 off -> +0.5)
    cross: float = 0.90  # top category x hour, a pure interaction (no main effect of either)
    triple: float = 0.45  # top category x hour band x weekend, a pure 3-way interaction (no main or pairwise effect)
    smooth: float = 0.0  # brand x top category x hour, a smooth rank-2 trilinear term (0: the course's data as before)
    cross_pair: tuple[str, str] = ("cat_0", "ts_hour")
    cross_triple: tuple[str, str, str] = ("cat_0", "ts_hour", "ts_weekday")  # the model's columns that carry it

    def with_values(self, **values: float) -> "Planted":
        """A copy with some effect sizes changed, validated (unknown names and bad values are refused)."""
        return replace(self, **_checked_sizes(values))

    def validated(self) -> "Planted":
        """This ground truth with every size checked and made a Python float (a `Planted` built directly is not)."""
        return self.with_values(**{name: getattr(self, name) for name in PLANTED_NAMES})


def _checked_sizes(values: Mapping) -> dict[str, float]:
    """{name: size} as floats, or ValueError naming the first unknown name or bad size."""
    checked = {}
    for name, value in values.items():
        if not isinstance(name, str) or name not in PLANTED_NAMES:
            raise ValueError(f"unknown planted effect {name!r}: choose from {', '.join(PLANTED_NAMES)}")
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
            raise ValueError(f"planted effect {name}={value!r} is not a finite number (got {type(value).__name__})")
        if name != "intercept" and value < 0:
            raise ValueError(f"planted effect {name}={value!r} is a size: it cannot be negative")
        checked[name] = float(value)
    return checked


PLANTED = Planted()
PLANTED_NAMES: dict[str, str] = {  # what `--planted NAME=VALUE` can change, and what each name is
    "intercept": "the base purchase logit (can be negative)",
    "user": "sd of the per-user effect",
    "item": "sd of the per-product effect",
    "affinity": "scale of the user x top-category affinity (a rank-2 dot product)",
    "brand": "sd of the per-brand effect",
    "hour_amplitude": "amplitude of the smooth daily curve (peak at 19h UTC)",
    "weekend": "logit added on Saturdays and Sundays",
    "discount": "logit per unit of discount (0.2 off -> discount x 0.2)",
    "cross": "sd of the pure pairwise top category x hour interaction",
    "triple": "sd of the pure 3-way top category x hour band x weekend interaction",
    "smooth": ("sd of a smooth 3-way brand x top category x hour term: a rank-2 product of latent vectors of the "
               "three features (sum over k of b_k(brand) c_k(top category) t_k(hour), t a daily cosine/sine), with "
               "no main or pairwise effect; 0 (the default) leaves it out and the data as before"),
}
SMOOTH_FEATURES = ("brand", "cat_0", "ts_hour")  # the model's columns that carry the smooth term
HOUR_BANDS = np.repeat(np.arange(4), 6)  # hour -> band: night 0-5, morning 6-11, afternoon 12-17, evening 18-23


def planted_from(spec: "Planted | Mapping[str, float] | Sequence[str] | str | None") -> Planted:
    """A validated `Planted` from None (the course's), a `Planted`, a mapping {name: value}, or "NAME=VALUE" strings
    (a list, or one string such as "cross=0 triple=1" or "cross=0, triple=1")."""
    if spec is None:
        return PLANTED
    if isinstance(spec, Planted):
        return spec.validated()
    if isinstance(spec, Mapping):
        return PLANTED.with_values(**_checked_sizes(spec))
    if isinstance(spec, str):
        spec = re.sub(r"\s*=\s*", "=", spec).replace(",", " ").split()
    values: dict[str, float] = {}
    for item in spec:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} is not a NAME=VALUE string: give a dict {{name: value}} or strings like "
                             f"\"cross=0\" (names: {', '.join(PLANTED_NAMES)})")
        name, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: write NAME=VALUE, e.g. cross=0 (names: {', '.join(PLANTED_NAMES)})")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            raise ValueError(f"{item!r}: {text!r} is not a number (write NAME=VALUE, e.g. cross=0)") from None
    return PLANTED.with_values(**_checked_sizes(values))


# Behaviour (not label) parameters, tuned to REES46's published shape.
MEAN_EXTRA_PRODUCTS = 2.4  # distinct products per session = 1 + Poisson(2.4)
MEAN_REPEAT_VIEWS = 0.4  # extra consecutive views of the same product: Poisson(0.4) -> ~28% repeats
CART_RATE = 0.05  # per (session, product) first visit, times a per-user propensity
ITEM_ZIPF = 1.2
BRAND_ZIPF = 1.1
HOUR_PROFILE = np.array(
    [2, 1.5, 1.5, 2, 3, 4, 5, 6, 6.5, 7, 7, 7, 7, 7, 7.5, 8, 8.5, 8.5, 8, 7, 5.5, 4.5, 3.5, 2.5]
)
WEEKDAY_PROFILE = np.array([1.0, 1.0, 0.98, 0.97, 1.0, 1.08, 1.12])  # Monday .. Sunday


@dataclass
class Catalogue:
    product_id: np.ndarray
    leaf: np.ndarray  # index into leaf tables
    brand: np.ndarray  # index into brand_names, -1 = missing
    base_price: np.ndarray
    popularity: np.ndarray
    effect: np.ndarray
    leaf_category_id: np.ndarray
    leaf_code: list[str | None]
    leaf_top: np.ndarray  # top-level index, len(tops) = no code
    brand_names: list[str]
    brand_effect: np.ndarray
    top_vectors: np.ndarray
    cross: np.ndarray  # [top, hour]
    tops: list[str] = field(default_factory=list)
    triple: np.ndarray = field(default_factory=lambda: np.zeros((1, 4, 2)))  # [top, hour band, weekend]
    smooth: np.ndarray | None = None  # [brand (last: missing), top, hour]; None when Planted.smooth is 0


@dataclass
class Users:
    user_id: np.ndarray
    activity: np.ndarray
    favourite_top: np.ndarray
    effect: np.ndarray
    vector: np.ndarray
    cart_propensity: np.ndarray


def _unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """`n` distinct integers in [low, high), in random order."""
    out = np.unique(rng.integers(low, high, size=int(n * 1.1) + 16))
    while out.size < n:
        out = np.unique(np.concatenate([out, rng.integers(low, high, size=n)]))
    return rng.permutation(out)[:n]


def _zipf_weights(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.permutation(w / w.sum())


def make_catalogue(rng: np.random.Generator, scale: Scale, planted: Planted = PLANTED) -> Catalogue:
    codes = taxonomy.category_codes()
    tops = list(taxonomy.SECOND_LEVEL)
    n_uncoded = 40
    n_leaf = len(codes) + n_uncoded
    leaf_code: list[str | None] = [".".join(c) for c in codes] + [None] * n_uncoded
    leaf_top = np.array([tops.index(c[0]) for c in codes] + [len(tops)] * n_uncoded)
    # Leaf popularity: Zipf over coded leaves (70% of products), the rest spread over uncoded ids.
    w_coded = _zipf_weights(rng, len(codes), 0.8)
    deep = np.array([len(c) == 4 for c in codes])
    w_coded[deep] = 0.0008 / deep.sum()
    w_coded[~deep] *= (0.7 - 0.0008) / w_coded[~deep].sum()
    leaf_weight = np.concatenate([w_coded, np.full(n_uncoded, 0.3 / n_uncoded)])
    leaf = rng.choice(n_leaf, size=scale.products, p=leaf_weight / leaf_weight.sum())

    brand_pop = 1.0 / np.arange(1, scale.brands + 1) ** BRAND_ZIPF
    brand = rng.choice(scale.brands, size=scale.products, p=brand_pop / brand_pop.sum())
    brand[rng.random(scale.products) < 0.14] = -1

    leaf_median = np.exp(rng.normal(np.log(150.0), 0.8, size=n_leaf))
    base_price = np.round(np.clip(leaf_median[leaf] * np.exp(rng.normal(0, 0.45, scale.products)), 0.88, 2574.07), 2)

    top_vectors = rng.normal(0, 1, size=(len(tops) + 1, 2))
    cross = rng.normal(0, 1, size=(len(tops) + 1, 24))
    cross -= cross.mean(axis=1, keepdims=True)  # no main effect of the top category ...
    cross -= cross.mean(axis=0, keepdims=True)  # ... nor of the hour: only the pair carries it
    cross *= planted.cross / cross.std()
    cat = Catalogue(
        product_id=_unique_ints(rng, scale.products, 1_000_000, 100_000_000),
        leaf=leaf,
        brand=brand,
        base_price=base_price,
        popularity=_zipf_weights(rng, scale.products, ITEM_ZIPF),
        effect=rng.normal(0, planted.item, scale.products),
        leaf_category_id=_unique_ints(rng, n_leaf, 2_053_013_552_226_107_603, 2_230_000_000_000_000_000),
        leaf_code=leaf_code,
        leaf_top=leaf_top,
        brand_names=taxonomy.brand_names(scale.brands),
        brand_effect=rng.normal(0, planted.brand, scale.brands),
        top_vectors=top_vectors,
        cross=cross,
        tops=tops,
    )
    top_share = np.bincount(leaf_top[cat.leaf], weights=cat.popularity, minlength=len(tops) + 1)
    band_share = np.bincount(HOUR_BANDS, weights=HOUR_PROFILE)
    weekend_share = np.array([WEEKDAY_PROFILE[:5].sum(), WEEKDAY_PROFILE[5:].sum()])
    cat.triple = _pure_interaction(rng, [top_share, band_share, weekend_share], planted.triple)
    if planted.smooth > 0:  # drawn after everything else: with smooth 0 the same seed gives the same bytes as before
        cat.smooth = _smooth_term(rng, cat, top_share, planted.smooth)
    return cat


def _smooth_term(rng: np.random.Generator, cat: Catalogue, top_share: np.ndarray, size: float,
                 rank: int = 2) -> np.ndarray:
    """The table [brand (last row: no brand), top category, hour] of sum_k b_k(brand) c_k(top) t_k(hour).

    b and c are Gaussian latent vectors, t_k a daily cosine and sine (smooth in the hour); each factor is centred
    with its feature's share of the rows, so averaging over any one feature leaves 0 (no main or pairwise effect).
    Scaled to weighted sd `size`. A cross layer over the three embeddings represents it with a few weights; a
    hashed cross of the three needs one weight per combination (~150k at `small`).
    """
    brand_share = np.bincount(np.where(cat.brand >= 0, cat.brand, cat.brand_effect.size), weights=cat.popularity,
                              minlength=cat.brand_effect.size + 1)
    hour_share = HOUR_PROFILE / HOUR_PROFILE.sum()
    phase = 2 * np.pi * np.arange(24) / 24
    factors = [rng.normal(0, 1, size=(brand_share.size, rank)), rng.normal(0, 1, size=(top_share.size, rank)),
               np.stack([np.cos(phase + k * np.pi / rank) for k in range(rank)], axis=1)]
    shares = [brand_share / brand_share.sum(), top_share / top_share.sum(), hour_share]
    factors = [f - (f * w[:, None]).sum(axis=0, keepdims=True) for f, w in zip(factors, shares)]
    table = np.einsum("ak,bk,ck->abc", *factors)
    weights = np.einsum("a,b,c->abc", *shares)
    return table * size / np.sqrt((weights * table**2).sum())


def _pure_interaction(rng: np.random.Generator, shares: list[np.ndarray], size: float) -> np.ndarray:
    """A random array over len(shares) features with no main or lower-order effect, weighted sd `size`.

    Centred along every axis with that feature's share of the rows as weights (the features are independent in
    the simulation), so averaging over any one feature, as the data does, leaves 0: only the full combination
    carries it.
    """
    table = rng.normal(0, 1, size=tuple(w.size for w in shares))
    weights = np.ones_like(table)
    for axis, share in enumerate(shares):
        w = (share / share.sum()).reshape([-1 if a == axis else 1 for a in range(table.ndim)])
        table = table - (table * w).sum(axis=axis, keepdims=True)
        weights = weights * w
    return table * size / np.sqrt((weights * table**2).sum())


def make_users(rng: np.random.Generator, scale: Scale, cat: Catalogue, planted: Planted = PLANTED) -> Users:
    top_pop = np.bincount(cat.leaf_top[cat.leaf], weights=cat.popularity, minlength=len(cat.tops) + 1)
    return Users(
        user_id=_unique_ints(rng, scale.users, 400_000_000, 660_000_000),
        activity=rng.lognormal(0.0, 0.9, scale.users),
        favourite_top=rng.choice(top_pop.size, size=scale.users, p=top_pop / top_pop.sum()),
        effect=rng.normal(0, planted.user, scale.users),
        vector=rng.normal(0, 1, size=(scale.users, 2)),
        cart_propensity=rng.lognormal(-0.125, 0.5, scale.users),
    )


def _sample_by_weight(rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each i, an index in [lo[i], hi[i]) drawn with the weights whose cumulative sum is `cum`."""
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    target = base + rng.random(lo.size) * (cum[hi - 1] - base)
    return np.minimum(np.searchsorted(cum, target, side="right"), hi - 1)


def _purchase_logit(cat: Catalogue, users: Users, u: np.ndarray, p: np.ndarray, hour: np.ndarray,
                    weekday: np.ndarray, discount: np.ndarray, planted: Planted = PLANTED) -> np.ndarray:
    """The planted model: only user, product (and its category and brand), hour, weekday and price."""
    top = cat.leaf_top[cat.leaf[p]]
    brand = cat.brand[p]
    logit = (
        planted.intercept
        + users.effect[u]
        + cat.effect[p]
        + planted.affinity * np.einsum("ij,ij->i", users.vector[u], cat.top_vectors[top])
        + np.where(brand >= 0, cat.brand_effect[np.maximum(brand, 0)], 0.0)
        + planted.hour_amplitude * np.cos(2 * np.pi * (hour - 19) / 24)
        + planted.weekend * (weekday >= 5)
        + planted.discount * discount
        + cat.cross[top, hour]
        + cat.triple[top, HOUR_BANDS[hour], (weekday >= 5).astype(np.int64)]
    )
    if cat.smooth is not None:  # only when Planted.smooth > 0: the course's data stays byte-identical
        logit = logit + cat.smooth[np.where(brand >= 0, brand, cat.smooth.shape[0] - 1), top, hour]
    return logit


@dataclass
class MonthEvents:
    time: np.ndarray  # seconds since epoch, sorted
    kind: np.ndarray
    product: np.ndarray  # index into the catalogue
    user: np.ndarray  # index into users
    session: np.ndarray  # index into `uuids`
    price_cents: np.ndarray
    uuids: np.ndarray  # (n_sessions, 36) uint8
    oracle: dict[str, np.ndarray]


def _uuid4(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as an (n, 36) array of ASCII bytes."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = hexdigits[raw >> 4]
    nibbles[:, 1::2] = hexdigits[raw & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for src, dst in ((slice(0, 8), slice(0, 8)), (slice(8, 12), slice(9, 13)), (slice(12, 16), slice(14, 18)),
                     (slice(16, 20), slice(19, 23)), (slice(20, 32), slice(24, 36))):
        out[:, dst] = nibbles[:, src]
    return out


def month_bounds(year: int, month: int) -> tuple[int, int]:
    start = calendar.timegm((year, month, 1, 0, 0, 0))
    ny, nm = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, calendar.timegm((ny, nm, 1, 0, 0, 0))


@dataclass(frozen=True)
class _ProductIndex:
    """Products sorted by leaf, with their cumulative popularity: draw a product of a leaf in O(log n)."""

    order: np.ndarray
    cum_pop: np.ndarray
    leaf_lo: np.ndarray
    leaf_hi: np.ndarray

    @classmethod
    def of(cls, cat: Catalogue) -> "_ProductIndex":
        order = np.argsort(cat.leaf, kind="stable")
        leaves = np.arange(cat.leaf_top.size)
        return cls(order, np.cumsum(cat.popularity[order]), np.searchsorted(cat.leaf[order], leaves, side="left"),
                   np.searchsorted(cat.leaf[order], leaves, side="right"))


@dataclass
class _Visits:
    """One row per (session, product) visit, in session order."""

    session: np.ndarray
    product: np.ndarray
    user: np.ndarray
    views: np.ndarray  # consecutive views of the product
    carted: np.ndarray
    discount: np.ndarray
    cents: np.ndarray


def _draw_sessions(rng: np.random.Generator, year: int, month: int, n_sessions: int,
                   users: Users) -> tuple[np.ndarray, np.ndarray]:
    """Each session's start time (seconds) and user index: weekday and hour profiles, Black Friday, activity."""
    start, end = month_bounds(year, month)
    n_days = (end - start) // 86400
    day_w = WEEKDAY_PROFILE[(np.arange(n_days) + calendar.weekday(year, month, 1)) % 7].copy()
    if month == 11:
        day_w[27:30] *= 1.8  # Black Friday weekend
    day = rng.choice(n_days, size=n_sessions, p=day_w / day_w.sum())
    hour = rng.choice(24, size=n_sessions, p=HOUR_PROFILE / HOUR_PROFILE.sum())
    s_start = start + day * 86400 + hour * 3600 + rng.integers(0, 3600, n_sessions)
    s_user = np.searchsorted(np.cumsum(users.activity), rng.random(n_sessions) * users.activity.sum(), side="right")
    return s_start, np.minimum(s_user, users.user_id.size - 1)


def _session_leaves(rng: np.random.Generator, cat: Catalogue, idx: _ProductIndex, fav: np.ndarray) -> np.ndarray:
    """Each session's leaf category: mostly from the user's favourite top category (`fav`), by popularity."""
    leaf_pop = np.bincount(cat.leaf, weights=cat.popularity, minlength=cat.leaf_top.size)
    leaf_order = np.argsort(cat.leaf_top, kind="stable")
    cum_leaf = np.cumsum(leaf_pop[leaf_order])
    top_lo = np.searchsorted(cat.leaf_top[leaf_order], np.arange(len(cat.tops) + 1), side="left")
    top_hi = np.searchsorted(cat.leaf_top[leaf_order], np.arange(len(cat.tops) + 1), side="right")
    any_top = rng.random(fav.size) < 0.4
    lo = np.where(any_top, 0, top_lo[fav])
    hi = np.where(any_top, leaf_order.size, top_hi[fav])
    s_leaf = leaf_order[_sample_by_weight(rng, cum_leaf, lo, hi)]
    return np.where(idx.leaf_hi[s_leaf] > idx.leaf_lo[s_leaf], s_leaf, cat.leaf[0])  # a leaf with no product


def _draw_visits(rng: np.random.Generator, cat: Catalogue, users: Users, idx: _ProductIndex, s_leaf: np.ndarray,
                 s_user: np.ndarray) -> _Visits:
    """The products each session visits (mostly of its leaf), their repeat views, carts, discounts and prices."""
    import pandas as pd  # hash-based duplicate test: faster than sorting millions of keys

    v_session = np.repeat(np.arange(s_leaf.size), 1 + rng.poisson(MEAN_EXTRA_PRODUCTS, s_leaf.size))
    in_leaf = rng.random(v_session.size) < 0.75
    v_leaf = s_leaf[v_session]
    lo = np.where(in_leaf, idx.leaf_lo[v_leaf], 0)
    hi = np.where(in_leaf, idx.leaf_hi[v_leaf], idx.order.size)
    v_product = idx.order[_sample_by_weight(rng, idx.cum_pop, lo, hi)]
    # A visit right after a visit of the same product would merge with it: redraw those from all products.
    for _ in range(2):
        again = np.flatnonzero((v_product[1:] == v_product[:-1]) & (v_session[1:] == v_session[:-1])) + 1
        everywhere = np.zeros(again.size, dtype=np.int64)
        v_product[again] = idx.order[_sample_by_weight(rng, idx.cum_pop, everywhere, everywhere + idx.order.size)]
    views = 1 + rng.poisson(MEAN_REPEAT_VIEWS, v_session.size)
    first = ~pd.Series(v_session.astype(np.int64) * cat.product_id.size + v_product).duplicated().to_numpy()
    v_user = s_user[v_session]
    carted = first & (rng.random(v_session.size) < CART_RATE * users.cart_propensity[v_user])
    discount = np.where(rng.random(v_session.size) < 0.45, rng.uniform(0.05, 0.4, v_session.size), 0.0)
    cents = np.maximum(np.round(cat.base_price[v_product] * (1 - discount) * 100), 77).astype(np.int64)
    return _Visits(v_session, v_product, v_user, views, carted, discount, cents)


def _visit_events(rng: np.random.Generator, visits: _Visits,
                  s_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each visit's views then its cart, timed from the session start: (visit index, kind, time) per event."""
    n_visit_events = visits.views + visits.carted
    e_visit = np.repeat(np.arange(visits.session.size), n_visit_events)
    pos_in_visit = np.arange(e_visit.size) - np.repeat(np.cumsum(n_visit_events) - n_visit_events, n_visit_events)
    e_kind = np.where(pos_in_visit == visits.views[e_visit], CART, VIEW)
    gaps = np.minimum(rng.exponential(45.0, e_visit.size).astype(np.int64) + 1, 900)
    # time within the session: cumulative gaps, restarted at each session's first event
    e_session = visits.session[e_visit]
    csum = np.cumsum(gaps)
    sess_first = np.searchsorted(e_session, np.arange(s_start.size), side="left")
    return e_visit, e_kind, s_start[e_session] + csum - csum[sess_first[e_session]]


def _label_carts(rng: np.random.Generator, cat: Catalogue, users: Users, visits: _Visits, cart_time: np.ndarray,
                 planted: Planted) -> tuple[np.ndarray, np.ndarray]:
    """The true purchase probability of every cart (in visit order) and whether it was bought."""
    cart_visits = np.flatnonzero(visits.carted)
    c_hour = ((cart_time // 3600) % 24).astype(np.int64)
    c_weekday = ((cart_time // 86400 + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday
    logit = _purchase_logit(cat, users, visits.user[cart_visits], visits.product[cart_visits], c_hour, c_weekday,
                            visits.discount[cart_visits], planted)
    p_true = 1.0 / (1.0 + np.exp(-logit))
    return p_true, rng.random(cart_visits.size) < p_true


def simulate_month(rng: np.random.Generator, year: int, month: int, n_sessions: int, cat: Catalogue,
                   users: Users, planted: Planted = PLANTED) -> MonthEvents:
    """One month of sessions: views, carts, and purchases drawn from the planted model, sorted by time."""
    end = month_bounds(year, month)[1]
    idx = _ProductIndex.of(cat)
    s_start, s_user = _draw_sessions(rng, year, month, n_sessions, users)
    s_leaf = _session_leaves(rng, cat, idx, users.favourite_top[s_user])
    visits = _draw_visits(rng, cat, users, idx, s_leaf, s_user)
    e_visit, e_kind, e_time = _visit_events(rng, visits, s_start)
    cart_visits = np.flatnonzero(visits.carted)
    cart_time = e_time[e_kind == CART]  # same order as cart_visits
    p_true, bought = _label_carts(rng, cat, users, visits, cart_time, planted)
    # Purchases close the session, in visit order.
    buy_visits = cart_visits[bought]
    e_session = visits.session[e_visit]
    session_last = e_time[np.searchsorted(e_session, np.arange(n_sessions), side="right") - 1]  # times grow
    buy_session = visits.session[buy_visits]
    rank_in_session = np.arange(buy_visits.size) - np.searchsorted(buy_session, buy_session, side="left")
    p_time = session_last[buy_session] + 20 + 30 * rank_in_session + rng.integers(0, 20, buy_visits.size)

    time = np.minimum(np.concatenate([e_time, p_time]), end - 1)
    visit = np.concatenate([e_visit, buy_visits])
    kind = np.concatenate([e_kind, np.full(buy_visits.size, PURCHASE)])
    o = np.argsort(time, kind="stable")
    return MonthEvents(
        time=time[o], kind=kind[o], product=visits.product[visit[o]], user=visits.user[visit[o]],
        session=visits.session[visit[o]], price_cents=visits.cents[visit[o]], uuids=_uuid4(rng, n_sessions),
        oracle={"session": visits.session[cart_visits], "user": visits.user[cart_visits],
                "product": visits.product[cart_visits], "event_time": np.minimum(cart_time, end - 1),
                "p_true": p_true, "purchased": bought},
    )


def _string_array(fixed: np.ndarray) -> pa.Array:
    """An Arrow string array from an (n, width) uint8 array, without a Python loop."""
    n, width = fixed.shape
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * width).tobytes())
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, pa.py_buffer(np.ascontiguousarray(fixed).tobytes())])


def _price_strings(cents: np.ndarray) -> pa.Array:
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_slice_codeunits(pc.cast(pa.array(cents % 100 + 100), pa.string()), 1, 3)
    return pc.binary_join_element_wise(whole, frac, ".")


def month_table(ev: MonthEvents, cat: Catalogue, users: Users) -> pa.Table:
    """The month's events in the REES46 column order and text format."""
    leaf = cat.leaf[ev.product]
    codes = pa.array(cat.leaf_code, type=pa.string())
    brand_idx = cat.brand[ev.product]
    brands = pa.array(cat.brand_names + [None], type=pa.string())
    ts = pc.cast(pa.array(ev.time).cast(pa.timestamp("s")), pa.string())
    return pa.table({
        "event_time": pc.binary_join_element_wise(ts, pa.scalar(" UTC"), ""),
        "event_type": pa.array(EVENT_TYPES).take(pa.array(ev.kind)),
        "product_id": pa.array(cat.product_id[ev.product]),
        "category_id": pa.array(cat.leaf_category_id[leaf]),
        "category_code": codes.take(pa.array(leaf)),
        "brand": brands.take(pa.array(np.where(brand_idx >= 0, brand_idx, len(cat.brand_names)))),
        "price": _price_strings(ev.price_cents),
        "user_id": pa.array(users.user_id[ev.user]),
        "user_session": _string_array(ev.uuids).take(pa.array(ev.session)),
    })


def write_csv(table: pa.Table, path: Path) -> None:
    sink = pa.CompressedOutputStream(str(path), "gzip") if path.suffix == ".gz" else pa.OSFile(str(path), "wb")
    with sink:
        sink.write((HEADER + "\n").encode())
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536))


def _thin_views(rng: np.random.Generator, ev: MonthEvents, view_fraction: float) -> MonthEvents:
    """Drop views at random with their own stream: carts, purchases and the labels stay as they are."""
    if view_fraction >= 1.0:
        return ev
    keep = (ev.kind != VIEW) | (rng.random(ev.kind.size) < view_fraction)
    return MonthEvents(ev.time[keep], ev.kind[keep], ev.product[keep], ev.user[keep], ev.session[keep],
                       ev.price_cents[keep], ev.uuids, ev.oracle)


def generate(out: str | os.PathLike, scale: str = "tiny", seed: int = 42, view_fraction: float | None = None,
             gzip: bool = False, progress: bool = True,
             planted: "Planted | Mapping[str, float] | Sequence[str] | None" = None,
             max_sessions: int | None = None) -> dict:
    """Write the seven monthly CSVs and the sidecars into `out` (atomically); return the metadata.

    `planted` changes the ground truth: a `Planted`, or {name: value} / "NAME=VALUE" strings for the names of
    `PLANTED_NAMES` (e.g. `planted={"triple": 0}`); the effects used are recorded in `_generator.json`.
    `max_sessions` caps the sessions simulated (the scale's catalogue and users stay as they are): a quick
    preview of a large scale's format, used by the tests.
    """
    if scale not in SYNTHETIC_SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SYNTHETIC_SCALES)}")
    spec = SCALES[scale]
    view_fraction = spec.view_fraction if view_fraction is None else float(view_fraction)
    if not 0.0 < view_fraction <= 1.0:
        raise ValueError(f"view_fraction must be in (0, 1], got {view_fraction}")
    planted = planted_from(planted)  # validated before anything is written
    if max_sessions is not None:
        spec = replace(spec, sessions=min(spec.sessions, int(max_sessions)))
    with atomic_output(out) as tmp:
        meta = _generate_into(tmp, spec, seed, view_fraction, gzip, progress, planted)
    return meta


PARALLEL_FROM_SESSIONS = 500_000  # below this, starting worker processes costs more than it saves
_WORKER: dict = {}


def _init_worker(cat: Catalogue, users: Users, planted: Planted) -> None:
    _WORKER.update(cat=cat, users=users, planted=planted)


@dataclass(frozen=True)
class MonthJob:
    """One month to simulate and write: its size, its own random stream and where the CSV goes."""

    year: int
    month: int
    n_sessions: int
    seed_seq: np.random.SeedSequence
    view_fraction: float
    gzip: bool
    folder: str


def _month_job(job: MonthJob) -> tuple[str, dict, pa.Table]:
    """Simulate, thin and write one month; its own seed makes the result independent of the process."""
    cat, users, planted = _WORKER["cat"], _WORKER["users"], _WORKER["planted"]
    sim_rng, thin_rng = (np.random.default_rng(s) for s in job.seed_seq.spawn(2))
    ev = _thin_views(thin_rng, simulate_month(sim_rng, job.year, job.month, job.n_sessions, cat, users, planted),
                     job.view_fraction)
    name = month_filename(job.year, job.month, job.gzip)
    write_csv(month_table(ev, cat, users), Path(job.folder) / name)
    kinds = np.bincount(ev.kind, minlength=3)
    counts = {"events": int(ev.kind.size), "views": int(kinds[VIEW]), "carts": int(kinds[CART]),
              "purchases": int(kinds[PURCHASE])}
    o = ev.oracle
    oracle = pa.table({
        "user_session": _string_array(ev.uuids).take(pa.array(o["session"])),
        "user_id": pa.array(users.user_id[o["user"]]),
        "product_id": pa.array(cat.product_id[o["product"]]),
        "event_time_ts": pa.array(o["event_time"]),
        "p_true": pa.array(o["p_true"]),
        "purchased": pa.array(o["purchased"]),
    })
    return name, counts, oracle


def _generate_into(tmp: Path, spec: Scale, seed: int, view_fraction: float, gzip: bool, progress: bool,
                   planted: Planted) -> dict:
    from tqdm import tqdm  # text bars (tqdm.auto warns in notebooks without ipywidgets)

    root = np.random.SeedSequence(seed)
    s_cat, s_users, *s_months = root.spawn(2 + len(MONTHS))
    cat = make_catalogue(np.random.default_rng(s_cat), spec, planted)
    users = make_users(np.random.default_rng(s_users), spec, cat, planted)
    days = np.array([(month_bounds(*m)[1] - month_bounds(*m)[0]) // 86400 for m in MONTHS], dtype=float)
    jobs = [MonthJob(year, month, int(round(spec.sessions * share)), s_month, view_fraction, gzip, str(tmp))
            for (year, month), share, s_month in zip(MONTHS, days / days.sum(), s_months)]
    bar = tqdm(total=len(jobs), desc=f"generate {spec.name}", unit="month", file=sys.stderr, disable=not progress)
    workers = min(len(jobs), usable_cores()) if spec.sessions >= PARALLEL_FROM_SESSIONS else 1
    def tick(result):
        bar.update()
        return result

    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                                 initargs=(cat, users, planted)) as pool:
            done = [tick(r) for r in pool.map(_month_job, jobs)]
    else:
        _init_worker(cat, users, planted)
        done = [tick(_month_job(job)) for job in jobs]
    bar.close()
    counts = {name: c for name, c, _ in done}
    oracle_parts = [o for _, _, o in done]
    oracle = pa.concat_tables(oracle_parts)
    pq.write_table(oracle, tmp / ORACLE_FILE)
    april = pc.greater_equal(oracle["event_time_ts"], month_bounds(2020, 4)[0])
    apr = oracle.filter(april)
    planted_meta = asdict(planted)
    if planted.smooth == 0:  # the course's data: _generator.json stays byte-identical to before the term existed
        del planted_meta["smooth"]
    else:
        planted_meta["smooth_features"] = list(SMOOTH_FEATURES)  # its table (~130k cells) is not written
    meta = {
        "generator": GENERATOR,
        "scale": spec.generated(),
        "seed": seed,
        "view_fraction": view_fraction,
        "files": counts,
        "labelled_pairs": oracle.num_rows,
        "purchase_rate": float(np.mean(oracle["purchased"].to_numpy())),
        "oracle_auc_april_unfiltered": auc(apr["purchased"].to_numpy(), apr["p_true"].to_numpy()),
        "planted": {**planted_meta, "cross_matrix_tops": cat.tops + ["NA"],
                    "cross_matrix": np.round(cat.cross, 4).tolist(), "hour_bands": HOUR_BANDS.tolist(),
                    "triple_matrix": np.round(cat.triple, 4).tolist()},  # [top, hour band, weekend]
    }
    (tmp / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")
    return meta
