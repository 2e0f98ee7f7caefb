"""The 2022 workshop's data preparation, with Dask, for generated and real REES46 CSVs alike.

raw monthly CSVs -> validate -> keep cart/purchase events -> shuffle by user -> label each
(session, product) cart: 1 if the product is purchased later in the session, else 0 -> split
category_code into cat_0..cat_3, fill brand, hour/weekday -> keep the last row per (user, product) ->
time split (train Oct-Mar, valid Apr) -> each user's last 50 rows -> filter train to >=5 rows per
user and per item until stable -> valid keeps known users and items.

Only cart and purchase events (a few percent of a real month) survive the first, streaming step, so a
5 GB month is never held in memory. `scheduler` is a Dask address; None starts a local cluster.
"""
from __future__ import annotations

import calendar
import gzip
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from recsys_course.device import usable_cores
from recsys_course.files import atomic_output
from recsys_course.formats import CAT_LEVELS, COLUMNS, EVENT_TYPES, HEADER, PREPARED_COLUMNS, TIME_FORMAT
from recsys_course.oracle import oracle_metrics



class RawDataError(ValueError):
    """A raw CSV is not in the REES46 format; the message names the file, the problem and a sample row."""


@dataclass(frozen=True)
class Options:
    train_start: str = "2019-10-01"
    valid_start: str = "2020-04-01"
    valid_end: str = "2020-05-01"
    max_rows_per_user: int = 50
    min_rows: int = 5  # per user and per item in train

    def bounds(self) -> tuple[int, int, int]:
        def ts(day: str) -> int:
            return calendar.timegm(pd.Timestamp(day).timetuple())

        return ts(self.train_start), ts(self.valid_start), ts(self.valid_end)


def raw_files(raw: str | Path) -> list[Path]:
    raw = Path(raw)
    if not raw.is_dir():
        raise RawDataError(f"{raw}: no such directory of raw CSVs")
    files = sorted(p for p in raw.iterdir() if p.name.endswith((".csv", ".csv.gz")) and not p.name.startswith("_"))
    if not files:
        raise RawDataError(f"{raw}: no .csv or .csv.gz files (expected monthly files such as 2019-Oct.csv)")
    return files


def _open_text(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def check_file(path: Path) -> None:
    """Header, encoding and emptiness of one file, from its first megabyte."""
    try:
        with _open_text(path) as f:
            head = f.read(1 << 20)
    except (OSError, EOFError) as e:
        raise RawDataError(f"{path.name}: cannot be read ({e})") from None
    if not head.strip():
        raise RawDataError(f"{path.name}: the file is empty (expected the header line {HEADER!r} and events)")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not merely a multi-byte character cut at the megabyte boundary
            line = head[: e.start].count(b"\n") + 1
            sample = head.splitlines()[line - 1][:200]
            raise RawDataError(f"{path.name}: not UTF-8 text (byte 0x{head[e.start]:02x} on line {line}); "
                               f"sample row: {sample!r}") from None
        text = head[: e.start].decode("utf-8")
    lines = text.splitlines()
    header = [c.strip() for c in lines[0].lstrip("\ufeff").split(",")]
    if header != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        extra = [c for c in header if c not in COLUMNS]
        what = "; ".join(x for x in (f"missing columns {missing}" if missing else "",
                                      f"extra columns {extra}" if extra else "") if x) or "columns out of order"
        raise RawDataError(f"{path.name}: header does not match REES46 ({what}); "
                           f"expected {HEADER!r}, found {lines[0][:200]!r}")
    if len(lines) < 2 or not lines[1].strip():
        raise RawDataError(f"{path.name}: the file has a header but no events")


def _bad(df: pd.DataFrame, mask: np.ndarray, problem: str) -> None:
    if mask.any():
        row = df.iloc[int(np.argmax(mask))]
        sample = ",".join("" if pd.isna(row[c]) else str(row[c]) for c in COLUMNS)
        raise RawDataError(f"{Path(str(row['path'])).name}: {int(np.sum(mask))} row(s) with {problem}; "
                           f"sample row: {sample}")


def parse_events(df: pd.DataFrame) -> pd.DataFrame:
    """Validate one partition of raw text and return its cart and purchase events, typed.

    The checks run as Arrow compute kernels over the text columns: about 3x faster than pandas' parsers.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    col = {c: pa.array(df[c], type=pa.string(), from_pandas=True) for c in COLUMNS}

    def mask(arr) -> np.ndarray:
        return np.asarray(pc.fill_null(arr, True).to_numpy(zero_copy_only=False), dtype=bool)

    text = [c for c in COLUMNS if pc.any(pc.match_substring(col[c], "\ufffd")).as_py()]
    if text:
        _bad(df, np.logical_or.reduce([mask(pc.match_substring(col[c], "\ufffd")) for c in text]),
             "bytes that are not UTF-8")
    _bad(df, ~df["event_type"].isin(EVENT_TYPES).to_numpy(), f"an event_type not in {list(EVENT_TYPES)}")
    when = col["event_time"]
    ts = pc.strptime(pc.utf8_slice_codeunits(when, 0, 19), format=TIME_FORMAT, unit="s", error_is_null=True)
    _bad(df, mask(pc.or_(pc.is_null(ts), pc.invert(pc.equal(pc.utf8_slice_codeunits(when, 19, 30), " UTC")))),
         "an unparsable event_time (expected like '2019-10-01 00:00:04 UTC')")
    price_ok = pc.match_substring_regex(col["price"], r"^-?[0-9]+(\.[0-9]*)?$")
    _bad(df, mask(pc.invert(price_ok)), "a non-numeric price")
    price = pc.cast(pc.if_else(price_ok, col["price"], "0"), pa.float64()).to_numpy(zero_copy_only=False)
    _bad(df, price < 0, "a negative price")
    ids = {}
    for c in ("product_id", "user_id"):
        ok = pc.utf8_is_digit(col[c])
        _bad(df, mask(pc.invert(ok)), f"a {c} that is not a non-negative integer")
        ids[c] = pc.cast(col[c], pa.int64()).to_numpy(zero_copy_only=False)
    seconds = pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False)
    keep = (df["event_type"].isin(("cart", "purchase")) & df["user_session"].notna()).to_numpy()
    return pd.DataFrame({
        "event_time_ts": seconds[keep],
        "event_type": df["event_type"].to_numpy()[keep],
        "product_id": ids["product_id"][keep],
        "category_code": df["category_code"].to_numpy()[keep],
        "brand": df["brand"].to_numpy()[keep],
        "price": price[keep],
        "user_id": ids["user_id"][keep],
        "user_session": df["user_session"].to_numpy()[keep],
    })


def label_rows(events: pd.DataFrame, opts: Options) -> pd.DataFrame:
    """Cart/purchase events of a set of users (all events of each user) -> labelled rows with a split."""
    ev = events.sort_values(["event_time_ts", "user_session", "product_id", "event_type"], kind="stable")
    carts = ev[ev["event_type"] == "cart"].drop_duplicates(["user_session", "product_id"], keep="first")
    bought = (ev[ev["event_type"] == "purchase"].groupby(["user_session", "product_id"], sort=False)["event_time_ts"]
              .max().rename("last_purchase_ts"))
    rows = carts.join(bought, on=["user_session", "product_id"])
    rows["target"] = (rows["last_purchase_ts"] >= rows["event_time_ts"]).astype("int8")
    rows = rows.drop_duplicates(["user_id", "product_id"], keep="last")
    start, valid_start, valid_end = opts.bounds()
    rows = rows[(rows["event_time_ts"] >= start) & (rows["event_time_ts"] < valid_end)].copy()
    levels = rows["category_code"].fillna("").astype(str).str.split(".", n=CAT_LEVELS - 1, expand=True)
    for i in range(CAT_LEVELS):
        col = levels[i] if i in levels.columns else pd.Series(None, index=rows.index, dtype=object)
        rows[f"cat_{i}"] = col.replace("", None).fillna("NA").astype(str)
    rows["brand"] = rows["brand"].fillna("NA").astype(str)
    ts = pd.to_datetime(rows["event_time_ts"], unit="s")
    rows["ts_hour"] = ts.dt.hour.astype("int64")
    rows["ts_weekday"] = ts.dt.dayofweek.astype("int64")
    rows["split"] = np.where(rows["event_time_ts"] < valid_start, "train", "valid")
    newest_first = rows.groupby(["user_id", "split"]).cumcount(ascending=False)
    rows = rows[newest_first < opts.max_rows_per_user]
    return rows[PREPARED_COLUMNS + ["split"]].reset_index(drop=True)


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 1) -> Iterator[object]:
    """A client on `scheduler`, or on a local cluster that is closed afterwards."""
    from distributed import Client, LocalCluster

    from recsys_course.quiet import silence_dask

    silence_dask()

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    processes = n_workers > 1
    with LocalCluster(n_workers=n_workers, threads_per_worker=max(1, usable_cores() // n_workers), processes=processes,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _raw_frame(files: list[Path], blocksize: str):
    import dask.dataframe as dd

    return dd.read_csv([str(f) for f in files], dtype=str, keep_default_na=False, na_values=[""],
                       blocksize=None if any(f.name.endswith(".gz") for f in files) else blocksize,
                       include_path_column="path", encoding="utf-8", encoding_errors="replace")


def _filter_train(train, min_rows: int):
    """Drop users and items with fewer than `min_rows` train rows, repeatedly, until none is left."""
    while True:
        users = train["user_id"].value_counts().compute()
        items = train["product_id"].value_counts().compute()
        if (users >= min_rows).all() and (items >= min_rows).all():
            return train
        train = train[train["user_id"].isin(set(users.index[users >= min_rows]))
                      & train["product_id"].isin(set(items.index[items >= min_rows]))].persist()


def prepare(raw: str | Path, out: str | Path, scheduler: str | None = None, opts: Options = Options(),
            blocksize: str = "64MB", n_workers: int = 1) -> dict:
    """Label, split and filter the raw CSVs in `raw`; write `out/{train,valid}` parquet atomically."""
    files = raw_files(raw)
    for f in files:
        check_file(f)
    with atomic_output(out) as tmp:
        with dask_client(scheduler, n_workers):
            train, valid = _label_split_filter(_raw_frame(files, blocksize), opts)
            summary = {name: _write_split(frame, tmp / name, name, opts, raw)
                       for name, frame in (("train", train), ("valid", valid))}
        summary["oracle"] = oracle_metrics(Path(raw), tmp)
        summary["raw_files"] = [f.name for f in files]
        (tmp / "prepare.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


_EVENTS_META = pd.DataFrame({
    "event_time_ts": pd.Series(dtype="int64"), "event_type": pd.Series(dtype=object),
    "product_id": pd.Series(dtype="int64"), "category_code": pd.Series(dtype=object),
    "brand": pd.Series(dtype=object), "price": pd.Series(dtype="float64"),
    "user_id": pd.Series(dtype="int64"), "user_session": pd.Series(dtype=object)})


def _label_split_filter(raw_df, opts: Options):
    """Dask graph: validate and keep carts/purchases, shuffle by user, label, split, filter. (train, valid)."""
    events = raw_df.map_partitions(parse_events, meta=_EVENTS_META)
    events = events.shuffle(on="user_id", npartitions=max(1, raw_df.npartitions // 4), shuffle="tasks")
    rows = events.map_partitions(label_rows, opts, meta=label_rows(_EVENTS_META, opts)).persist()
    train = _filter_train(rows[rows["split"] == "train"].drop(columns="split"), opts.min_rows)
    valid = rows[rows["split"] == "valid"].drop(columns="split")
    known_users = set(train["user_id"].unique().compute())
    known_items = set(train["product_id"].unique().compute())
    return train, valid[valid["user_id"].isin(known_users) & valid["product_id"].isin(known_items)]


def _write_split(frame, folder: Path, name: str, opts: Options, raw) -> dict:
    """Compute one split (small: labelled rows only), sort it by time and write one parquet file."""
    pdf = frame.compute().sort_values(["event_time_ts", "user_id", "product_id"], kind="stable")
    if pdf.empty:
        raise RawDataError(f"{raw}: no {name} rows survive preparation (need carts in "
                           f"{'Oct-Mar' if name == 'train' else 'April'} by users and items with "
                           f">= {opts.min_rows} train rows)")
    folder.mkdir()
    pdf.reset_index(drop=True).to_parquet(folder / "part.0.parquet", index=False)
    return {"rows": len(pdf), "users": int(pdf["user_id"].nunique()), "items": int(pdf["product_id"].nunique()),
            "positive_rate": round(float(pdf["target"].mean()), 4)}
