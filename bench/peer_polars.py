"""The peer of `prepare`: a plain single-process Polars script of the same labelling, timed side by side.

    python bench/peer_polars.py compare --raw data/small/raw --name small [--rounds 3]
    python bench/peer_polars.py compare --raw DIR --name real_month --valid-start 2019-10-25 --valid-end 2019-11-01
    python bench/peer_polars.py run --raw DIR --out OUT [...]      # what `compare` times (one process)

The rule is the course's (recsys_course/data/prepare.py): cart and purchase events with a session; in time order (ties:
session, product, cart before purchase, file order) the first cart of each (session, product) is labelled 1 when the
product is purchased at or after it in the session; the last row per (user, product); the time split; each user's
newest 50 rows per split; train filtered to >= 5 rows per user and per item until stable; valid keeps known users
and items. What the peer does NOT do, and `prepare` does: check every row of the raw text (event types, times,
prices, ids, UTF-8) and name a bad one, read gzipped months piece by piece, run on a Dask cluster, write atomically,
score the generator's oracle. `compare` runs the two as separate processes, alternating, `rounds` times each, checks
that their rows are the same and writes bench/prepare_peer.json (median wall time of each, their ratio, peak
memory, and the CPU share of other work on the machine during the run). Polars is a bench-only dependency
(bench/requirements.txt); the course does not import it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = HERE / "prepare_peer.json"
COLUMNS = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session".split(",")
OUT_COLUMNS = ["user_id", "product_id", "cat_0", "cat_1", "cat_2", "cat_3", "brand", "price", "event_time_ts",
               "ts_hour", "ts_weekday", "user_session", "target"]


def _seconds(day: str) -> int:
    import calendar
    import datetime as dt

    return calendar.timegm(dt.datetime.strptime(day, "%Y-%m-%d").timetuple())


def label(files: list[Path], train_start: str, valid_start: str, valid_end: str, max_rows: int = 50):
    """Labelled, split rows (a Polars frame with a boolean `valid`)."""
    import polars as pl

    start, vstart, vend = _seconds(train_start), _seconds(valid_start), _seconds(valid_end)
    scans = [pl.scan_csv(f, schema={c: pl.String for c in COLUMNS}) for f in files]
    keys = ["user_session", "product_id"]
    ev = (pl.concat(scans).with_row_index("_i")
          .filter(pl.col("event_type").is_in(["cart", "purchase"]) & pl.col("user_session").is_not_null())
          .with_columns(pl.col("event_time").str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S")
                        .dt.epoch("s").alias("event_time_ts"),
                        pl.col("product_id").cast(pl.Int64), pl.col("user_id").cast(pl.Int64),
                        pl.col("price").cast(pl.Float64))
          .sort(["event_time_ts", "user_session", "product_id", "event_type", "_i"]))
    carts = ev.filter(pl.col("event_type") == "cart").unique(keys, keep="first", maintain_order=True)
    bought = ev.filter(pl.col("event_type") == "purchase").group_by(keys).agg(
        pl.col("event_time_ts").max().alias("last_purchase_ts"))
    rows = (carts.join(bought, on=keys, how="left", maintain_order="left")
            .with_columns((pl.col("last_purchase_ts") >= pl.col("event_time_ts")).fill_null(False).cast(pl.Int8)
                          .alias("target"))
            .unique(["user_id", "product_id"], keep="last", maintain_order=True)
            .filter((pl.col("event_time_ts") >= start) & (pl.col("event_time_ts") < vend)))
    parts = pl.col("category_code").fill_null("").str.splitn(".", 4)
    na = lambda e: pl.when(e.is_null() | (e == "")).then(pl.lit("NA")).otherwise(e)  # noqa: E731
    ts = pl.col("event_time_ts")
    rows = rows.with_columns(
        *[na(parts.struct.field(f"field_{i}")).alias(f"cat_{i}") for i in range(4)],
        pl.col("brand").fill_null("NA"), ((ts // 3600) % 24).alias("ts_hour"),
        ((ts // 86400 + 3) % 7).alias("ts_weekday"), (ts >= vstart).alias("valid"))
    rank = pl.int_range(pl.len()).over(["user_id", "valid"])
    newest = pl.len().over(["user_id", "valid"]) - 1 - rank
    return rows.filter(newest < max_rows).select(OUT_COLUMNS + ["valid"]).collect()


def split_filter(rows, min_rows: int = 5):
    """(train, valid) in the course's order: train filtered until stable, valid of known users and items."""
    import polars as pl

    train, valid = rows.filter(~pl.col("valid")).drop("valid"), rows.filter(pl.col("valid")).drop("valid")
    while True:
        users = train.group_by("user_id").len().filter(pl.col("len") >= min_rows)["user_id"]
        items = train.group_by("product_id").len().filter(pl.col("len") >= min_rows)["product_id"]
        kept = train.filter(pl.col("user_id").is_in(users.implode()) & pl.col("product_id").is_in(items.implode()))
        if kept.height == train.height:
            break
        train = kept
    valid = valid.filter(pl.col("user_id").is_in(train["user_id"].unique().implode())
                         & pl.col("product_id").is_in(train["product_id"].unique().implode()))
    order = ["event_time_ts", "user_id", "product_id"]
    return train.sort(order, maintain_order=True), valid.sort(order, maintain_order=True)


def run(raw: Path, out: Path, train_start: str, valid_start: str, valid_end: str) -> dict:
    files = sorted(p for p in raw.iterdir() if p.name.endswith(".csv") and not p.name.startswith(("_", ".")))
    train, valid = split_filter(label(files, train_start, valid_start, valid_end))
    for name, frame in (("train", train), ("valid", valid)):
        (out / name).mkdir(parents=True)
        frame.write_parquet(out / name / "part.0.parquet")
    return {"train": {"rows": train.height}, "valid": {"rows": valid.height}}


_COURSE = """
import json, sys
from recsys_course.data.prepare import Options, prepare
raw, out, a, b, c = sys.argv[1:6]
print(json.dumps(prepare(raw, out, opts=Options(train_start=a, valid_start=b, valid_end=c))))
"""


def _timed(cmd: list[str]) -> dict:
    """Whole-process wall time and peak resident memory (GNU time -v) of one command."""
    from real_month import _time_v

    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    fig = _time_v(proc.stderr)
    return {"seconds": round(wall, 2), "max_rss_gb": fig["max_rss_gb"], "cpu_seconds": fig["cpu_seconds"]}


def same_rows(course: Path, peer: Path) -> dict:
    """Whether the two outputs hold the same rows, column by column (values; the peer's dtypes are its own)."""
    import pandas as pd

    verdict = {}
    for split in ("train", "valid"):
        a = pd.read_parquet(course / split)[OUT_COLUMNS]
        b = pd.read_parquet(peer / split)[OUT_COLUMNS].astype(a.dtypes.to_dict())
        verdict[split] = {"course_rows": len(a), "peer_rows": len(b), "same": bool(a.equals(b))}
    return verdict


def compare(raw: Path, name: str, rounds: int, split: tuple[str, str, str]) -> dict:
    from measure import OthersCPU

    work = Path(tempfile.mkdtemp(prefix=f"peer_{name}_"))  # not beside raw: a shared data folder is read only
    course_t, peer_t, check = [], [], None
    try:
        with OthersCPU() as others:
            for i in range(rounds):  # alternating: the machine's load falls on both alike
                for who, times in (("course", course_t), ("peer", peer_t)):
                    out = work / f"{who}{i}"
                    cmd = ([sys.executable, "-c", _COURSE, str(raw), str(out), *split] if who == "course" else
                           [sys.executable, str(Path(__file__).resolve()), "run", "--raw", str(raw), "--out",
                            str(out), "--train-start", split[0], "--valid-start", split[1], "--valid-end", split[2]])
                    times.append(_timed(cmd))
                if check is None:
                    check = same_rows(work / "course0", work / "peer0")
                for who in ("course", "peer"):
                    shutil.rmtree(work / f"{who}{i}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {who: statistics.median(t["seconds"] for t in times) for who, times in (("course", course_t),
                                                                                   ("peer", peer_t))}
    events = sum(sum(1 for _ in open(f, "rb")) - 1 for f in sorted(raw.glob("*.csv")) if not f.name.startswith("_"))
    return {"name": name, "raw": str(raw), "events": events, "rounds": rounds, "split": list(split),
            "course": course_t, "peer": peer_t, "course_median_s": med["course"], "peer_median_s": med["peer"],
            "ratio": round(med["course"] / med["peer"], 2), "same_rows": check,
            "others_cpu_share": round(others.share, 2), "cores": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("run", "compare"))
    p.add_argument("--raw", type=Path, required=True)
    p.add_argument("--out", type=Path)
    p.add_argument("--name", default="small")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--train-start", default="2019-10-01")
    p.add_argument("--valid-start", default="2020-04-01")
    p.add_argument("--valid-end", default="2020-05-01")
    args = p.parse_args(argv)
    split = (args.train_start, args.valid_start, args.valid_end)
    if args.step == "run":
        print(json.dumps(run(args.raw, args.out, *split)))
        return 0
    result = compare(args.raw, args.name, args.rounds, split)
    results = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    results[args.name] = result
    RESULT.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
