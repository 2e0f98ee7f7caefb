"""The fast path of reading raw REES46 text: Arrow's multi-threaded CSV parser and vectorised checks.

A piece of a file (a byte range of a plain file, or a piece of a decompressed gzipped one) is parsed by
`pyarrow.csv` and checked with Arrow compute kernels, all at C++ speed; only its cart and purchase events become a
pandas frame. The checks only answer "is every row good?": when one is not (or Arrow cannot parse the piece), the
same piece is read again by the pandas path of `rawfiles` (`parse_events`), which stops with the file, the problem,
the count and a sample row exactly as it always has. Good input gives the same events either way.
"""
from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd

from recsys_course.data.formats import COLUMNS, EVENT_TYPES, TIME_FORMAT

GZ_PIECE_BYTES = 64 << 20  # decompressed bytes of a gzipped file parsed at a time
_REPLACEMENT = "\ufffd".encode()  # what the pandas path turns undecodable bytes into, and reports


def _piece(path: str, start: int, size: int) -> bytes:
    """The lines of `path` for the byte range [start, start + size), split exactly as `dask.dataframe.read_csv`
    splits: from just after the first line end at or after `start` (just after the header line in the first range)
    to just after the first line end at or after `start + size`. Read once, without copies."""
    with open(path, "rb") as f:
        f.seek(start)
        begin = start + len(f.readline())  # the header, or the end of a line that belongs to the range before
        if begin > start + size:
            return b""
        f.seek(start + size)
        end = start + size + len(f.readline())
        f.seek(begin)
        return f.read(end - begin)


def _types() -> dict:
    import pyarrow as pa

    words = pa.dictionary(pa.int32(), pa.string())  # few distinct values: parsed once each
    return {**{c: pa.string() for c in COLUMNS}, "event_type": words, "category_code": words, "brand": words}


def _arrow_table(data: bytes) -> dict:
    """One Arrow array per column but category_id (not used; its bytes are checked as UTF-8 with the rest)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    ascii_only = data.isascii()  # then it is UTF-8, and the parser need not check every string again
    if not ascii_only:
        data.decode("utf-8")  # UnicodeDecodeError: the pandas path names the row
    used = [c for c in COLUMNS if c != "category_id"]
    table = pacsv.read_csv(pa.py_buffer(data), read_options=pacsv.ReadOptions(column_names=COLUMNS),
                           convert_options=pacsv.ConvertOptions(column_types=_types(), strings_can_be_null=True,
                                                                quoted_strings_can_be_null=True,
                                                                include_columns=used, check_utf8=False))
    table = table.unify_dictionaries()
    return {c: table.column(c).combine_chunks() for c in used}


def _all(mask) -> bool:
    """Every value true and none missing."""
    import pyarrow.compute as pc

    return mask.null_count == 0 and bool(pc.all(mask).as_py() is not False)


def shared_words(arr) -> np.ndarray:
    """A dictionary column as an object array (the distinct strings are shared; missing is NaN)."""
    values = np.asarray(arr.dictionary.to_pylist() + [np.nan], dtype=object)
    codes = arr.indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
    return values[codes]


def arrow_events(data: bytes, arrow_sessions: bool = False) -> pd.DataFrame | None:
    """The cart and purchase events of a piece of text without its header, typed as `rawfiles.EVENTS_META` (with
    `arrow_sessions`, `user_session` stays an Arrow string array: no Python string per event); None when a row
    fails any of `rawfiles.parse_events`'s checks or Arrow cannot parse the piece."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if data.find(_REPLACEMENT[:1]) >= 0 and _REPLACEMENT in data:  # a U+FFFD is the pandas path's case
        return None
    try:
        t = _arrow_table(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):  # not UTF-8, a row of the wrong width, ...: the pandas path says
        return None
    kind, when, price = t["event_type"], t["event_time"], t["price"]
    if kind.null_count or not set(kind.dictionary.to_pylist()) <= set(EVENT_TYPES):
        return None
    try:
        ts = pc.strptime(pc.utf8_slice_codeunits(when, 0, 19), format=TIME_FORMAT, unit="s", error_is_null=True)
        checks = [pc.is_valid(ts), pc.equal(pc.utf8_slice_codeunits(when, 19, 30), " UTC"),
                  pc.match_substring_regex(price, r"^[0-9]+(\.[0-9]*)?$"),  # '-5.00' is the pandas path's case
                  pc.utf8_is_digit(t["product_id"]), pc.utf8_is_digit(t["user_id"])]
        if not all(_all(c) for c in checks):
            return None
        keep = pc.and_(pc.is_in(kind.dictionary, pa.array(["cart", "purchase"])).take(kind.indices),
                       pc.is_valid(t["user_session"]))
        t = {c: pc.filter(a, keep) for c, a in {**t, "ts": ts}.items()}
        ids = {c: pc.cast(t[c], pa.int64()).to_numpy(zero_copy_only=False) for c in ("product_id", "user_id")}
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. an id beyond int64
        return None
    return pd.DataFrame({
        "event_time_ts": pc.cast(t["ts"], pa.int64()).to_numpy(zero_copy_only=False),
        "event_type": shared_words(t["event_type"]), "product_id": ids["product_id"],
        "category_code": shared_words(t["category_code"]), "brand": shared_words(t["brand"]),
        "price": pc.cast(t["price"], pa.float64()).to_numpy(zero_copy_only=False), "user_id": ids["user_id"],
        "user_session": (pd.arrays.ArrowStringArray(t["user_session"]) if arrow_sessions else
                         t["user_session"].to_numpy(zero_copy_only=False).astype(object))})


def with_arrow_sessions(events: pd.DataFrame) -> pd.DataFrame:
    """`events` with `user_session` as an Arrow string array (what the pandas path gives is converted)."""
    import pyarrow as pa

    if isinstance(events["user_session"].array, pd.arrays.ArrowStringArray):
        return events
    sessions = pa.array(events["user_session"].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return events.assign(user_session=pd.arrays.ArrowStringArray(sessions))


def _pandas_events(data: bytes, path: str) -> pd.DataFrame:
    """The pandas path on the same text: `rawfiles.parse_events`, which names any problem."""
    from recsys_course.data.rawfiles import _READ, parse_events

    if not data or data.isspace():
        from recsys_course.data.rawfiles import EVENTS_META

        return EVENTS_META.copy()
    df = pd.read_csv(io.BytesIO(data), names=COLUMNS, header=None, **_READ)
    df["path"] = path
    return parse_events(df)


def block_events(path: str, start: int, size: int, arrow_sessions: bool = False) -> pd.DataFrame:
    """The validated cart and purchase events of one byte range of a plain file."""
    data = _piece(path, start, size)
    fast = arrow_events(data, arrow_sessions) if data and not data.isspace() else None
    if fast is not None:
        return fast
    slow = _pandas_events(data, path)
    return with_arrow_sessions(slow) if arrow_sessions else slow


def _gz_pieces(path: str):
    """Decompressed text of a gzipped file in pieces that end at a line end; the header line is left out."""
    with gzip.open(path, "rb") as f:
        f.readline()
        rest = b""
        while True:
            chunk = f.read(GZ_PIECE_BYTES)
            if not chunk:
                if rest:
                    yield rest
                return
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            if cut:
                yield data[:cut]


def gz_file_events(path: str, arrow_sessions: bool = False) -> pd.DataFrame:
    """The validated cart and purchase events of a gzipped file; any problem: the pandas path reads it as before."""
    from recsys_course.data.rawfiles import EVENTS_META, gz_events

    parts = []
    for data in _gz_pieces(path):
        fast = arrow_events(data, arrow_sessions) if data and not data.isspace() else EVENTS_META.copy()
        if fast is None:
            events = gz_events(path)
            return with_arrow_sessions(events) if arrow_sessions else events
        parts.append(fast)
    events = pd.concat(parts, ignore_index=True) if parts else EVENTS_META.copy()
    return with_arrow_sessions(events) if arrow_sessions else events
