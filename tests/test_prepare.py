"""Preparation on small hand-made CSVs with known answers, and every kind of bad input."""
from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from recsys_course.data.formats import HEADER
from recsys_course.data.prepare import Options, RawDataError, prepare

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
    _write(tmp_path / "raw", "events.csv", rows)
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
    assert json.loads((tmp_path / "out" / "prepare.json").read_text())["raw_files"] == ["events.csv"]


def test_the_october_label_is_kept_when_there_is_no_later_row(tmp_path):
    rows = [_row("2019-10-02 10:00:05", "cart", 11, 1, S[0]), _row("2019-10-02 10:03:00", "purchase", 11, 1, S[0]),
            _row("2019-10-03 10:00:05", "cart", 12, 2, S[2]), _row("2020-04-02 10:00:05", "cart", 12, 1, S[1])]
    _write(tmp_path / "raw", "events.csv", rows)
    _, train, valid = _run(tmp_path)
    assert train[["user_id", "product_id", "target"]].values.tolist() == [[1, 11, 1], [2, 12, 0]]
    assert valid[["user_id", "product_id", "target"]].values.tolist() == [[1, 12, 0]]


def test_each_user_keeps_the_newest_50_train_rows(tmp_path):
    rows = [_row(f"2019-10-{1 + i // 24:02d} {i % 24:02d}:00:00", "cart", 100 + i, 7, S[0]) for i in range(60)]
    rows += [_row("2019-10-20 00:00:00", "cart", 159, 8, S[1]), _row("2020-04-01 00:00:00", "cart", 150, 8, S[2])]
    _write(tmp_path / "raw", "events.csv", rows)
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
    _write(tmp_path / "raw", "events.csv", rows)
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
    with gzip.open(tmp_path / "raw" / "events.csv.gz", "wt") as f:
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
    _write(tmp_path / "raw", "events.csv", [GOOD])
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
    (raw / "events.csv").write_text(HEADER + "\n" + GOOD.replace(",cart,", ",click,") + "\n")
    r = subprocess.run([sys.executable, "-m", "recsys_course", "prepare", "--raw", str(raw), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.startswith("error: events.csv: 1 row(s) with an event_type not in")
    assert "Traceback" not in r.stderr


# ---- the real files' quirks, one by one, with known answers ----

# Users 8 and 9 make both splits non-empty: train (9, 99), (8, 98); valid (9, 98) - a known user and item.
ANCHOR = [_row("2019-10-01 09:00:00", "cart", 99, 9, S[9]), _row("2019-10-01 09:00:00", "cart", 98, 8, S[8]),
          _row("2020-04-01 09:00:00", "cart", 98, 9, S[9])]


def _prepared_rows(tmp_path, rows, name="events.csv", opts=Options(min_rows=1)):
    """Train and valid rows of users other than the anchor's 8 and 9."""
    _write(tmp_path / "raw", name, rows + ANCHOR)
    _, train, valid = _run(tmp_path, opts)
    return train[train["user_id"] < 8], valid[valid["user_id"] < 8]


def test_shared_second_level_names_and_4_level_codes_are_kept_apart(tmp_path):
    rows = [_row("2019-10-02 10:00:00", "cart", 11, 1, S[0], code="appliances.kitchen.washer"),
            _row("2019-10-02 10:01:00", "cart", 12, 1, S[0], code="furniture.kitchen.table"),
            _row("2019-10-02 10:02:00", "cart", 13, 1, S[0], code="apparel.shoes.sneakers.running")]
    train, _ = _prepared_rows(tmp_path, rows)
    got = {r.product_id: (r.cat_0, r.cat_1, r.cat_2, r.cat_3) for r in train.itertuples()}
    assert got[11] == ("appliances", "kitchen", "washer", "NA")
    assert got[12] == ("furniture", "kitchen", "table", "NA")  # same cat_1 text under another cat_0
    assert got[13] == ("apparel", "shoes", "sneakers", "running")


def test_empty_code_and_brand_become_na_and_price_zero_is_kept(tmp_path):
    rows = [_row("2019-10-02 10:00:00", "cart", 11, 1, S[0], code="", brand="", price="0.00")]
    train, _ = _prepared_rows(tmp_path, rows)
    r = train.iloc[0]
    assert (r.cat_0, r.cat_1, r.cat_2, r.cat_3, r.brand, r.price) == ("NA", "NA", "NA", "NA", "NA", 0.0)


def test_events_with_an_empty_session_are_dropped(tmp_path):
    rows = [_row("2019-10-02 10:00:00", "cart", 11, 1, ""), _row("2019-10-02 10:01:00", "purchase", 11, 1, ""),
            _row("2019-10-02 10:02:00", "cart", 12, 1, S[0])]
    train, _ = _prepared_rows(tmp_path, rows)
    assert train[["product_id", "user_session"]].values.tolist() == [[12, S[0]]]


def test_a_product_keeps_the_category_of_each_event(tmp_path):
    rows = [_row("2019-10-02 10:00:00", "cart", 11, 1, S[0], code="electronics.video.tv"),
            _row("2020-01-05 10:00:00", "cart", 11, 2, S[1], code="electronics.video.projector")]
    train, _ = _prepared_rows(tmp_path, rows)
    assert train.sort_values("user_id")["cat_2"].tolist() == ["tv", "projector"]


def test_rows_out_of_time_order_duplicates_and_crlf(tmp_path):
    rows = [_row("2019-10-02 10:05:00", "purchase", 11, 1, S[0]),  # written before its cart
            _row("2019-10-02 10:00:00", "cart", 11, 1, S[0]),
            _row("2019-10-02 10:00:00", "cart", 11, 1, S[0]),  # exact duplicate
            _row("2019-10-02 10:06:00", "cart", 12, 1, S[0]),
            _row("2019-10-02 10:06:00", "cart", 12, 1, S[0]),
            _row("2019-10-02 10:09:00", "purchase", 12, 1, S[0]),
            _row("2019-10-02 10:09:00", "purchase", 12, 1, S[0])]
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "events.csv").write_bytes(("\r\n".join([HEADER, *rows, *ANCHOR]) + "\r\n").encode())
    _, train, valid = _run(tmp_path)
    mine = train[train["user_id"] == 1]
    assert mine[["product_id", "target"]].values.tolist() == [[11, 1], [12, 1]]
    assert mine["user_session"].tolist() == [S[0], S[0]]  # no '\r' left on the last column
    assert valid[["user_id", "product_id"]].values.tolist() == [[9, 98]]


def _month_file(folder, name, rows, crlf=False):
    folder.mkdir(parents=True, exist_ok=True)
    text = ("\r\n" if crlf else "\n").join([HEADER, *rows]) + ("\r\n" if crlf else "\n")
    if name.endswith(".gz"):
        with gzip.GzipFile(folder / name, "wb", mtime=0) as f:
            f.write(text.encode())
    else:
        (folder / name).write_bytes(text.encode())


def test_plain_and_gzipped_months_in_one_folder(tmp_path):
    raw = tmp_path / "raw"
    _month_file(raw, "2019-Oct.csv", [_row("2019-10-03 10:00:05", "cart", 12, 1, S[2])], crlf=True)
    _month_file(raw, "2019-Nov.csv", [_row("2019-11-03 10:00:05", "cart", 13, 1, S[3])])
    _month_file(raw, "2019-Dec.csv.gz", [_row("2019-12-04 10:00:05", "cart", 11, 2, S[4]),
                                         _row("2019-12-04 10:09:05", "purchase", 11, 2, S[4])])
    _month_file(raw, "2020-Apr.csv.gz", [_row("2020-04-02 10:00:05", "cart", 12, 2, S[5])])
    summary, train, valid = _run(tmp_path)
    assert sorted(train[["user_id", "product_id", "target"]].values.tolist()) == [[1, 12, 0], [1, 13, 0], [2, 11, 1]]
    assert valid[["user_id", "product_id"]].values.tolist() == [[2, 12]]
    assert summary["raw_files"] == ["2019-Dec.csv.gz", "2019-Nov.csv", "2019-Oct.csv", "2020-Apr.csv.gz"]


def test_a_gzipped_month_is_read_in_chunks_and_a_late_bad_row_is_named(tmp_path, monkeypatch):
    from recsys_course.data import rawfiles

    monkeypatch.setattr(rawfiles, "GZ_CHUNK_ROWS", 3)
    raw = tmp_path / "raw"
    rows = [_row(f"2019-12-0{1 + i} 10:00:05", "cart", 11 + i, 1, S[i]) for i in range(7)]
    _month_file(raw, "2019-Dec.csv.gz", rows)
    _month_file(raw, "2020-Apr.csv.gz", [_row("2020-04-02 10:00:05", "cart", 12, 2, S[8])])
    _month_file(raw, "2019-Oct.csv", [_row("2019-10-02 10:00:05", "cart", 11, 2, S[9])])
    _, train, valid = _run(tmp_path)
    assert sorted(train[train["user_id"] == 1]["product_id"]) == list(range(11, 18))  # every chunk's rows arrive
    assert valid[["user_id", "product_id"]].values.tolist() == [[2, 12]]
    _month_file(raw, "2020-Jan.csv.gz", rows[:5] + [rows[5].replace(",cart,", ",click,")])
    with pytest.raises(RawDataError, match=r"^2020-Jan.csv.gz: 1 row\(s\) with an event_type not in.*,click,"):
        prepare(raw, tmp_path / "out2", opts=Options(min_rows=1))


# ---- the split: Kaggle's Oct + Nov, and a missing validation month ----

def _kaggle_only(tmp_path):
    raw = tmp_path / "raw"
    _month_file(raw, "2019-Oct.csv", [_row("2019-10-03 10:00:05", "cart", 12, 1, S[2]),
                                      _row("2019-10-03 10:01:05", "purchase", 12, 1, S[2]),
                                      _row("2019-10-04 10:00:05", "cart", 14, 2, S[4])])
    _month_file(raw, "2019-Nov.csv", [_row("2019-11-03 10:00:05", "cart", 14, 1, S[3]),
                                      _row("2019-11-03 10:00:05", "cart", 13, 1, S[3])])
    return raw


def test_without_april_the_error_lists_the_months_and_the_option(tmp_path):
    raw = _kaggle_only(tmp_path)
    with pytest.raises(RawDataError) as err:
        prepare(raw, tmp_path / "out")
    assert str(err.value) == (f"{raw}: months found: 2019-10, 2019-11; no file for the validation month 2020-04. "
                              "Validate on the last month instead: --valid-month 2019-11")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_kaggle_oct_and_nov_prepare_with_valid_month(tmp_path):
    _kaggle_only(tmp_path)
    summary, train, valid = _run(tmp_path, Options.for_valid_month("2019-11", min_rows=1))
    assert train[["user_id", "product_id", "target"]].values.tolist() == [[1, 12, 1], [2, 14, 0]]
    assert valid[["user_id", "product_id", "target"]].values.tolist() == [[1, 14, 0]]  # 13 is unknown to train
    assert summary["split"]["valid"] == ["2019-11-01", "2019-12-01"]


def test_one_month_cannot_be_split_and_bad_month_text_is_refused(tmp_path):
    raw = tmp_path / "raw"
    _month_file(raw, "2019-Oct.csv", [GOOD])
    with pytest.raises(RawDataError, match=r"months found: 2019-10; no file for the validation month 2020-04\. "
                                           r"A split needs two months"):
        prepare(raw, tmp_path / "out")
    with pytest.raises(ValueError, match="expected a month like 2019-11"):
        Options.for_valid_month("Nov 2019")


def test_months_outside_the_split_are_not_read(tmp_path):
    raw = _kaggle_only(tmp_path)
    _month_file(raw, "2020-Apr.csv.gz", [GOOD.replace(",cart,", ",click,")])  # would fail if it were read
    summary, _, _ = _run(tmp_path, Options.for_valid_month("2019-11", min_rows=1))
    assert summary["raw_files"] == ["2019-Nov.csv", "2019-Oct.csv"]


def test_cli_names_the_valid_month_option(tmp_path):
    import subprocess
    import sys

    raw = _kaggle_only(tmp_path)
    cmd = [sys.executable, "-m", "recsys_course", "prepare", "--raw", str(raw), "--out", str(tmp_path / "o"),
           "--no-etl"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.strip().endswith("--valid-month 2019-11")
    r = subprocess.run(cmd + ["--valid-month", "11/2019"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "expected a month like 2019-11" in r.stderr and "Traceback" not in r.stderr


# ---- archives and names that do not match the content ----

def test_kaggle_archive_zip_is_refused_with_the_unzip_command_unless_unpacked(tmp_path):
    import zipfile

    raw = _kaggle_only(tmp_path)
    with zipfile.ZipFile(raw / "archive.zip", "w") as z:
        z.writestr("2019-Oct.csv", (raw / "2019-Oct.csv").read_text())
        z.writestr("2019-Nov.csv", (raw / "2019-Nov.csv").read_text())
    (raw / "2019-Nov.csv").unlink()
    with pytest.raises(RawDataError, match=rf"^archive.zip: a zip archive holding 2019-Nov.csv; .*"
                                           rf"unzip -n {raw / 'archive.zip'} -d {raw} "):
        prepare(raw, tmp_path / "out")
    _kaggle_only(tmp_path)  # unpacked beside it: the zip is ignored
    _, train, _ = _run(tmp_path, Options.for_valid_month("2019-11", min_rows=1))
    assert len(train) == 2


@pytest.mark.parametrize("name,gz,problem", [
    ("events.csv.gz", False, "named .gz but not gzip-compressed; rename it to events.csv"),
    ("events.csv", True, "gzip-compressed but named .csv; rename it to events.csv.gz"),
])
def test_compression_that_does_not_match_the_name_is_named(tmp_path, name, gz, problem):
    raw = tmp_path / "raw"
    raw.mkdir()
    text = (HEADER + "\n" + GOOD + "\n").encode()
    (raw / name).write_bytes(gzip.compress(text, mtime=0) if gz else text)
    with pytest.raises(RawDataError, match=f"^{name}: {problem}"):
        prepare(raw, tmp_path / "out", opts=Options(min_rows=1))


# ---- a Dask cluster that does not start ----

def test_a_local_cluster_that_does_not_start_says_so_and_what_to_do(tmp_path, monkeypatch, capsys):
    import distributed

    from recsys_course import cli
    from recsys_course.data.prepare import ClusterStartError

    def timeout(*args, **kwargs):  # what Dask raises when its workers do not come up in time
        raise TimeoutError("Timeout")

    monkeypatch.setattr(distributed, "LocalCluster", timeout)
    _write(tmp_path / "raw", "events.csv", [GOOD])
    with pytest.raises(ClusterStartError, match=r"^starting a local Dask cluster \(1 worker, threads in this "
                                                r"process\) failed \(TimeoutError: Timeout\)\. Retry with --workers 1"):
        prepare(tmp_path / "raw", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]  # nothing half-written
    code = cli.main(["prepare", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "o"), "--no-etl",
                     "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: starting a local Dask cluster (2 worker processes) failed")
    assert "--scheduler tcp://HOST:8786" in err and "Traceback" not in err


def test_an_unreachable_scheduler_says_so_and_what_to_do(tmp_path, monkeypatch):
    from recsys_course.data import prepare as prep
    from recsys_course.data.prepare import ClusterStartError

    monkeypatch.setattr(prep, "SCHEDULER_TIMEOUT", "2s")

    _write(tmp_path / "raw", "events.csv", [GOOD])
    with pytest.raises(ClusterStartError, match=r"^connecting to the Dask scheduler at tcp://127.0.0.1:9 failed "
                                                r"\(.*\)\. Check the address"):
        prepare(tmp_path / "raw", tmp_path / "out", scheduler="tcp://127.0.0.1:9")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_the_oracle_refuses_a_sidecar_that_does_not_match(tmp_path, tiny_raw, tiny_prepared):
    import shutil

    from recsys_course.data.oracle import ORACLE_FILE, OracleMismatch, oracle_metrics

    assert oracle_metrics(tiny_raw, tiny_prepared) == json.loads((tiny_prepared / "prepare.json").read_text())["oracle"]
    raw, prepared = tmp_path / "raw", tmp_path / "prepared"
    shutil.copytree(tiny_prepared, prepared)
    raw.mkdir()
    truth = pd.read_parquet(tiny_raw / ORACLE_FILE)
    train = pd.read_parquet(prepared / "train")
    flipped = train.assign(target=train["target"].where(train.index != 0, 1 - train["target"]))
    flipped.to_parquet(prepared / "train" / "part.0.parquet", index=False)
    truth.to_parquet(raw / ORACLE_FILE, index=False)
    with pytest.raises(OracleMismatch, match="does not match the CSVs beside it"):  # a label differs
        oracle_metrics(raw, prepared)
    train.to_parquet(prepared / "train" / "part.0.parquet", index=False)
    key = train.iloc[0][["user_session", "product_id"]]
    truth[~((truth["user_session"] == key["user_session"]) & (truth["product_id"] == key["product_id"]))].to_parquet(
        raw / ORACLE_FILE, index=False)
    with pytest.raises(OracleMismatch):  # a pair is missing
        oracle_metrics(raw, prepared)
    pd.concat([truth, truth.iloc[:1]]).to_parquet(raw / ORACLE_FILE, index=False)
    with pytest.raises(pd.errors.MergeError, match="not unique in right dataset"):  # a pair twice
        oracle_metrics(raw, prepared)


def test_the_arrow_path_reads_what_the_pandas_path_reads_and_hands_it_every_bad_piece(tmp_path):
    import sys

    from recsys_course.data import fastcsv

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from rees46_fixture import write_fixture

    raw = write_fixture(tmp_path / "raw")
    for name in ("2019-Oct.csv", "2019-Nov.csv"):  # CRLF and LF
        path = str(raw / name)
        for start in range(0, (raw / name).stat().st_size, 50_000):
            data = fastcsv._piece(path, start, 50_000)
            fast = fastcsv.arrow_events(data)
            assert fast is not None, (name, start)  # good text takes the fast path
            pd.testing.assert_frame_equal(fast, fastcsv._pandas_events(data, path))
    good = (GOOD + "\n").encode()
    for bad in (GOOD.replace(",cart,", ",click,"), GOOD.replace(" UTC", ""), GOOD.replace(",100.00,", ",1e5,"),
                GOOD.replace(",100.00,", ",-1.00,"), GOOD.replace(",1,0000", ",-1,0000"), GOOD + ",extra",
                GOOD.replace("samsung", "sams\ufffdng"), GOOD.rsplit(",", 2)[0]):
        assert fastcsv.arrow_events(good + (bad + "\n").encode()) is None, bad
    assert fastcsv.arrow_events(good + "x,y\n".encode("latin-1") + b"\xfc\n") is None  # not UTF-8
