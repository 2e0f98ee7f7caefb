"""Preparation on small hand-made CSVs with known answers, and every kind of bad input."""
from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from recsys_course.formats import HEADER
from recsys_course.prepare import Options, RawDataError, prepare

S = ["0000000%d-aaaa-4aaa-8aaa-aaaaaaaaaaaa" % i for i in range(10)]


def _row(t, kind, product, user, session, code="electronics.smartphone", brand="samsung", price="100.00"):
    return f"{t} UTC,{kind},{product},2053013555631882655,{code},{brand},{price},{user},{session}"


def _write(folder, name, rows, header=HEADER):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(header + "\n" + "\n".join(rows) + "\n")


def _run(tmp_path, opts=Options(min_rows=1)):
    summary = prepare(tmp_path / "raw", tmp_path / "out", opts=opts)
    train = pd.read_parquet(tmp_path / "out" / "train")
    valid = pd.read_parquet(tmp_path / "out" / "valid")
    return summary, train, valid


def test_labels_dedup_split_and_columns(tmp_path):
    rows = [
        # session 0 (user 1): cart A then purchase A -> 1; cart B only -> 0; purchase C without cart -> no row;
        # views only of D -> no row; cart A twice counts once.
        _row("2019-10-02 10:00:00", "view", 11, 1, S[0]),
        _row("2019-10-02 10:00:05", "cart", 11, 1, S[0]),
        _row("2019-10-02 10:00:06", "cart", 11, 1, S[0]),
        _row("2019-10-02 10:01:00", "cart", 12, 1, S[0], code="appliances.kitchen.washer.pro", brand=""),
        _row("2019-10-02 10:02:00", "purchase", 13, 1, S[0]),
        _row("2019-10-02 10:02:30", "view", 14, 1, S[0]),
        _row("2019-10-02 10:03:00", "purchase", 11, 1, S[0]),
        # session 1 (user 1, November): cart A again, not bought -> replaces October's row (last per user, product)
        _row("2019-11-05 20:00:00", "cart", 11, 1, S[1], code=""),
        # session 2 (user 2): purchase of E *before* its cart in the session -> 0
        _row("2019-12-01 08:00:00", "purchase", 15, 2, S[2]),
        _row("2019-12-01 08:05:00", "cart", 15, 2, S[2]),
        # user 2 in April: cart B, bought -> valid row
        _row("2020-04-10 12:00:00", "cart", 12, 2, S[3]),
        _row("2020-04-10 12:10:00", "purchase", 12, 2, S[3]),
        # a cart in May is outside the course's time range
        _row("2020-05-02 12:00:00", "cart", 11, 2, S[4]),
    ]
    _write(tmp_path / "raw", "2019-Oct.csv", rows)
    summary, train, valid = _run(tmp_path)
    got = {(r.user_id, r.product_id): r for r in train.itertuples()}
    assert set(got) == {(1, 11), (1, 12), (2, 15)}
    assert got[(1, 11)].target == 0 and got[(1, 11)].cat_0 == "NA"  # the November row won
    assert got[(1, 12)].target == 0
    assert (got[(1, 12)].cat_0, got[(1, 12)].cat_1, got[(1, 12)].cat_2, got[(1, 12)].cat_3) == (
        "appliances", "kitchen", "washer", "pro")
    assert got[(1, 12)].brand == "NA"
    assert got[(2, 15)].target == 0
    assert got[(2, 15)].ts_hour == 8 and got[(2, 15)].ts_weekday == 6  # 2019-12-01 was a Sunday
    assert list(valid[["user_id", "product_id", "target"]].itertuples(index=False)) == [(2, 12, 1)]
    assert summary["train"]["rows"] == 3 and summary["valid"]["rows"] == 1
    assert summary["oracle"] is None  # no generator sidecar beside real-format files
    assert json.loads((tmp_path / "out" / "prepare.json").read_text())["raw_files"] == ["2019-Oct.csv"]


def test_the_october_label_is_kept_when_there_is_no_later_row(tmp_path):
    rows = [_row("2019-10-02 10:00:05", "cart", 11, 1, S[0]), _row("2019-10-02 10:03:00", "purchase", 11, 1, S[0]),
            _row("2019-10-03 10:00:05", "cart", 12, 2, S[2]), _row("2020-04-02 10:00:05", "cart", 12, 1, S[1])]
    _write(tmp_path / "raw", "2019-Oct.csv", rows)
    _, train, valid = _run(tmp_path)
    assert train[["user_id", "product_id", "target"]].values.tolist() == [[1, 11, 1], [2, 12, 0]]
    assert valid[["user_id", "product_id", "target"]].values.tolist() == [[1, 12, 0]]


def test_each_user_keeps_the_newest_50_train_rows(tmp_path):
    rows = [_row(f"2019-10-{1 + i // 24:02d} {i % 24:02d}:00:00", "cart", 100 + i, 7, S[0]) for i in range(60)]
    rows += [_row("2019-10-20 00:00:00", "cart", 159, 8, S[1]), _row("2020-04-01 00:00:00", "cart", 150, 8, S[2])]
    _write(tmp_path / "raw", "2019-Oct.csv", rows)
    _, train, valid = _run(tmp_path)
    mine = train[train["user_id"] == 7]
    assert len(mine) == 50 and mine["product_id"].min() == 110
    assert valid[["user_id", "product_id"]].values.tolist() == [[8, 150]]


def test_filtering_repeats_until_stable_and_valid_keeps_known_users_and_items(tmp_path):
    rows, t = [], 0

    def cart(product, user, month="2019-11"):
        nonlocal t
        t += 1
        rows.append(_row(f"{month}-{1 + t // 1440:02d} {(t // 60) % 24:02d}:{t % 60:02d}:00", "cart", product, user,
                         S[user % 10]))

    # Train (November), min_rows=2. Worked answer:
    #   pass 1: item 12 has one row -> (3, 12) goes; pass 2: user 3 is left with one row -> (3, 10) goes;
    #   pass 3: stable. Users {1, 2, 4}, items {10, 11, 13}.
    for u, items in ((1, (10, 11, 13)), (2, (10, 11, 13)), (4, (10, 11)), (3, (10, 12))):
        for p in items:
            cart(p, u)
    # Valid (April): a known user with a known item stays; an unknown user, a dropped item and a dropped
    # user do not.
    cart(13, 4, month="2020-04")
    cart(10, 9, month="2020-04")
    cart(12, 2, month="2020-04")
    cart(11, 3, month="2020-04")
    _write(tmp_path / "raw", "2019-Nov.csv", rows)
    _, train, valid = _run(tmp_path, Options(min_rows=2))
    assert sorted(map(tuple, train[["user_id", "product_id"]].values.tolist())) == [
        (1, 10), (1, 11), (1, 13), (2, 10), (2, 11), (2, 13), (4, 10), (4, 11)]
    assert valid[["user_id", "product_id"]].values.tolist() == [[4, 13]]


def test_generated_data_prepares_with_a_matching_oracle(tiny_prepared):
    s = json.loads((tiny_prepared / "prepare.json").read_text())
    assert s["train"]["rows"] > 1500 and s["valid"]["rows"] > 200
    assert 0.70 <= s["oracle"]["valid"]["auc"] <= 0.86
    train = pd.read_parquet(tiny_prepared / "train")
    assert train.groupby("user_id").size().min() >= 5 and train.groupby("product_id").size().min() >= 5
    assert train.duplicated(["user_id", "product_id"]).sum() == 0
    assert train["event_time_ts"].max() < pd.Timestamp("2020-04-01").timestamp()
    # The generated taxonomy nests cat_1 in cat_0 (notebook 03's nested-cross lesson depends on it).
    assert train.groupby("cat_1")["cat_0"].nunique().max() == 1


def test_gzip_input_is_accepted(tmp_path):
    rows = [_row("2019-10-02 10:00:05", "cart", 11, 1, S[0]), _row("2020-04-02 10:00:05", "cart", 11, 1, S[1]),
            _row("2019-10-03 10:00:05", "cart", 12, 1, S[2]), _row("2019-10-04 10:00:05", "cart", 11, 2, S[3])]
    (tmp_path / "raw").mkdir()
    with gzip.open(tmp_path / "raw" / "2019-Oct.csv.gz", "wt") as f:
        f.write(HEADER + "\n" + "\n".join(rows) + "\n")
    _, train, valid = _run(tmp_path)
    assert train[["user_id", "product_id"]].values.tolist() == [[1, 12], [2, 11]]  # (1, 11) moved to April
    assert valid[["user_id", "product_id"]].values.tolist() == [[1, 11]]


GOOD = _row("2019-10-02 10:00:05", "cart", 11, 1, S[0])


@pytest.mark.parametrize("name,content,problem", [
    ("missing.csv", HEADER.replace(",brand", "") + "\n" + GOOD.replace(",samsung", "") + "\n",
     r"missing columns \['brand'\]"),
    ("extra.csv", HEADER + ",extra\n" + GOOD + ",1\n", r"extra columns \['extra'\]"),
    ("time.csv", HEADER + "\n" + GOOD + "\n" + GOOD.replace("2019-10-02 10:00:05 UTC", "02/10/2019 10:00") + "\n",
     r"1 row\(s\) with an unparsable event_time.*sample row: 02/10/2019 10:00"),
    ("kind.csv", HEADER + "\n" + GOOD.replace(",cart,", ",remove_from_cart,") + "\n",
     r"event_type not in.*sample row: 2019-10-02 10:00:05 UTC,remove_from_cart"),
    ("negative.csv", HEADER + "\n" + GOOD.replace(",100.00,", ",-5.00,") + "\n", r"negative price.*-5.00"),
    ("text_price.csv", HEADER + "\n" + GOOD.replace(",100.00,", ",free,") + "\n", r"non-numeric price.*,free,"),
    ("user.csv", HEADER + "\n" + GOOD.replace(",1,0000", ",u1,0000") + "\n", r"user_id that is not"),
    ("empty.csv", "", "the file is empty"),
    ("header_only.csv", HEADER + "\n", "has a header but no events"),
])
def test_bad_input_is_named_and_leaves_nothing(tmp_path, name, content, problem):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / name).write_text(content)
    with pytest.raises(RawDataError, match=problem) as err:
        prepare(raw, tmp_path / "out", opts=Options(min_rows=1))
    assert name in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]  # no output, no temporary folder


def test_wrong_encoding_is_named(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "latin.csv").write_bytes((HEADER + "\n" + GOOD.replace("samsung", "sams\u00fcng") + "\n").encode("latin-1"))
    with pytest.raises(RawDataError, match=r"latin.csv: not UTF-8 text \(byte 0xfc on line 2\)"):
        prepare(raw, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_encoding_error_deep_in_a_file_is_named(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = "\n".join([GOOD] * 40000)  # past the first megabyte the header check reads
    (raw / "deep.csv").write_bytes((HEADER + "\n" + good + "\n" + GOOD.replace("samsung", "sams\u00fcng") + "\n")
                                   .encode("latin-1"))
    with pytest.raises(RawDataError, match=r"deep.csv: 1 row\(s\) with bytes that are not UTF-8"):
        prepare(raw, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_no_csv_files_and_existing_output_are_refused(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(RawDataError, match="no .csv or .csv.gz files"):
        prepare(tmp_path / "raw", tmp_path / "out")
    _write(tmp_path / "raw", "2019-Oct.csv", [GOOD])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.parquet").write_text("keep me")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        prepare(tmp_path / "raw", tmp_path / "out")
    assert (tmp_path / "out" / "old.parquet").read_text() == "keep me"


def test_cli_reports_bad_input_in_one_line(tmp_path):
    import subprocess
    import sys

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "2019-Oct.csv").write_text(HEADER + "\n" + GOOD.replace(",cart,", ",click,") + "\n")
    r = subprocess.run([sys.executable, "-m", "recsys_course", "prepare", "--raw", str(raw), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.startswith("error: 2019-Oct.csv: 1 row(s) with an event_type not in")
    assert "Traceback" not in r.stderr
