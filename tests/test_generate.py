"""The synthetic REES46 files: exact format, realistic statistics, determinism, the planted signal."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_course.data import taxonomy
from recsys_course.data.formats import COLUMNS, HEADER
from recsys_course.config import SCALES, SYNTHETIC_SCALES
from recsys_course.data.generate import generate
from recsys_course.metrics import auc
from recsys_course.data.oracle import META_FILE, ORACLE_FILE

MONTH_FILES = ["2019-Oct.csv", "2019-Nov.csv", "2019-Dec.csv", "2020-Jan.csv", "2020-Feb.csv", "2020-Mar.csv",
               "2020-Apr.csv"]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def _read(raw, name="*"):
    files = sorted(raw.glob(f"{name}.csv*"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def _check_format(raw) -> pd.DataFrame:
    assert sorted(p.name for p in raw.glob("*.csv")) == sorted(MONTH_FILES)
    for f in raw.glob("*.csv"):
        assert f.read_text().split("\n", 1)[0] == HEADER
    df = _read(raw)
    assert list(df.columns) == COLUMNS
    assert df["event_time"].str.fullmatch(r"20(19-1[0-2]|20-0[1-4])-\d\d \d\d:\d\d:\d\d UTC").all()
    assert set(df["event_type"]) == {"view", "cart", "purchase"}
    for col in ("product_id", "user_id"):
        v = df[col].astype(np.int64)
        assert (v > 0).all() and (v < 2**31).all()
    assert df["user_id"].str.len().eq(9).all()
    assert df["category_id"].str.fullmatch(r"\d{19}").all()
    codes = df.loc[df["category_code"] != "", "category_code"]
    assert codes.str.fullmatch(r"[a-z_]+(\.[a-z_]+){1,3}").all()
    brands = df.loc[df["brand"] != "", "brand"]
    assert brands.str.fullmatch(r"[a-z]+").all()
    assert df["price"].str.fullmatch(r"\d+\.\d\d").all()
    assert df["user_session"].str.fullmatch(UUID).all()
    # Each month's file holds that month's events, in time order.
    for f in raw.glob("*.csv"):
        t = pd.read_csv(f, usecols=["event_time"])["event_time"]
        assert t.is_monotonic_increasing
    return df


@pytest.mark.parametrize("scale", SYNTHETIC_SCALES)
def test_raw_format_at_every_scale(tmp_path, scale):
    generate(tmp_path / "raw", scale=scale, seed=3, progress=False, max_sessions=20_000)
    _check_format(tmp_path / "raw")
    meta = json.loads((tmp_path / "raw" / META_FILE).read_text())
    assert meta["scale"]["products"] == SCALES[scale].products


@pytest.fixture(scope="module")
def tiny_events(tiny_raw) -> pd.DataFrame:
    return _check_format(tiny_raw)


def test_statistics_are_within_the_stated_bands(tiny_events):
    df = tiny_events
    kinds = df["event_type"].value_counts()
    assert 0.02 <= kinds["cart"] / kinds["view"] <= 0.05  # view -> cart
    assert 0.30 <= kinds["purchase"] / kinds["cart"] <= 0.80  # cart -> purchase
    per_session = df.groupby("user_session").size()
    assert 4.0 <= per_session.mean() <= 6.0  # ~5 events a session
    views = df[df["event_type"] == "view"]
    same = (views["user_session"].to_numpy()[1:] == views["user_session"].to_numpy()[:-1])
    # consecutive repeats within a session, in session order
    views = views.sort_values(["user_session", "event_time"], kind="stable")
    s, p = views["user_session"].to_numpy(), views["product_id"].to_numpy()
    repeats = ((s[1:] == s[:-1]) & (p[1:] == p[:-1])).sum() / len(views)
    assert 0.22 <= repeats <= 0.34, repeats
    assert same.any()
    assert 0.22 <= (df["category_code"] == "").mean() <= 0.38  # ~30% missing
    assert 0.08 <= (df["brand"] == "").mean() <= 0.22  # ~14% missing
    levels = df.loc[df["category_code"] != "", "category_code"].str.count(r"\.") + 1
    assert levels.isin([2, 3]).mean() > 0.98 and (levels == 4).mean() < 0.01
    price = df["price"].astype(float)
    assert 90 <= price.median() <= 250 and price.max() <= 2600 and price.min() > 0
    # discounts: the same product is seen at more than one price
    assert (df.groupby("product_id")["price"].nunique() > 1).mean() > 0.5


def _gini(counts: np.ndarray) -> float:
    x = np.sort(counts.astype(float))
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


def test_popularity_and_rhythm(tiny_events):
    df = tiny_events
    assert _gini(df.groupby("product_id").size().to_numpy()) >= 0.75  # Zipf items (REES46: ~0.85)
    hours = pd.to_datetime(df["event_time"].str.slice(0, 19)).dt.hour.value_counts(normalize=True).sort_index()
    assert hours.loc[15:18].mean() > 2.5 * hours.loc[0:3].mean()  # daytime peak, quiet nights


def test_same_seed_gives_identical_bytes(tmp_path):
    def digest(d):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}

    generate(tmp_path / "a", "tiny", seed=11, progress=False, max_sessions=5000)
    generate(tmp_path / "b", "tiny", seed=11, progress=False, max_sessions=5000)
    generate(tmp_path / "c", "tiny", seed=12, progress=False, max_sessions=5000)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a")["2019-Oct.csv"] != digest(tmp_path / "c")["2019-Oct.csv"]


def test_parallel_months_write_the_same_bytes(tmp_path, monkeypatch):
    import recsys_course.data.generate as gen

    def digest(d):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}

    generate(tmp_path / "one", "tiny", seed=9, progress=False, max_sessions=4000)
    monkeypatch.setattr(gen, "PARALLEL_FROM_SESSIONS", 0)
    monkeypatch.setattr(gen, "usable_cores", lambda: 2)
    generate(tmp_path / "two", "tiny", seed=9, progress=False, max_sessions=4000)
    assert digest(tmp_path / "one") == digest(tmp_path / "two")


def test_thinning_views_leaves_carts_purchases_and_labels_alone(tmp_path):
    generate(tmp_path / "full", "tiny", seed=5, progress=False, max_sessions=8000)
    generate(tmp_path / "thin", "tiny", seed=5, progress=False, max_sessions=8000, view_fraction=0.2)
    full, thin = _read(tmp_path / "full"), _read(tmp_path / "thin")
    nonview = lambda d: d[d["event_type"] != "view"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(nonview(full), nonview(thin))
    assert 0.15 <= (thin["event_type"] == "view").sum() / (full["event_type"] == "view").sum() <= 0.25
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "full" / ORACLE_FILE),
                                  pd.read_parquet(tmp_path / "thin" / ORACLE_FILE))


def test_gzip_output_is_the_same_data(tmp_path):
    generate(tmp_path / "plain", "tiny", seed=5, progress=False, max_sessions=3000)
    generate(tmp_path / "gz", "tiny", seed=5, progress=False, max_sessions=3000, gzip=True)
    assert sorted(p.name for p in (tmp_path / "gz").glob("*.csv.gz")) == sorted(f + ".gz" for f in MONTH_FILES)
    pd.testing.assert_frame_equal(_read(tmp_path / "plain"), _read(tmp_path / "gz"))


def test_oracle_sidecar_and_band(tiny_raw):
    oracle = pd.read_parquet(tiny_raw / ORACLE_FILE)
    assert not any("p_true" in f.read_text().split("\n", 1)[0] for f in tiny_raw.glob("*.csv"))
    assert oracle["p_true"].between(0, 1).all()
    assert 0.30 <= oracle["purchased"].mean() <= 0.80
    # The truth is informative, but far from deterministic: the course's ceiling.
    assert 0.72 <= auc(oracle["purchased"], oracle["p_true"]) <= 0.80
    # Calibrated: in deciles of p_true, the purchase rate matches the mean p_true.
    deciles = pd.qcut(oracle["p_true"], 10, labels=False)
    calib = oracle.groupby(deciles).agg(p=("p_true", "mean"), y=("purchased", "mean"))
    assert (calib["p"] - calib["y"]).abs().max() < 0.08


def test_planted_cross_is_a_pure_interaction(tiny_raw):
    meta = json.loads((tiny_raw / META_FILE).read_text())
    m = np.array(meta["planted"]["cross_matrix"])
    assert m.shape == (14, 24)
    assert np.abs(m.mean(axis=0)).max() < 1e-3 and np.abs(m.mean(axis=1)).max() < 1e-3
    assert m.std() == pytest.approx(meta["planted"]["cross"], rel=0.01)
    assert meta["planted"]["cross_pair"] == ["cat_0", "ts_hour"]


def test_planted_triple_is_a_pure_three_way_interaction(tiny_raw):
    meta = json.loads((tiny_raw / META_FILE).read_text())["planted"]
    t = np.array(meta["triple_matrix"])
    assert t.shape == (14, 4, 2)  # top category (13 + no code) x hour band x weekend
    assert meta["hour_bands"] == [h // 6 for h in range(24)]
    assert meta["cross_triple"] == ["cat_0", "ts_hour", "ts_weekday"] and meta["triple"] == 0.45


def test_pure_interaction_has_no_lower_order_effect_under_its_weights():
    from recsys_course.data.generate import _pure_interaction

    shares = [np.array([5.0, 1.0, 2.0]), np.array([1.0, 3.0, 3.0, 1.0]), np.array([5.0, 2.0])]
    t = _pure_interaction(np.random.default_rng(0), shares, 0.45)
    w = [s / s.sum() for s in shares]
    weights = w[0][:, None, None] * w[1][None, :, None] * w[2][None, None, :]
    assert np.sqrt((weights * t**2).sum()) == pytest.approx(0.45)
    for axis in range(3):  # averaging over any one feature, as the data does, leaves 0: no pair carries it
        assert np.abs(np.tensordot(t, w[axis], axes=([axis], [0]))).max() < 1e-9


def test_planted_effects_can_be_changed_and_are_recorded(tmp_path):
    from recsys_course.data.generate import PLANTED, Planted, planted_from

    assert planted_from(None) == PLANTED and planted_from(["cross=0", "triple=1.5"]) == Planted(cross=0, triple=1.5)
    assert planted_from({"cross": 0}) == PLANTED.with_values(cross=0.0)
    meta = generate(tmp_path / "off", "tiny", seed=4, progress=False, max_sessions=3000, planted={"triple": 0})
    assert meta["planted"]["triple"] == 0 and not np.any(meta["planted"]["triple_matrix"])
    assert json.loads((tmp_path / "off" / META_FILE).read_text())["planted"]["triple"] == 0
    on = generate(tmp_path / "on", "tiny", seed=4, progress=False, max_sessions=3000)
    # only the labels' probabilities change: the same sessions, views and carts
    assert meta["files"]["2019-Oct.csv"]["carts"] == on["files"]["2019-Oct.csv"]["carts"]
    assert meta["oracle_auc_april_unfiltered"] != on["oracle_auc_april_unfiltered"]


@pytest.mark.parametrize("bad, message", [({"bogus": 1}, "unknown planted effect 'bogus'"),
                                          ({"cross": -1}, "cannot be negative"),
                                          ({"triple": "big"}, "not a finite number"),
                                          (["cross"], "write NAME=VALUE"), (["cross=abc"], "not a number")])
def test_bad_planted_effects_are_refused_and_leave_nothing(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "x", "tiny", progress=False, max_sessions=1000, planted=bad)
    assert not (tmp_path / "x").exists()


def test_the_generate_verb_takes_planted_values(tmp_path, capsys):
    from recsys_course.cli import build_parser

    args = build_parser().parse_args(["generate", "--out", str(tmp_path / "x"), "--planted", "cross=0", "triple=2"])
    assert args.planted == ["cross=0", "triple=2"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--out", str(tmp_path / "x"), "--planted", "crosss=0"])
    assert "unknown planted effect 'crosss'" in capsys.readouterr().err


def test_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    s = np.round(rng.random(300), 1)  # many ties
    pos, neg = s[y], s[~y]
    pairwise = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (pos.size * neg.size)
    assert auc(y, s) == pytest.approx(pairwise)


def test_bad_arguments_are_refused_and_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        generate(tmp_path / "x", scale="huge")
    with pytest.raises(ValueError, match="view_fraction"):
        generate(tmp_path / "x", scale="tiny", view_fraction=0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        generate(tmp_path / "full", scale="tiny")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


# sha256 of `generate(out, "tiny", seed=42)`, recorded with the generator of commit 7d6668e, before `Planted.smooth`
# existed and before the category tree's words were renamed (session 5: levels that belong together): with smooth at
# its default 0, and the category codes mapped back to the old words, the course's data must stay exactly what it was.
BEFORE_SMOOTH = {
    "2019-Dec.csv": "502250d6ee096eedf6e39324d1af24174e959b1541e576c26e7bcf9ee863e908",
    "2019-Nov.csv": "19e8375eab41eb29c89e4ab6ff22dcf7b1023a747c02b1bc3e3a6c47ebeaccfb",
    "2019-Oct.csv": "afcfaff8282987cc7f19d73b85185c074504fe0eb78cdaffeb5243e96254e6bb",
    "2020-Apr.csv": "f43dce8654edb70ceff9030510d978837e642db75a4d379050466f06a9d2786e",
    "2020-Feb.csv": "3b6c0c182d46f66f5157c623e4dbf84cb2383d1a072b032a780d844d457d25f4",
    "2020-Jan.csv": "bac90cb91485f79f5f35102ed65e0035f48f0d81cb42f0f1a5bc7d89942b4d68",
    "2020-Mar.csv": "db6764555011382c8bb027de29e74b419b07098c35d222b283549fe419dee083",
    "_generator.json": "7ef5ed56c2316786583d31eaaacbd17e72f9bfee09365707a71fed88f6bdcc97",
    "_oracle.parquet": "e13f05a3e42eaeeb0f3ed08b83011f3624070a0b2d85fe5504e5c21132c13db9",
}


# The third-level words of commit 7d6668e's taxonomy (dealt round robin like today's), its `kids.swing` and its two
# fourth-level words: the old names, to map today's codes back to them.
OLD_THIRD_WORDS = """headphone acoustic subwoofer tv projector player washer refrigerators oven blender kettle microwave hood
vacuum air_heater fan hair_cutter massager scales keyboard mouse monitor printer cpu videocards memory hdd router sneakers
boots slipons moccasins sofa chair table bed blanket cabinet drill saw welding generator pump light stroller crib puzzle
radar player_audio alarm videoregister compressor gloves helmet glasses bottle dumbbells ball bath toilet faucet shelf
mirror lamp iron_board dishwasher coffee_machine coffee_grinder juicer toster grill steam_cooker meat_grinder mixer
water_heater humidifier conditioner dryer hairdryer shaver epilator toothbrush thermometer tonometer watch strap charger
cable""".split()


def _old_names() -> dict[str, str]:
    """Today's category code -> the code the generator wrote before the renaming (same position in the tree)."""
    codes = taxonomy.category_codes()
    third = [c for c in codes if len(c) == 3]
    assert len(third) == len(OLD_THIRD_WORDS) == taxonomy.N_THIRD
    old = {c: (c[0], "swing" if c[1] == "nursery" else c[1], OLD_THIRD_WORDS[j]) for j, c in enumerate(third)}
    fourth = {"gold": "pro", "silver": "mini"}
    old.update({c: old[c[:3]] + (fourth[c[3]],) for c in codes if len(c) == 4})
    return {".".join(c): ".".join(old.get(c, c)) for c in codes}


def _with_old_names(path: Path, names: dict[str, str]) -> bytes:
    if path.suffix != ".csv":
        return path.read_bytes()
    lines = path.read_text().split("\n")
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(",")
        if len(fields) > 4 and fields[4]:
            fields[4] = names[fields[4]]
            lines[i] = ",".join(fields)
    return "\n".join(lines).encode()


def test_smooth_off_gives_the_same_bytes_as_before_the_term_existed(tmp_path):
    names = _old_names()
    for name, planted in (("default", None), ("explicit", {"smooth": 0})):
        generate(tmp_path / name, "tiny", seed=42, progress=False, planted=planted)
        got = {p.name: hashlib.sha256(_with_old_names(p, names)).hexdigest()
               for p in sorted((tmp_path / name).iterdir())}
        assert got == BEFORE_SMOOTH, name


def test_the_renaming_changed_names_only():
    """Every code keeps its position, top level and depth; cat_2 keeps 88 distinct words; the tree is a tree."""
    names = _old_names()
    assert len(set(names.values())) == len(names) == len(taxonomy.category_codes())
    for new, old in names.items():
        n, o = new.split("."), old.split(".")
        assert len(n) == len(o) and n[0] == o[0], (new, old)
    seconds = {}
    for code in taxonomy.category_codes():
        assert seconds.setdefault(code[1], code[0]) == code[0], f"{code[1]} sits under two top categories"
    assert len({c[2] for c in taxonomy.category_codes() if len(c) >= 3}) == taxonomy.N_THIRD


def test_smooth_term_is_a_pure_three_way_interaction_of_its_size():
    from recsys_course.config import SCALES
    from recsys_course.data.generate import HOUR_PROFILE, _smooth_term, make_catalogue

    cat = make_catalogue(np.random.default_rng(3), SCALES["tiny"])
    top_share = np.bincount(cat.leaf_top[cat.leaf], weights=cat.popularity, minlength=len(cat.tops) + 1)
    t = _smooth_term(np.random.default_rng(5), cat, top_share, 0.8)
    brand_share = np.bincount(np.where(cat.brand >= 0, cat.brand, cat.brand_effect.size), weights=cat.popularity,
                              minlength=cat.brand_effect.size + 1)
    w = [s / s.sum() for s in (brand_share, top_share, HOUR_PROFILE)]
    assert t.shape == (cat.brand_effect.size + 1, len(cat.tops) + 1, 24)
    weights = w[0][:, None, None] * w[1][None, :, None] * w[2][None, None, :]
    assert np.sqrt((weights * t**2).sum()) == pytest.approx(0.8)
    for axis in range(3):  # no pair of the three features carries it
        assert np.abs(np.tensordot(t, w[axis], axes=([axis], [0]))).max() < 1e-9
    hours = t[0, 0]  # smooth in the hour: neighbouring hours differ far less than the term's range
    assert np.abs(np.diff(np.append(hours, hours[0]))).max() < 0.5 * (hours.max() - hours.min())


def test_smooth_on_changes_only_the_labels_and_is_recorded(tmp_path):
    from recsys_course.data.generate import PLANTED_NAMES, SMOOTH_FEATURES

    assert "smooth" in PLANTED_NAMES and SMOOTH_FEATURES == ("brand", "cat_0", "ts_hour")
    off = generate(tmp_path / "off", "tiny", seed=4, progress=False, max_sessions=3000)
    on = generate(tmp_path / "on", "tiny", seed=4, progress=False, max_sessions=3000, planted=["smooth=1.5"])
    assert "smooth" not in off["planted"]
    assert on["planted"]["smooth"] == 1.5 and on["planted"]["smooth_features"] == list(SMOOTH_FEATURES)
    assert json.loads((tmp_path / "on" / META_FILE).read_text())["planted"]["smooth"] == 1.5
    assert off["files"]["2019-Oct.csv"]["carts"] == on["files"]["2019-Oct.csv"]["carts"]
    assert on["oracle_auc_april_unfiltered"] > off["oracle_auc_april_unfiltered"]  # more signal the oracle knows
