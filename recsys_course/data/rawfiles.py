"""The raw REES46 monthly files as users have them: finding them, checking them, reading them into Dask.

A download folder may hold Kaggle's plain `2019-Oct.csv` and `2019-Nov.csv` beside REES46's own gzipped
`2019-Dec.csv.gz` … `2020-Apr.csv.gz`, and perhaps Kaggle's `archive.zip` itself. Plain files are read in byte
ranges (`blocksize`); a gzipped file cannot be split, so it is read in chunks of rows by one task. Either way each
piece is validated and reduced to its cart and purchase events at once, so a month is never held in memory.
Every problem stops with the file, the problem and a sample row (`RawDataError`).
"""
from __future__ import annotations

import gzip
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_course.data.formats import COLUMNS, EVENT_TYPES, HEADER, TIME_FORMAT

GZIP_MAGIC = b"\x1f\x8b"
GZ_CHUNK_ROWS = 500_000  # rows of a gzipped file parsed at a time (~0.5 GB of Python strings)
_MONTH_NAME = re.compile(r"^(\d{4})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.csv(\.gz)?$")
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


class RawDataError(ValueError):
    """A raw CSV is not in the REES46 format; the message names the file, the problem and a sample row."""

    def _render_traceback_(self) -> list[str]:  # in Jupyter: the one line that says what to do, not a stack
        return [f"RawDataError: {self}"]


def month_of(path: Path) -> str | None:
    """'2019-10' for `2019-Oct.csv` or `2019-Oct.csv.gz`; None for a name that is not a monthly file name."""
    m = _MONTH_NAME.match(Path(path).name)
    return f"{m.group(1)}-{_MONTHS.index(m.group(2)) + 1:02d}" if m else None


def _refuse_archives(raw: Path, names: set[str]) -> None:
    """A zip whose CSVs are not unpacked beside it (Kaggle's `archive.zip`) stops with the unzip command."""
    for archive in sorted(raw.glob("*.zip")):
        try:
            with zipfile.ZipFile(archive) as z:
                members = [Path(n).name for n in z.namelist() if n.endswith((".csv", ".csv.gz"))]
        except zipfile.BadZipFile:
            raise RawDataError(f"{archive.name}: not a complete zip file (an interrupted download?); "
                               f"download it again or remove it") from None
        missing = [m for m in members if m not in names]
        if missing:
            raise RawDataError(f"{archive.name}: a zip archive holding {', '.join(missing)}; the course reads "
                               f"unpacked files: unzip -n {archive} -d {raw}   (then remove the zip if you like)")


def raw_files(raw: str | Path) -> list[Path]:
    """The `.csv` and `.csv.gz` files of `raw` (not `_sidecars` or hidden files), sorted; zips are refused."""
    raw = Path(raw)
    if not raw.is_dir():
        raise RawDataError(f"{raw}: no such directory of raw CSVs")
    files = sorted(p for p in raw.iterdir()
                   if p.name.endswith((".csv", ".csv.gz")) and not p.name.startswith(("_", ".")))
    _refuse_archives(raw, {p.name for p in files})
    if not files:
        raise RawDataError(f"{raw}: no .csv or .csv.gz files (expected monthly files such as 2019-Oct.csv)")
    return files


def _read_head(path: Path) -> bytes:
    """The first megabyte of text; a file whose name and compression disagree is named."""
    with open(path, "rb") as f:
        magic = f.read(2)
    is_gz = path.name.endswith(".gz")
    if is_gz and magic != GZIP_MAGIC:
        raise RawDataError(f"{path.name}: named .gz but not gzip-compressed; rename it to {path.name[:-3]}")
    if not is_gz and magic == GZIP_MAGIC:
        raise RawDataError(f"{path.name}: gzip-compressed but named .csv; rename it to {path.name}.gz")
    try:
        with (gzip.open(path, "rb") if is_gz else open(path, "rb")) as f:
            return f.read(1 << 20)
    except (OSError, EOFError) as e:
        raise RawDataError(f"{path.name}: cannot be read ({e})") from None


def _head_text(path: Path, head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not merely a multi-byte character cut at the megabyte boundary
            line = head[: e.start].count(b"\n") + 1
            sample = head.splitlines()[line - 1][:200]
            raise RawDataError(f"{path.name}: not UTF-8 text (byte 0x{head[e.start]:02x} on line {line}); "
                               f"sample row: {sample!r}") from None
        return head[: e.start].decode("utf-8")


def check_file(path: Path) -> None:
    """Compression, header, encoding and emptiness of one file, from its first megabyte."""
    head = _read_head(path)
    if not head.strip():
        raise RawDataError(f"{path.name}: the file is empty (expected the header line {HEADER!r} and events)")
    lines = _head_text(path, head).splitlines()  # CRLF line ends split the same way
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


def _checked_ids(df: pd.DataFrame, col: dict) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = {}
    for c in ("product_id", "user_id"):
        ok = pc.utf8_is_digit(col[c])
        _bad(df, _mask(pc.invert(ok)), f"a {c} that is not a non-negative integer")
        ids[c] = pc.cast(col[c], pa.int64()).to_numpy(zero_copy_only=False)
    return ids


def _mask(arr) -> np.ndarray:
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(arr, True).to_numpy(zero_copy_only=False), dtype=bool)


def _checked_time_and_price(df: pd.DataFrame, col: dict) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc

    when = col["event_time"]
    ts = pc.strptime(pc.utf8_slice_codeunits(when, 0, 19), format=TIME_FORMAT, unit="s", error_is_null=True)
    _bad(df, _mask(pc.or_(pc.is_null(ts), pc.invert(pc.equal(pc.utf8_slice_codeunits(when, 19, 30), " UTC")))),
         "an unparsable event_time (expected like '2019-10-01 00:00:04 UTC')")
    price_ok = pc.match_substring_regex(col["price"], r"^-?[0-9]+(\.[0-9]*)?$")
    _bad(df, _mask(pc.invert(price_ok)), "a non-numeric price")
    price = pc.cast(pc.if_else(price_ok, col["price"], "0"), pa.float64()).to_numpy(zero_copy_only=False)
    _bad(df, price < 0, "a negative price")
    return pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False), price


def parse_events(df: pd.DataFrame) -> pd.DataFrame:
    """Validate one piece of raw text and return its cart and purchase events, typed.

    Cart and purchase events with an empty `user_session` are dropped here: a label needs the session.
    The checks run as Arrow compute kernels over the text columns: about 3x faster than pandas' parsers.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    col = {c: pa.array(df[c], type=pa.string(), from_pandas=True) for c in COLUMNS}
    text = [c for c in COLUMNS if pc.any(pc.match_substring(col[c], "\ufffd")).as_py()]
    if text:
        _bad(df, np.logical_or.reduce([_mask(pc.match_substring(col[c], "\ufffd")) for c in text]),
             "bytes that are not UTF-8")
    _bad(df, ~df["event_type"].isin(EVENT_TYPES).to_numpy(), f"an event_type not in {list(EVENT_TYPES)}")
    seconds, price = _checked_time_and_price(df, col)
    ids = _checked_ids(df, col)
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


EVENTS_META = pd.DataFrame({
    "event_time_ts": pd.Series(dtype="int64"), "event_type": pd.Series(dtype=object),
    "product_id": pd.Series(dtype="int64"), "category_code": pd.Series(dtype=object),
    "brand": pd.Series(dtype=object), "price": pd.Series(dtype="float64"),
    "user_id": pd.Series(dtype="int64"), "user_session": pd.Series(dtype=object)})

# Every column as text; an empty field is missing. Bad bytes become U+FFFD, which `parse_events` reports.
_READ = {"dtype": str, "keep_default_na": False, "na_values": [""], "encoding": "utf-8", "encoding_errors": "replace"}


def gz_events(path: str) -> pd.DataFrame:
    """The cart and purchase events of one gzipped file, read `GZ_CHUNK_ROWS` rows at a time."""
    parts = []
    with pd.read_csv(path, compression="gzip", chunksize=GZ_CHUNK_ROWS, **_READ) as reader:
        for chunk in reader:
            chunk["path"] = path
            parts.append(parse_events(chunk))
    return pd.concat(parts, ignore_index=True) if parts else EVENTS_META.copy()


def events_frame(files: list[Path], blocksize: str = "64MB"):
    """A Dask frame of the validated cart and purchase events of `files`, plain and gzipped alike.

    A plain file is one task per byte range (`blocksize`, split after a line end as `dask.dataframe.read_csv`
    splits); a gzipped file is one task that decompresses and parses it a piece at a time.
    """
    import dask.dataframe as dd

    tasks = [task for f in files for task in file_tasks(f, blocksize)]
    return dd.from_delayed(tasks, meta=EVENTS_META, verify_meta=False)


def file_tasks(f: Path, blocksize: str = "64MB", arrow_sessions: bool = False) -> list:
    """The Dask tasks (delayed) that read one file's validated cart and purchase events, in file order: one per
    byte range of a plain file, one for a gzipped file (`arrow_sessions`: see `fastcsv.arrow_events`)."""
    import dask
    from dask.utils import parse_bytes

    from recsys_course.data import fastcsv

    if f.name.endswith(".gz"):
        return [dask.delayed(fastcsv.gz_file_events)(str(f), arrow_sessions)]
    size = parse_bytes(blocksize)
    return [dask.delayed(fastcsv.block_events)(str(f), start, size, arrow_sessions)
            for start in range(0, max(f.stat().st_size, 1), size)]


# ---- a month at a glance, streamed: what notebook 01 shows of a file too large for pandas ----

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class MonthProfile:
    """Counts over one raw file, computed in one streaming pass (a 5 GB month never sits in memory)."""

    name: str
    events: int
    by_type: pd.Series  # events per event_type: view, cart, purchase
    by_hour: pd.Series  # events per hour of the day (UTC)
    by_day: pd.Series  # events per calendar day (index: 'YYYY-MM-DD')
    missing: pd.Series  # share of events with an empty category_code, brand, user_session

    def per_weekday(self) -> pd.DataFrame:
        """Average events per calendar day, by weekday, and how many such days the file has.

        A month has four or five of each weekday, so totals per weekday mostly count days; averages do not.
        """
        weekday = pd.to_datetime(pd.Series(self.by_day.index)).dt.dayofweek.to_numpy()
        days = pd.Series(weekday).value_counts().reindex(range(7), fill_value=0)
        totals = pd.Series(self.by_day.to_numpy()).groupby(weekday).sum().reindex(range(7), fill_value=0)
        out = pd.DataFrame({"days": days.to_numpy(), "events per day": (totals / days.clip(lower=1)).to_numpy()},
                           index=WEEKDAYS)
        return out


def _add(total: pd.Series | None, counts) -> pd.Series:
    s = pd.Series(counts.field("counts").to_numpy(), index=counts.field("values").to_pylist())
    return s if total is None else total.add(s, fill_value=0)


def month_profile(path: str | Path) -> MonthProfile:
    """Event types, hours, days and missing shares of one raw file (plain or gzipped), streamed in blocks."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = Path(path)
    cols = ["event_time", "event_type", "category_code", "brand", "user_session"]
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 26),
                            convert_options=pacsv.ConvertOptions(include_columns=cols, strings_can_be_null=True,
                                                                 column_types={c: pa.string() for c in cols}))
    n, by_type, by_hour, by_day, empty = 0, None, None, None, pd.Series(0, index=cols[2:])
    for batch in reader:
        n += batch.num_rows
        when = batch.column("event_time")
        by_type = _add(by_type, pc.value_counts(batch.column("event_type")))
        by_hour = _add(by_hour, pc.value_counts(pc.utf8_slice_codeunits(when, 11, 13)))
        by_day = _add(by_day, pc.value_counts(pc.utf8_slice_codeunits(when, 0, 10)))
        empty += [batch.column(c).null_count for c in cols[2:]]
    by_hour.index = by_hour.index.astype(int)
    return MonthProfile(path.name, n, by_type.astype("int64"), by_hour.sort_index().astype("int64"),
                        by_day.sort_index().astype("int64"), empty / max(n, 1))
