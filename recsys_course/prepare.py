"""The 2022 workshop's data preparation, with Dask, for generated and real REES46 CSVs alike.

raw monthly CSVs (plain or gzipped, see `rawfiles`) -> validate -> keep cart/purchase events -> shuffle by user ->
label each (session, product) cart: 1 if the product is purchased later in the session, else 0 -> split
category_code into cat_0..cat_3, fill brand, hour/weekday -> keep the last row per (user, product) -> time split
(train Oct-Mar, valid Apr by default; `Options.for_valid_month` for another download) -> each user's last 50 rows ->
filter train to >=5 rows per user and per item until stable -> valid keeps known users and items.

Only cart and purchase events (a few percent of a real month) survive the first, streaming step, so a
5 GB month is never held in memory. `scheduler` is a Dask address; None starts a local cluster.
"""
from __future__ import annotations

import asyncio
import calendar
import json
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from recsys_course.device import usable_cores
from recsys_course.files import atomic_output
from recsys_course.formats import CAT_LEVELS, PREPARED_COLUMNS
from recsys_course.oracle import oracle_metrics
from recsys_course.rawfiles import EVENTS_META, RawDataError, check_file, events_frame, month_of, raw_files

__all__ = ["ClusterStartError", "Options", "RawDataError", "label_rows", "prepare", "dask_client"]


@dataclass(frozen=True)
class Options:
    """The time split and the filters. Train is [train_start, valid_start), valid [valid_start, valid_end)."""

    train_start: str = "2019-10-01"
    valid_start: str = "2020-04-01"
    valid_end: str = "2020-05-01"
    max_rows_per_user: int = 50
    min_rows: int = 5  # per user and per item in train

    @classmethod
    def for_valid_month(cls, month: str, **kwargs) -> "Options":
        """Validate on `month` ('2019-11'); train on every month from October 2019 up to it."""
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month or ""):
            raise ValueError(f"--valid-month {month!r}: expected a month like 2019-11")
        start = pd.Timestamp(f"{month}-01")
        return cls(valid_start=start.strftime("%Y-%m-%d"),
                   valid_end=(start + pd.DateOffset(months=1)).strftime("%Y-%m-%d"), **kwargs)

    @property
    def valid_month(self) -> str:
        """'2020-04': the month validation starts in."""
        return self.valid_start[:7]

    def bounds(self) -> tuple[int, int, int]:
        def ts(day: str) -> int:
            return calendar.timegm(pd.Timestamp(day).timetuple())

        return ts(self.train_start), ts(self.valid_start), ts(self.valid_end)


def _overlaps(month: str, start: str, end: str) -> bool:
    """Whether the month '2019-10' overlaps the days [start, end) ('2019-10-01' strings compare in time order)."""
    after = (pd.Timestamp(f"{month}-01") + pd.DateOffset(months=1)).strftime("%Y-%m-%d")
    return f"{month}-01" < end and after > start


def select_files(raw: Path, files: list[Path], opts: Options) -> list[Path]:
    """The files the split reads: monthly names that overlap [train_start, valid_end), and any other name.

    With monthly names only, a missing validation month (or no month before it) stops here, before any reading,
    with the months found and the option to use.
    """
    months = {f: month_of(f) for f in files}
    named = sorted({m for m in months.values() if m})
    if named and all(months.values()):
        has_valid = any(_overlaps(m, opts.valid_start, opts.valid_end) for m in named)
        has_train = any(_overlaps(m, opts.train_start, opts.valid_start) for m in named)
        if not (has_valid and has_train):
            raise RawDataError(_split_advice(raw, named, opts, has_valid))
    return [f for f in files if months[f] is None or _overlaps(months[f], opts.train_start, opts.valid_end)]


def _split_advice(raw: Path, named: list[str], opts: Options, has_valid: bool) -> str:
    found = f"{raw}: months found: {', '.join(named)}"
    if not has_valid:
        problem = f"no file for the validation month {opts.valid_month}"
    else:
        problem = f"no month from {opts.train_start[:7]} before the validation month {opts.valid_month} to train on"
    usable = [m for m in named if any(_overlaps(n, opts.train_start, f"{m}-01") for n in named)]
    if not usable:
        return f"{found}; {problem}. A split needs two months (train, then validation): add a month"
    return f"{found}; {problem}. Validate on the last month instead: --valid-month {usable[-1]}"


def _in_order(values: pd.Series) -> np.ndarray:
    """Integer codes that sort as the strings do (Arrow's dense rank: a C++ sort of the strings, codepoint order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    coded = pc.dictionary_encode(pa.array(values, type=pa.string(), from_pandas=True))  # the distinct sessions
    return pc.rank(coded.dictionary, tiebreaker="dense").take(coded.indices).to_numpy().astype(np.int64)


def _pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) pair, equal exactly when both are equal."""
    codes_a, _ = pd.factorize(a)
    codes_b, distinct_b = pd.factorize(b)
    return codes_a.astype(np.int64) * max(len(distinct_b), 1) + codes_b


def _labelled(events: pd.DataFrame, valid_end: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in `events` of the labelled rows, in time order (ties: session, product, cart before purchase;
    stable), and their targets: the first cart of each (session, product), 1 when the product is purchased at or
    after it in the session; the last such row per (user, product), before `valid_end`."""
    ts, product = events["event_time_ts"].to_numpy(), events["product_id"].to_numpy()
    purchase = (events["event_type"] == "purchase").to_numpy()
    session = _in_order(events["user_session"])
    order = np.lexsort([purchase, product, session, ts])
    ts, purchase = ts[order], purchase[order]
    pair = _pairs(session[order], product[order])
    carts = np.flatnonzero(~purchase)
    carts = carts[~pd.Series(pair[carts]).duplicated(keep="first").to_numpy()]
    last_bought = pd.Series(ts[purchase]).groupby(pair[purchase]).max()
    target = (last_bought.reindex(pair[carts]).to_numpy() >= ts[carts]).astype("int8")
    users = events["user_id"].to_numpy()[order][carts]
    last = ~pd.Series(_pairs(users, product[order][carts])).duplicated(keep="last").to_numpy()
    last &= ts[carts] < valid_end
    return order[carts][last], target[last]


def label_rows(events: pd.DataFrame, opts: Options) -> pd.DataFrame:
    """Cart/purchase events of a set of users (all events of each user) -> labelled rows with a split."""
    start, valid_start, valid_end = opts.bounds()
    at, target = _labelled(events, valid_end)
    rows = events.iloc[at].assign(target=target)
    rows = rows[rows["event_time_ts"].to_numpy() >= start].copy()
    _add_features(rows)
    is_valid = rows["event_time_ts"].to_numpy() >= valid_start
    rows["split"] = np.where(is_valid, "valid", "train")
    newest_first = pd.Series(_pairs(rows["user_id"].to_numpy(), is_valid)).groupby(
        _pairs(rows["user_id"].to_numpy(), is_valid), sort=False).cumcount(ascending=False)
    rows = rows[newest_first.to_numpy() < opts.max_rows_per_user]
    return rows[PREPARED_COLUMNS + ["split"]].reset_index(drop=True)


def _add_features(rows: pd.DataFrame) -> None:
    """cat_0..cat_3 from category_code and brand ('NA' when missing), hour and weekday (UTC) of the event."""
    codes, distinct = pd.factorize(rows["category_code"].fillna("").astype(str))
    levels = pd.Series(distinct, dtype=object).str.split(".", n=CAT_LEVELS - 1, expand=True)
    for i in range(CAT_LEVELS):
        level = levels[i] if i in levels.columns else pd.Series(None, index=levels.index, dtype=object)
        names = level.replace("", None).fillna("NA").astype(str).to_numpy(dtype=object)
        rows[f"cat_{i}"] = names[codes] if len(names) else np.array([], dtype=object)
    rows["brand"] = rows["brand"].fillna("NA").astype(str)
    seconds = rows["event_time_ts"].to_numpy()
    rows["ts_hour"] = ((seconds // 3600) % 24).astype("int64")
    rows["ts_weekday"] = ((seconds // 86400 + 3) % 7).astype("int64")  # 1970-01-01 was a Thursday (3)


SCHEDULER_TIMEOUT = "30s"  # to reach a --scheduler


class ClusterStartError(RuntimeError):
    """The Dask cluster could not be started or reached; the message says what failed and what to do."""

    def _render_traceback_(self) -> list[str]:  # in Jupyter: the message, not a stack
        return [f"ClusterStartError: {self}"]


def _start_failed(what: str, e: BaseException, advice: str) -> ClusterStartError:
    return ClusterStartError(f"{what} failed ({type(e).__name__}: {e or 'no detail'}). {advice}")


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 1) -> Iterator[object]:
    """A client on `scheduler`, or on a local cluster that is closed afterwards.

    A cluster that does not start (Dask's bare `TimeoutError: Timeout` when workers do not come up in time) or a
    scheduler that cannot be reached stops with `ClusterStartError`, naming what failed and what to do.
    """
    from distributed import Client, LocalCluster

    from recsys_course.quiet import silence_dask

    silence_dask()

    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError, asyncio.TimeoutError) as e:
            raise _start_failed(f"connecting to the Dask scheduler at {scheduler}", e,
                                "Check the address and that the scheduler runs (`dask scheduler`, then "
                                "`dask worker ADDRESS`), or leave out --scheduler to use a local cluster.") from None
        with client:
            yield client
        return
    processes = n_workers > 1
    try:
        with warnings.catch_warnings():  # its status page moves to a free port when another cluster runs: quiet
            warnings.filterwarnings("ignore", message="Port 8787 is already in use")
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=max(1, usable_cores() // n_workers),
                                   processes=processes, dashboard_address=None)
    except (OSError, TimeoutError, asyncio.TimeoutError, RuntimeError) as e:
        kind = f"{n_workers} worker processes" if processes else "1 worker, threads in this process"
        raise _start_failed(f"starting a local Dask cluster ({kind})", e,
                            "Retry with --workers 1 (no worker processes to start), free some memory or CPU, or "
                            "start a cluster yourself and pass its address: --scheduler tcp://HOST:8786.") from None
    with cluster, Client(cluster) as client:
        yield client


def _filter_train(train, min_rows: int):
    """Drop users and items with fewer than `min_rows` train rows, repeatedly, until none is left."""
    while True:
        users = train["user_id"].value_counts().compute()
        items = train["product_id"].value_counts().compute()
        if (users >= min_rows).all() and (items >= min_rows).all():
            return train
        train = train[train["user_id"].isin(users.index[users >= min_rows].to_numpy())  # arrays, not sets: one
                      & train["product_id"].isin(items.index[items >= min_rows].to_numpy())].persist()  # object each


def prepare(raw: str | Path, out: str | Path, scheduler: str | None = None, opts: Options = Options(),
            blocksize: str = "64MB", n_workers: int = 1) -> dict:
    """Label, split and filter the raw CSVs in `raw`; write `out/{train,valid}` parquet atomically."""
    raw = Path(raw)
    files = select_files(raw, raw_files(raw), opts)
    for f in files:
        check_file(f)
    with atomic_output(out) as tmp:
        with dask_client(scheduler, n_workers):
            train, valid = _label_split_filter(events_frame(files, blocksize), opts)
            summary = {name: _write_split(frame, tmp / name, name, opts, raw)
                       for name, frame in (("train", train), ("valid", valid))}
        summary["oracle"] = oracle_metrics(raw, tmp)
        summary["raw_files"] = [f.name for f in files]
        summary["split"] = {"train": [opts.train_start, opts.valid_start], "valid": [opts.valid_start, opts.valid_end]}
        (tmp / "prepare.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _label_split_filter(events, opts: Options):
    """Dask graph: carts/purchases shuffled by user, labelled, split, filtered. (train, valid)."""
    events = events.shuffle(on="user_id", npartitions=max(1, events.npartitions // 4), shuffle="tasks")
    rows = events.map_partitions(label_rows, opts, meta=label_rows(EVENTS_META, opts)).persist()
    train = _filter_train(rows[rows["split"] == "train"].drop(columns="split"), opts.min_rows)
    valid = rows[rows["split"] == "valid"].drop(columns="split")
    known_users = train["user_id"].unique().compute().to_numpy()
    known_items = train["product_id"].unique().compute().to_numpy()
    return train, valid[valid["user_id"].isin(known_users) & valid["product_id"].isin(known_items)]


def _write_split(frame, folder: Path, name: str, opts: Options, raw) -> dict:
    """Compute one split (small: labelled rows only), sort it by time and write one parquet file."""
    pdf = frame.compute().sort_values(["event_time_ts", "user_id", "product_id"], kind="stable")
    if pdf.empty:
        when = (f"from {opts.train_start} to before {opts.valid_start}" if name == "train"
                else f"in the validation month {opts.valid_month}")
        raise RawDataError(f"{raw}: no {name} rows survive preparation (need carts {when} by users and items "
                           f"with >= {opts.min_rows} train rows; --valid-month chooses another month)")
    folder.mkdir()
    pdf.reset_index(drop=True).to_parquet(folder / "part.0.parquet", index=False)
    return {"rows": len(pdf), "users": int(pdf["user_id"].nunique()), "items": int(pdf["product_id"].nunique()),
            "positive_rate": round(float(pdf["target"].mean()), 4)}
