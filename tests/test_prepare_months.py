"""`prepare` reads the months one after another and carries open sessions over: the same rows as the all-months path.

The month-by-month path (`prepare._month_by_month`) labels a session once a file without it has been read, so it
holds at most two files' cart/purchase events; the all-months path (`prepare._label_split_filter`, the fallback when
a session comes back after a file without it) shuffles every month's events by user at once. Both must give the
same output, byte for byte.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
from recsys_course.data import prepare as P
from recsys_course.data.formats import HEADER
from recsys_course.data.prepare import Options, prepare

S = ["0000000%d-bbbb-4bbb-8bbb-bbbbbbbbbbbb" % i for i in range(10)]
OPTS = Options.for_valid_month("2020-01", min_rows=1)


def _row(t, kind, product, user, session, price="10.00"):
    return f"{t} UTC,{kind},{product},2053013555631882655,electronics.audio.headphone,sony,{price},{user},{session}"


def _month(raw, name, rows):
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_text("\n".join([HEADER, *rows]) + "\n")


def _digests(out):
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def _both_paths(tmp_path, monkeypatch, opts=OPTS, blocksize="64MB"):
    """(output of the month-by-month path, output of the all-months path, whether the first one fell back)."""
    calls = []
    real = P._label_split_filter

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(P, "_label_split_filter", spy)
    prepare(tmp_path / "raw", tmp_path / "monthly", opts=opts, blocksize=blocksize)
    fell_back = bool(calls)

    def all_months(*args, **kwargs):
        raise P._SessionReturns()

    monkeypatch.setattr(P, "_month_by_month", all_months)
    prepare(tmp_path / "raw", tmp_path / "all", opts=opts, blocksize=blocksize)
    assert calls, "the all-months path did not run"
    return tmp_path / "monthly", tmp_path / "all", fell_back


def _crossing(raw):
    """Sessions across the ends of October and November (one spans three files), and ordinary ones."""
    _month(raw, "2019-Oct.csv", [
        _row("2019-10-05 10:00:00", "cart", 1, 10, S[0]),
        _row("2019-10-31 23:58:00", "cart", 2, 11, S[1]),  # bought after midnight, in the November file
        _row("2019-10-31 23:59:00", "cart", 3, 12, S[2]),  # S[2] runs Oct 31 -> Dec 1
        _row("2019-10-31 23:59:30", "cart", 4, 13, S[3]),  # carted again in November: the first cart counts
    ])
    _month(raw, "2019-Nov.csv", [
        _row("2019-11-01 00:01:00", "purchase", 2, 11, S[1]),
        _row("2019-11-01 00:02:00", "cart", 4, 13, S[3], price="9.00"),
        _row("2019-11-15 12:00:00", "cart", 5, 10, S[4]),
        _row("2019-11-30 23:59:00", "view", 3, 12, S[2]),
        _row("2019-11-30 23:59:59", "cart", 6, 12, S[2]),
    ])
    _month(raw, "2019-Dec.csv", [
        _row("2019-12-01 00:00:30", "purchase", 3, 12, S[2]),  # S[2]'s October cart of 3 is bought
        _row("2019-12-01 00:00:40", "purchase", 6, 12, S[2]),
        _row("2019-12-10 09:00:00", "cart", 7, 14, S[5]),
    ])
    _month(raw, "2020-Jan.csv", [
        _row("2020-01-03 09:00:00", "cart", 2, 13, S[6]),  # known users and items: the validation rows
        _row("2020-01-03 09:00:00", "cart", 4, 11, S[7]),
    ])


def test_a_session_across_month_ends_is_labelled_with_its_later_purchases(tmp_path, monkeypatch):
    _crossing(tmp_path / "raw")
    monthly, all_months, fell_back = _both_paths(tmp_path, monkeypatch)
    assert not fell_back
    train = pd.read_parquet(monthly / "train").set_index("product_id")
    assert train.loc[2, "target"] == 1 and train.loc[3, "target"] == 1 and train.loc[6, "target"] == 1
    assert train.loc[4, "target"] == 0 and train.loc[4, "price"] == 10.0  # the October cart, not November's
    assert train.loc[3, "user_session"] == S[2]
    assert _digests(monthly) == _digests(all_months)


def test_a_session_that_comes_back_after_a_month_without_it_falls_back_to_the_same_rows(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    _crossing(raw)
    with open(raw / "2019-Dec.csv", "a") as f:  # S[0] (October) comes back in December, not in November
        f.write(_row("2019-12-20 10:00:00", "purchase", 1, 10, S[0]) + "\n")
    monthly, all_months, fell_back = _both_paths(tmp_path, monkeypatch)
    assert fell_back
    assert pd.read_parquet(monthly / "train").set_index("product_id").loc[1, "target"] == 1
    assert _digests(monthly) == _digests(all_months)


def test_the_quirk_fixture_and_tiny_give_the_same_bytes_either_way(tmp_path, monkeypatch, tiny_raw):
    import shutil

    from rees46_fixture import write_fixture

    write_fixture(tmp_path / "raw")
    monthly, all_months, fell_back = _both_paths(tmp_path, monkeypatch, Options(min_rows=1), blocksize="64KB")
    assert not fell_back and _digests(monthly) == _digests(all_months)
    monkeypatch.undo()  # the month-by-month path again
    shutil.rmtree(tmp_path / "raw")
    shutil.copytree(tiny_raw, tmp_path / "raw")
    for out in (monthly, all_months):
        shutil.rmtree(out)
    monthly, all_months, fell_back = _both_paths(tmp_path, monkeypatch, Options())
    assert not fell_back and _digests(monthly) == _digests(all_months)


def test_files_are_read_at_most_one_ahead_of_the_labelling(tmp_path, monkeypatch):
    """The memory bound: when a file's events are handed over, no file after the next one has been submitted."""
    from recsys_course.data import rawfiles

    raw = tmp_path / "raw"
    for m, name in enumerate(["2019-Oct.csv", "2019-Nov.csv", "2019-Dec.csv", "2020-Jan.csv", "2020-Feb.csv"]):
        _month(raw, name, [_row(f"{2019 + (m + 9) // 12}-{(m + 9) % 12 + 1:02d}-03 10:00:00", "cart", 1, 1, S[m])])
    submitted = []
    real = rawfiles.file_tasks

    def counting(f, *args, **kwargs):
        submitted.append(f.name)
        return real(f, *args, **kwargs)

    monkeypatch.setattr(rawfiles, "file_tasks", counting)
    files = P.select_files(raw, rawfiles.raw_files(raw), Options.for_valid_month("2020-02", min_rows=1))
    ordered = sorted(files, key=lambda f: rawfiles.month_of(f))
    with P.dask_client() as client:
        for k, events in enumerate(P._read_in_order(client, ordered, "64MB")):
            assert len(submitted) <= k + 2
            when = pd.Timestamp(f"{rawfiles.month_of(ordered[k])}-03 10:00:00")
            assert events["event_time_ts"].tolist() == [when.value // 10**9]
    assert submitted == [f.name for f in ordered]


def test_session_hashes_are_equal_for_equal_strings_wherever_they_sit():
    words = ["a", "ab", "", "ba", "x" * 300, S[0], S[1], "ab"]
    arr = pa.array(words)
    h = P._session_hashes(arr)
    assert h[1] == h[7] and len(set(h[:7].tolist())) == 7
    assert P._session_hashes(arr.slice(5)).tolist() == h[5:].tolist()
    assert P._session_hashes(pa.array(words, type=pa.large_string())).tolist() == h.tolist()
    assert P._session_hashes(arr, chunk=3).tolist() == h.tolist()
    assert P._session_hashes(pa.array([], type=pa.string())).dtype == np.uint64


def test_two_carts_of_a_pair_at_the_same_latest_time_keep_the_later_session(tmp_path, monkeypatch):
    """The tie the month-by-month path resolves by the session strings: the same (user, product) carted at the same
    second in two sessions, the second one's row in the next month's file (files need not be time-disjoint)."""
    raw = tmp_path / "raw"
    _crossing(raw)
    with open(raw / "2019-Oct.csv", "a") as f:
        f.write(_row("2019-10-10 10:00:00", "cart", 8, 20, S[8], price="8.00") + "\n")
    with open(raw / "2019-Nov.csv", "a") as f:
        f.write(_row("2019-10-10 10:00:00", "cart", 8, 20, S[9], price="7.00") + "\n")
    monthly, all_months, fell_back = _both_paths(tmp_path, monkeypatch)
    assert not fell_back
    row = pd.read_parquet(monthly / "train").set_index("product_id").loc[8]
    assert row["user_session"] == S[9] and row["price"] == 7.0
    assert _digests(monthly) == _digests(all_months)
