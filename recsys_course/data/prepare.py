"""The 2022 workshop's data preparation, with Dask, for generated and real REES46 CSVs alike.

raw monthly CSVs (plain or gzipped, see `rawfiles`) -> validate -> keep cart/purchase events -> shuffle by user ->
label each (session, product) cart: 1 if the product is purchased later in the session, else 0 -> split
category_code into cat_0..cat_3, fill brand, hour/weekday -> keep the last row per (user, product) -> time split
(train Oct-Mar, valid Apr by default; `Options.for_valid_month` for another download) -> each user's last 50 rows ->
filter train to >=5 rows per user and per item until stable -> valid keeps known users and items.

Only cart and purchase events (a few percent of a real month) survive the first, streaming step, so a
5 GB month is never held in memory. The files are read one after another (months in time order), each by the Dask
workers while the one before is labelled; a session still open at the end of a month (found in the next file too)
is carried over, so only two months' cart/purchase events are held, whatever the number of months
(`_month_by_month`). What grows with the months is the last labelled cart per (user, product) (`_LastCarts`: in memory only
its ids and times, 32 bytes a cart; its other columns spilled to Arrow files in the output's temporary folder); the output rows are chosen on its ids and times alone, and
only those get their features and Python strings (`_split_rows`). A session that comes back after a month without it is the one case that falls back to
shuffling every month's events by user at once (`_label_split_filter`); both give the same bytes.
`scheduler` is a Dask address; None starts a local cluster.
"""
from __future__ import annotations

import asyncio
import calendar
import json
import re
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from recsys_course.device import usable_cores
from recsys_course.files import atomic_output
from recsys_course.data.formats import CAT_LEVELS, PREPARED_COLUMNS
from recsys_course.data.oracle import oracle_metrics
from recsys_course.data.fastcsv import shared_words
from recsys_course.data.rawfiles import EVENTS_META, RawDataError, check_file, events_frame, month_of, raw_files

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


def _in_order(values) -> np.ndarray:
    """Integer codes that sort as the strings do (Arrow's dense rank: a C++ sort of the strings, codepoint order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    coded = pc.dictionary_encode(_strings(values))  # the distinct sessions
    return pc.rank(coded.dictionary, tiebreaker="dense").take(coded.indices).to_numpy().astype(np.int64)


def _strings(values):
    """A column of strings (a Series, or Arrow arrays) as one Arrow string array (without a copy when it is
    Arrow-backed already)."""
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        data = getattr(values.array, "_pa_array", None) or values.array._data  # pandas 2 / 1.5
        return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    return pa.array(values, type=pa.string(), from_pandas=True)


def _pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per (a, b) pair, equal exactly when both are equal."""
    codes_a, _ = pd.factorize(a)
    codes_b, distinct_b = pd.factorize(b)
    return codes_a.astype(np.int64) * max(len(distinct_b), 1) + codes_b


def _labelled(events: pd.DataFrame, valid_end: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in `events` of the labelled rows, in time order (ties: session, product, cart before purchase;
    stable), and their targets: the first cart of each (session, product), 1 when the product is purchased at or
    after it in the session; the last such row per (user, product), before `valid_end`."""
    order, carts, target = _session_carts(events)
    users = events["user_id"].to_numpy()[order][carts]
    last = ~pd.Series(_pairs(users, events["product_id"].to_numpy()[order][carts])).duplicated(keep="last").to_numpy()
    last &= events["event_time_ts"].to_numpy()[order][carts] < valid_end
    return order[carts][last], target[last]


def _session_carts(events: pd.DataFrame, ties: tuple = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The events' order (time; ties: session, product, cart before purchase, then `ties`), the positions in that
    order of the first cart of each (session, product), and each one's target: 1 when the product is purchased at or
    after it in the session."""
    ts, product = events["event_time_ts"].to_numpy(), events["product_id"].to_numpy()
    purchase = (events["event_type"] == "purchase").to_numpy()
    session = _in_order(events["user_session"])
    order = np.lexsort([*ties, purchase, product, session, ts])
    ts, purchase = ts[order], purchase[order]
    pair = _pairs(session[order], product[order])
    carts = np.flatnonzero(~purchase)
    carts = carts[~pd.Series(pair[carts]).duplicated(keep="first").to_numpy()]
    last_bought = pd.Series(ts[purchase]).groupby(pair[purchase]).max()
    return order, carts, (last_bought.reindex(pair[carts]).to_numpy() >= ts[carts]).astype("int8")


def label_rows(events: pd.DataFrame, opts: Options) -> pd.DataFrame:
    """Cart/purchase events of a set of users (all events of each user) -> labelled rows with a split."""
    at, target = _labelled(events, opts.bounds()[2])
    return _finish_rows(events.iloc[at].assign(target=target), opts)


def _finish_rows(rows: pd.DataFrame, opts: Options) -> pd.DataFrame:
    """Labelled rows (the last per (user, product), before the end of validation), in time order -> the rows from
    the start of train on, with their features, a split, and each user's newest 50 per split."""
    start, valid_start, _ = opts.bounds()
    rows = rows[rows["event_time_ts"].to_numpy() >= start].copy()
    _add_features(rows)
    is_valid = rows["event_time_ts"].to_numpy() >= valid_start
    rows["split"] = np.where(is_valid, "valid", "train")
    rows = rows[_newest_first(rows["user_id"].to_numpy(), is_valid) < opts.max_rows_per_user]
    return rows[PREPARED_COLUMNS + ["split"]].reset_index(drop=True)


def _newest_first(user: np.ndarray, is_valid: np.ndarray) -> np.ndarray:
    """Each row's place among its user's rows of the same split, counted from the newest (rows in time order)."""
    key = _pairs(user, is_valid)
    return pd.Series(key).groupby(key, sort=False).cumcount(ascending=False).to_numpy()


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
        with dask_client(scheduler, n_workers) as client:
            try:
                train, valid = _month_by_month(client, files, blocksize, opts, tmp / ".last_carts")
            except _SessionReturns:  # rare: all months' cart/purchase events at once, shuffled by user
                train, valid = _label_split_filter(events_frame(files, blocksize), opts)
            splits = {"train": train, "valid": valid}
            del train, valid  # each split's frame is let go as it is written (memory: one split's rows at a time)
            summary = {name: _write_split(splits, name, tmp / name, opts, raw) for name in ("train", "valid")}
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


def _write_split(splits: dict, name: str, folder: Path, opts: Options, raw) -> dict:
    """Compute one split (small: labelled rows only), sort it by time and write one parquet file. The split is
    taken out of `splits`, so that its frame is freed once converted to Arrow, before the file is encoded."""
    frame = splits.pop(name)
    pdf = _by_time(frame.compute() if hasattr(frame, "compute") else frame)
    del frame
    if pdf.empty:
        when = (f"from {opts.train_start} to before {opts.valid_start}" if name == "train"
                else f"in the validation month {opts.valid_month}")
        raise RawDataError(f"{raw}: no {name} rows survive preparation (need carts {when} by users and items "
                           f"with >= {opts.min_rows} train rows; --valid-month chooses another month)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    stats = {"rows": len(pdf), "users": int(pdf["user_id"].nunique()), "items": int(pdf["product_id"].nunique()),
             "positive_rate": round(float(pdf["target"].mean()), 4)}
    folder.mkdir()
    table = pa.Table.from_pandas(pdf, preserve_index=False)  # what pdf.to_parquet(index=False) writes, the same
    del pdf  # bytes, without holding the frame and its Arrow copy while the file is encoded
    pq.write_table(table, folder / "part.0.parquet", compression="snappy")
    return stats


def _by_time(pdf: pd.DataFrame) -> pd.DataFrame:
    """`pdf` sorted by time, user, product (stable); itself, not a copy, when it is in that order already."""
    order = np.lexsort([pdf[c].to_numpy() for c in ("product_id", "user_id", "event_time_ts")])
    if np.array_equal(order, np.arange(len(order))):
        return pdf
    return pdf.sort_values(["event_time_ts", "user_id", "product_id"], kind="stable", ignore_index=True)


# ---- month by month: memory bounded by a month's events, not by the number of months ----

_SEQ_FILE, _SEQ_BLOCK = 52, 32  # the bits of `_seq` that hold the file's and the byte range's number


def _first_carts(events: pd.DataFrame) -> pd.DataFrame:
    """The labelled carts of complete sessions (every event of each of their sessions is in `events`): the first
    cart of each (session, product) in time order (ties: session, product, cart before purchase, `_seq`: the order
    of the raw text), with `target` 1 when the product is purchased at or after it in the session."""
    order, carts, target = _session_carts(events, (events["_seq"].to_numpy(),))
    kept = [i for i, c in enumerate(events.columns) if c not in ("event_type", "_seq")]  # all carts; _seq is done
    return events.iloc[order[carts], kept].assign(target=target)


_HASH_WEIGHTS = np.random.default_rng(20).integers(1, 2**63, size=256, dtype=np.uint64) * 2 + 1  # odd


def _session_hashes(sessions, chunk: int = 1 << 18) -> np.ndarray:
    """A 64-bit hash of each string of an Arrow string array, vectorised (no Python strings): its bytes laid out in
    zero-padded 8-byte words, the sum of word x weight[word's position] (mod 2**64, the weights random and odd), plus
    the length. Equal strings hash equal; a collision of two different ones is astronomically rare and only costs a
    fallback. Strings of one length (the sessions' UUIDs) are laid out by one reshape, others byte by byte."""
    import pyarrow as pa

    sessions = sessions.cast(pa.large_string())
    if sessions.offset:
        sessions = pa.concat_arrays([sessions])  # offsets from 0
    n = len(sessions)
    offsets = np.frombuffer(sessions.buffers()[1], dtype=np.int64)[:n + 1]
    data = np.frombuffer(sessions.buffers()[2], dtype=np.uint8) if n and offsets[-1] else np.zeros(0, np.uint8)
    lengths = offsets[1:] - offsets[:-1]
    out = lengths.astype(np.uint64)
    words = -(-int(lengths.max(initial=0)) // 8)  # the longest string's 8-byte words
    weights = np.resize(_HASH_WEIGHTS, max(words, 1))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        starts, lens = offsets[lo:hi], lengths[lo:hi]
        begin, end = int(starts[0]), int(offsets[hi])
        if end == begin:
            continue
        grid = np.zeros((hi - lo, 8 * words), dtype=np.uint8)
        if (lens == lens[0]).all():
            grid[:, :lens[0]] = data[begin:end].reshape(hi - lo, int(lens[0]))
        else:
            grid[np.repeat(np.arange(hi - lo), lens), np.arange(end - begin) - np.repeat(starts - begin, lens)] = \
                data[begin:end]
        out[lo:hi] += (grid.view(np.uint64) * weights).sum(axis=1, dtype=np.uint64)  # wraps: mod 2**64
    return out


class _SessionReturns(Exception):
    """A session's events came back in a file after a file without it: its earlier events were already labelled."""


def _read_in_order(client, files: list[Path], blocksize: str) -> Iterator[pd.DataFrame]:
    """Each file's cart and purchase events (with `_seq`), in the order of `files`, read by the Dask workers one
    file ahead of the caller (so at most two files' events are in memory)."""
    from recsys_course.data.rawfiles import file_tasks

    def submit(f: Path):
        return client.compute(file_tasks(f, blocksize, arrow_sessions=True))

    index = {f: i for i, f in enumerate(sorted(files))}  # the old path's row order: files sorted by name
    ahead = submit(files[0]) if files else None
    for k, f in enumerate(files):
        futures, ahead = ahead, submit(files[k + 1]) if k + 1 < len(files) else None
        parts = []
        for b, part in enumerate(client.gather(futures)):
            parts.append(part.assign(_seq=(np.int64(index[f]) << _SEQ_FILE) + (np.int64(b) << _SEQ_BLOCK)
                                     + np.arange(len(part), dtype=np.int64)))
        del futures
        yield pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _month_by_month(client, files: list[Path], blocksize: str, opts: Options,
                    spill: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, valid) as `_label_split_filter` gives them, reading the files one after another (months in time
    order) and labelling each session once all its events are read: a session still open at the end of a file
    (its events found in the next file too, e.g. one across midnight at the end of a month) is carried over to
    the next file. Only two files' cart/purchase events and the last labelled cart per (user, product) are held.
    A session that comes back after a file without it raises `_SessionReturns` (the caller falls back)."""
    ordered = sorted(files, key=lambda f: (month_of(f) or "", f.name))
    spill.mkdir()
    pending, done_hashes, last = None, np.zeros(0, dtype=np.uint64), _LastCarts(spill)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        for events in _read_in_order(client, ordered, blocksize):
            fresh = pc.unique(_strings(events["user_session"]))
            if pending is not None:
                if len(done_hashes) and np.isin(_session_hashes(fresh), done_hashes).any():
                    raise _SessionReturns()
                sessions = _strings(pending["user_session"])
                open_ = pc.is_in(sessions, value_set=fresh).to_numpy(zero_copy_only=False)
                done_hashes = np.union1d(done_hashes, _session_hashes(pc.unique(sessions.filter(pa.array(~open_)))))
                complete, carried = (pending[~open_], pending[open_]) if open_.any() else (pending, pending.iloc[:0])
                del pending, sessions  # the file's events are held once: complete or carried over
                last.add(_first_carts(complete))
                del complete
                events = pd.concat([carried, events], ignore_index=True) if len(carried) else events
            pending = events
        last.add(_first_carts(pending))  # one row per (user, product), in no particular order
        del pending, events
        return _split_rows(last, opts)
    finally:  # the spilled columns are read: they never reach the output
        shutil.rmtree(spill, ignore_errors=True)


class _LastCarts:
    """The last labelled cart of each (user, product) so far, one part per file. A part's pair and time (user,
    product, time: 24 bytes a row) stay in memory; its other columns are written once to `spill` (Arrow files,
    a file per column) and read back only for the rows that tie on time and for the rows that reach the output.
    `add` drops the rows a newer cart replaces from the keys alone, so memory grows with the months by 32 bytes a
    kept cart (its keys and its row in the part's files), not by the carts' strings."""

    KEYS = ("user_id", "product_id", "event_time_ts")

    def __init__(self, spill: Path):
        self.spill, self.keys, self.rows, self.parts = spill, [], [], []

    def column(self, name: str) -> np.ndarray:
        """A key column (KEYS) of every kept row, parts in order."""
        return np.concatenate([k[name] for k in self.keys]) if self.keys else np.zeros(0, np.int64)

    def add(self, carts: pd.DataFrame) -> None:
        """Merge `carts` (labelled carts of complete sessions): keep the last row of each pair."""
        import pyarrow as pa
        import pyarrow.feather as feather

        if len(carts):
            part = self.spill / f"part{len(self.parts)}"
            for c in carts.columns.drop(list(self.KEYS)):
                values = _strings(carts[c]) if c == "user_session" else pa.array(carts[c].to_numpy(), from_pandas=True)
                if c in ("category_code", "brand"):
                    values = values.dictionary_encode()  # few distinct strings: `values` reads them back shared
                feather.write_feather(pa.table({c: values}), f"{part}.{c}.arrow", compression="uncompressed")
            self.parts.append(part)
            self.keys.append({k: carts[k].to_numpy() for k in self.KEYS})
            self.rows.append(np.arange(len(carts), dtype=np.int64))
        keep, start = self._last_rows(), 0
        for i, rows in enumerate(self.rows):
            kept, start = keep[start:start + len(rows)], start + len(rows)
            if not kept.all():
                self.rows[i], self.keys[i] = rows[kept], {k: v[kept] for k, v in self.keys[i].items()}

    def values(self, names: tuple[str, ...], at: np.ndarray) -> dict:
        """Columns `names` (not keys) at the positions `at` (into `column`'s order), in `at`'s order, each as it was
        spilled: strings (user_session) as an Arrow array, dictionary columns (category_code, brand) as object arrays
        of shared strings (missing: NaN), numbers as numpy arrays. Each part's files are read once, while its rows are
        taken; the positions are grouped by part once for all `names`."""
        import pyarrow as pa
        import pyarrow.feather as feather

        bounds = np.cumsum([0] + [len(r) for r in self.rows])
        part = np.searchsorted(bounds, at, side="right") - 1
        order = np.argsort(part, kind="stable")
        taken = {name: [] for name in names}
        for i in np.unique(part):
            local = pa.array(self.rows[i][at[order[part[order] == i]] - bounds[i]])
            for name in names:
                got = feather.read_table(f"{self.parts[i]}.{name}.arrow", memory_map=False)[name].take(local)
                got = got.combine_chunks()
                taken[name].append(shared_words(got) if pa.types.is_dictionary(got.type) else got
                                   if pa.types.is_string(got.type) or pa.types.is_large_string(got.type)
                                   else got.to_numpy(zero_copy_only=False))
        inverse = np.argsort(order)  # back from part order to `at`'s
        return {name: _in_positions(chunks, inverse) for name, chunks in taken.items()}

    def _last_rows(self) -> np.ndarray:
        """Which rows are the last of their (user, product): latest time; ties: the greatest session (string
        order, ranked among the tied rows alone)."""
        user, product, ts = (self.column(c) for c in self.KEYS)
        order = np.lexsort([ts, product, user])
        tied = _tied(order, user, product, ts)
        if len(tied):
            session = np.zeros(len(order), dtype=np.int64)
            session[tied] = _in_order(self.values(("user_session",), tied)["user_session"])
            order = np.lexsort([session, ts, product, user])
        keep = np.zeros(len(order), dtype=bool)
        keep[order[np.r_[~_same(order, user, product), True][:len(order)]]] = True  # each pair's last
        return keep


def _in_positions(chunks: list, inverse: np.ndarray):
    """Pieces taken part by part (numpy arrays, or Arrow string arrays), joined and put back in `inverse`'s order."""
    import pyarrow as pa

    if not chunks:
        return np.zeros(0)
    if isinstance(chunks[0], np.ndarray):
        return np.concatenate(chunks)[inverse]
    if len({c.type for c in chunks}) > 1:  # string and large_string parts
        chunks = [c.cast(pa.large_string()) for c in chunks]
    return pa.concat_arrays(chunks).take(pa.array(inverse))


def _same(order: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """For each row of `order` but the last: whether the next one has the same `keys`."""
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for key in keys:
        key = key[order]
        same &= key[1:] == key[:-1]
    return same


def _tied(order: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """The rows (of `order`) that share all `keys` with a neighbour in `order`."""
    same, both = _same(order, *keys), np.zeros(len(order), dtype=bool)
    both[1:] |= same
    both[:-1] |= same
    return order[both]


def _split_rows(last: _LastCarts, opts: Options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, valid) from the last labelled cart per (user, product): `_finish_rows`, the train filter and valid's
    known users and items, chosen on the id and time columns alone (positions into `last`); only the rows that
    reach the output get their features, each split already in `_write_split`'s order."""
    start, valid_start, valid_end = opts.bounds()
    ts, user, product = (last.column(c) for c in ("event_time_ts", "user_id", "product_id"))
    at = _each_user_in_time_order(last, np.flatnonzero((ts >= start) & (ts < valid_end)), user, ts, product)
    is_valid = ts[at] >= valid_start
    kept = _newest_first(user[at], is_valid) < opts.max_rows_per_user
    at, is_valid = at[kept], is_valid[kept]
    train = _kept_train(at[~is_valid], user, product, opts.min_rows)
    valid = at[is_valid]
    valid = valid[np.isin(user[valid], np.unique(user[train])) & np.isin(product[valid], np.unique(product[train]))]
    return tuple(_output_rows(last, np.sort(rows), ts, user, product) for rows in (train, valid))


def _each_user_in_time_order(last: _LastCarts, at: np.ndarray, user: np.ndarray, ts: np.ndarray,
                             product: np.ndarray) -> np.ndarray:
    """The positions `at` by user, each user's rows in time order (ties: session, product; the old table's time
    order): the session strings are ranked only for the rows of a user that share a second (a subset keeps their
    order). `user`, `ts`, `product`: the table's columns."""
    user, ts, product = user[at], ts[at], product[at]
    order = np.lexsort([product, ts, user])
    tied = _tied(order, user, ts)
    if not len(tied):
        return at[order]
    session = np.zeros(len(at), dtype=np.int64)
    session[tied] = _in_order(last.values(("user_session",), at[tied])["user_session"])
    return at[np.lexsort([product, session, ts, user])]


def _kept_train(at: np.ndarray, user: np.ndarray, product: np.ndarray, min_rows: int) -> np.ndarray:
    """`_filter_train` on positions: those of `at` whose user and product keep >= `min_rows` rows, until stable."""
    while True:
        users, items = pd.Series(user[at]).value_counts(), pd.Series(product[at]).value_counts()
        if (users >= min_rows).all() and (items >= min_rows).all():
            return at
        at = at[np.isin(user[at], users.index[users >= min_rows].to_numpy())
                & np.isin(product[at], items.index[items >= min_rows].to_numpy())]


def _output_rows(last: _LastCarts, at: np.ndarray, ts: np.ndarray, user: np.ndarray,
                 product: np.ndarray) -> pd.DataFrame:
    """The rows of `last` at the positions `at` as `_finish_rows` gives them, without the split, sorted as
    `_write_split` sorts (time, user, product: unique, one row per pair), `user_session` as str. `ts`, `user`,
    `product`: the table's columns."""
    at = at[np.lexsort([product[at], user[at], ts[at]])]
    got = last.values(("category_code", "brand", "price", "target", "user_session"), at)
    rows = pd.DataFrame({"event_time_ts": ts[at], "category_code": got.pop("category_code"), "brand": got.pop("brand")})
    _add_features(rows)
    got.update(user_id=user[at], product_id=product[at], user_session=got.pop("user_session").to_numpy(zero_copy_only=False))
    # put together without a copy (the output's largest frame: the seven real-size months' peak memory)
    return pd.DataFrame({c: got.pop(c) if c in got else rows.pop(c) for c in PREPARED_COLUMNS}, copy=False)
