"""One month at the real Kaggle size, prepared on this machine: time, peak memory, raw events/s -> real_month.json.

    python bench/real_month.py generate --out DIR [--events 42000000]   # ~5 GB: 2019-Oct.csv, views included
    python bench/real_month.py measure --raw DIR                         # runs `prepare` under /usr/bin/time -v
    python bench/real_month.py prepare --raw DIR --out OUT               # what `measure` times (one process)
    python bench/real_month.py generate --out DIR --month 2019-11        # another month (its own sessions)
    python bench/real_month.py measure-months --raw DIR                  # all months in DIR -> seven_months.json
    python bench/real_month.py readme                                    # README's paragraph from the figures

The month is simulated with the generator's public functions (`make_catalogue`, `make_users`, `simulate_month`,
`month_table`) at the `workshop` catalogue, in chunks of sessions written one after another: every chunk is
time-ordered, the file as a whole is not (one of the real files' quirks). The split of one month: train
2019-10-01 .. 10-24, valid 10-25 .. 10-31. Not part of `make bench` (it is heavy): run it at a quiet moment, with
`nice`, and delete the 5 GB file afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import PeakRSS  # bench/measure.py: the same sampler as `make bench`

HERE = Path(__file__).resolve().parent
RESULT = HERE / "real_month.json"
SEVEN = HERE / "seven_months.json"
SESSIONS_PER_CHUNK = 1_000_000
KAGGLE_OCTOBER = {"events": 42_448_764, "csv_gb": 5.28}  # the Kaggle file 2019-Oct.csv
SEVEN_MONTHS_EVENTS = 400_000_000  # Oct 2019 - Apr 2020, the 2022 workshop's data: about 0.4 billion


def generate_month(out: Path, events: int, seed: int = 42, month: str = "2019-10") -> dict:
    """Write `out/2019-Oct.csv` (or another `month`'s file) with at least `events` events (views included); return
    counts and seconds. Another month gets its own sessions (the seed is spawned per month), the same catalogue."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from recsys_course.config import SCALES
    from recsys_course.data import generate as g
    from recsys_course.data.formats import HEADER, month_filename

    start = time.perf_counter()
    root = np.random.SeedSequence(seed)
    s_cat, s_users, s_months = root.spawn(3)
    spec = SCALES["workshop"]
    cat = g.make_catalogue(np.random.default_rng(s_cat), spec)
    users = g.make_users(np.random.default_rng(s_users), spec, cat)
    out.mkdir(parents=True, exist_ok=True)
    year, mon = (int(x) for x in month.split("-"))
    path = out / month_filename(year, mon)
    s_months = s_months.spawn(12 * (year - 2019) + mon - 10 + 1)[-1] if month != "2019-10" else s_months
    written, chunks = 0, 0
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((HEADER + "\n").encode())
        while written < events:
            rng = np.random.default_rng(s_months.spawn(1)[0])
            ev = g.simulate_month(rng, year, mon, SESSIONS_PER_CHUNK, cat, users)
            pacsv.write_csv(g.month_table(ev, cat, users), sink,
                            pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536))
            written, chunks = written + int(ev.kind.size), chunks + 1
            print(f"chunk {chunks}: {written:,} events", file=sys.stderr, flush=True)
    return {"events": written, "csv_bytes": path.stat().st_size, "seconds": time.perf_counter() - start}


def prepare_month(raw: Path, out: Path, valid_month: str | None = None) -> dict:
    """The course's `prepare` on the month (train to Oct 24, valid Oct 25-31), without NVTabular; with
    `valid_month`, on all the months in `raw` (train from October 2019, validation on that month)."""
    from recsys_course.data.prepare import Options, prepare

    opts = (Options.for_valid_month(valid_month) if valid_month else
            Options(train_start="2019-10-01", valid_start="2019-10-25", valid_end="2019-11-01"))
    return prepare(raw, out, opts=opts)


def _time_v(stderr: str) -> dict:
    """Wall seconds and maximum resident set (GB) from GNU time's -v report."""
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr).group(1)
    seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", stderr).group(1)
    user, system = (float(re.search(rf"{k} time \(seconds\): ([\d.]+)", stderr).group(1)) for k in ("User", "System"))
    return {"seconds": round(seconds, 1), "max_rss_gb": round(rss / 2**20, 2), "cpu_percent": int(cpu),
            "cpu_seconds": round(user + system, 1)}


def timed_prepare(raw: Path) -> dict:
    """Run `prepare_month` on `raw` in a child process under /usr/bin/time -v; return its figures."""
    events = sum(1 for _ in open(raw / "2019-Oct.csv", "rb")) - 1
    out = Path(tempfile.mkdtemp(prefix="real_month_prep_", dir=raw.parent)) / "prepared"
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()), "prepare", "--raw", str(raw),
           "--out", str(out)]
    try:
        with PeakRSS() as tree:  # this driver (~0.1 GB) + GNU time + the preparation
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"prepare failed:\n{stderr[-3000:]}")
        summary = json.loads(stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    fig = _time_v(stderr)
    return {**fig, "events": events, "csv_gb": round((raw / "2019-Oct.csv").stat().st_size / 1e9, 2),
            "events_per_s": round(events / fig["seconds"]), "peak_rss_tree_gb": round(tree.peak / 2**30, 2),
            "train_rows": summary["train"]["rows"], "valid_rows": summary["valid"]["rows"],
            "load_average_1min_at_end": round(os.getloadavg()[0], 2)}


def _first_half(raw: Path) -> Path:
    """A copy of the first half of the month's lines, beside it."""
    half = raw.parent / "real_month_half"
    half.mkdir(exist_ok=True)
    lines = sum(1 for _ in open(raw / "2019-Oct.csv", "rb"))
    with open(raw / "2019-Oct.csv", "rb") as src, open(half / "2019-Oct.csv", "wb") as dst:
        for i, line in enumerate(src):
            if i > lines // 2:
                break
            dst.write(line)
    return half


def measure(raw: Path) -> dict:
    """The full month and its first half; the seven months (~0.4 billion events) projected from the two."""
    from recsys_course.device import usable_cores

    full = timed_prepare(raw)
    half_dir = _first_half(raw)
    try:
        half = timed_prepare(half_dir)
    finally:
        shutil.rmtree(half_dir, ignore_errors=True)
    per_event_gb = (full["max_rss_gb"] - half["max_rss_gb"]) / (full["events"] - half["events"])
    seven = SEVEN_MONTHS_EVENTS
    projection = {"events": seven, "minutes": round(seven / full["events_per_s"] / 60),
                  "peak_rss_gb": round(full["max_rss_gb"] + per_event_gb * (seven - full["events"]), 1),
                  "how": "time at the full month's rate; memory on the line through the half and the full month"}
    goals = {"peak_rss_le_4gb": full["max_rss_gb"] <= 4.0, "events_per_s_ge_1m": full["events_per_s"] >= 1_000_000}
    return {**full, "cores": usable_cores(), "half_month": half, "seven_months_projection": projection,
            "goals": goals}


def per_cpu_second(r: dict) -> float:
    """Raw events per second of CPU time (user + system): what the run did while it had a core."""
    return r["events"] / r.get("cpu_seconds", r["seconds"] * r["cpu_percent"] / 100)


def _rate_goal(r: dict) -> str:
    if r["goals"].get("events_per_s_ge_1m"):
        return "met"
    cpu_rate = per_cpu_second(r)
    free_core = ("two free cores, if both were kept busy, would clear the goal (not measured on an idle machine)"
                 if 2 * cpu_rate >= 1_000_000 else "even two free cores would not reach it")
    return f"**missed** — the run did {cpu_rate / 1000:.0f}k events per CPU-second: {free_core}"


def _rate(events_per_s: float) -> str:
    return f"{events_per_s / 1e6:.2f}M" if events_per_s >= 1e6 else f"{events_per_s / 1000:.0f}k"


def _seven_sentence(r: dict, seven: dict | None) -> str:
    if seven:  # measured: bench/real_month.py measure-months
        peak = seven.get("peak_rss_tree_gb", seven["max_rss_gb"])
        by = seven.get("by_months", {})
        growth = ", ".join(f"{n}: {by[n]['peak_rss_tree_gb']:.1f} GB" for n in sorted(by, key=int) if n != str(
            seven["months"]))
        per_month = seven["events"] / seven["months"]
        size = ("at least the real October's " if per_month >= KAGGLE_OCTOBER["events"] else
                "the largest that fit the disk budget, below the real October's ")
        return (f"Seven months, measured ({seven['months']} generated months of "
                f"{per_month / 1e6:.0f}M events each, {seven['csv_gb']:.0f} GB of CSV: {size}"
                f"{KAGGLE_OCTOBER['events'] / 1e6:.1f}M; `bench/seven_months.json`; other work took "
                f"{seven.get('others_cpu_share', float('nan')):.0%} of the machine): "
                f"**{seven['seconds'] / 60:.1f} min** at {_rate(seven['events_per_s'])} raw events/s, peak "
                f"**{peak:.1f} GB** (≤ 4 GB {'met' if peak <= 4.0 else '**missed**'}). `prepare` reads the months "
                f"one after another and carries sessions still open at a month's end into the next, so the raw "
                f"events are held a month at a time; what still grows with the months is the last labelled cart "
                f"per (user, product): its ids and time in memory (32 bytes a cart), its other columns spilled to "
                f"Arrow files; only the rows that reach the output get their features and Python strings, and "
                f"each split's frame is freed as it is written"
                + (f" (peak with fewer months: {growth})." if growth else "."))
    projection = r["seven_months_projection"]
    return (f"Seven months (~0.4 billion events) were not measured: at the measured rate they take about "
            f"**{round(projection['events'] / r['events_per_s'] / 60)} min**; the cart and purchase events of all "
            f"months are held in memory (a half-size month peaked at {r['half_month']['max_rss_gb']:.1f} GB; the line "
            f"through the two gives about {projection['peak_rss_gb']:.1f} GB, an extrapolation).")


def readme_paragraph(r: dict, seven: dict | None = None) -> str:
    """README.md's measured sentences ("Use the real data", time and memory), rendered from real_month.json (and
    seven_months.json when the seven months were measured)."""
    if seven is None and SEVEN.exists():
        seven = json.loads(SEVEN.read_text())
    return (
        f"**Time and memory.** Measured on one month at the real size (`bench/real_month.py`, generated: "
        f"{r['events'] / 1e6:.1f}M events, {r['csv_gb']:.1f} GB of CSV, views included; written to "
        f"`bench/real_month.json`) on this {r['cores']}-core machine, "
        + ("otherwise idle" if r["load_average_1min_at_start"] < 1.0 else "shared with other jobs")
        + f" (load average {r['load_average_1min_at_start']:.1f} at the start; the preparation got "
        f"{r['cpu_percent']}% of one core): "
        f"`prepare` took **{r['seconds'] / 60:.1f} min** at **{_rate(r['events_per_s'])} raw events/s** with a "
        f"peak of **{r['max_rss_gb']:.1f} GB** resident. Goals: ≤ 4 GB "
        f"{'met' if r['goals']['peak_rss_le_4gb'] else '**missed**'}; ≥ 1M events/s {_rate_goal(r)}. "
        + _seven_sentence(r, seven))


def _months_run(raw: Path, months: list[str], files: list[Path]) -> dict:
    """`prepare` on `files` (the months `months`) in a child process under GNU time and the tree's peak sampler;
    validation on the last month (one month: its last week, as `prepare_month`)."""
    from measure import OthersCPU, PeakRSS

    out = Path(tempfile.mkdtemp(prefix="months_prep_", dir=raw.parent)) / "prepared"
    cmd = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()), "prepare", "--raw", str(raw),
           "--out", str(out)] + (["--valid-month", months[-1]] if len(months) > 1 else [])
    load = round(os.getloadavg()[0], 2)
    try:
        with OthersCPU() as others, PeakRSS() as tree:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"prepare failed:\n{proc.stderr[-3000:]}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    fig = _time_v(proc.stderr)
    events = sum(sum(1 for _ in open(f, "rb")) - 1 for f in files)
    return {**fig, "months": len(months), "first": months[0], "valid_month": months[-1], "events": events,
            "csv_gb": round(sum(f.stat().st_size for f in files) / 1e9, 1), "events_per_s": round(events / fig["seconds"]),
            "peak_rss_tree_gb": round(tree.peak / 2**30, 2),
            "train_rows": summary["train"]["rows"], "valid_rows": summary["valid"]["rows"],
            "load_average_1min_at_start": load, "others_cpu_share": round(others.share, 2),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def measure_months(raw: Path, counts: tuple[int, ...] = (7, 1, 2, 4)) -> dict:
    """`prepare` on the first n months in `raw` for each n of `counts` (n = all of them: the seven-month figures,
    at the top level; the others under `by_months`, to show how the peak grows with the number of months)."""
    from recsys_course.data.rawfiles import month_of, raw_files

    files = sorted(raw_files(raw), key=lambda f: month_of(f) or "")
    months = [month_of(f) for f in files]
    runs = {}
    for n in counts:
        if n > len(months):
            continue
        subset = Path(tempfile.mkdtemp(prefix=f"months{n}_", dir=raw.parent))
        try:
            for f in files[:n]:
                (subset / f.name).symlink_to(f.resolve())
            runs[n] = _months_run(subset, months[:n], files[:n])
        finally:
            shutil.rmtree(subset, ignore_errors=True)
        print(json.dumps({n: runs[n]}), file=sys.stderr, flush=True)
        SEVEN.write_text(json.dumps(_months_result(runs), indent=1) + "\n")  # what is measured so far
    return _months_result(runs)


def _months_result(runs: dict) -> dict:
    top = runs[max(runs)]
    by = {str(n): {k: r[k] for k in ("events", "csv_gb", "seconds", "cpu_seconds", "events_per_s", "max_rss_gb",
                                      "peak_rss_tree_gb", "others_cpu_share", "train_rows", "valid_rows")}
          for n, r in sorted(runs.items())}
    return {**top, "by_months": by}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("generate", "measure", "measure-months", "prepare", "readme"))
    p.add_argument("--valid-month", default=None, help="prepare: all months, validation on this one")
    p.add_argument("--out", type=Path)
    p.add_argument("--raw", type=Path)
    p.add_argument("--events", type=int, default=KAGGLE_OCTOBER["events"])
    p.add_argument("--month", default="2019-10", help="generate: the month's file (its own sessions)")
    p.add_argument("--counts", default="7,1,2,4", help="measure-months: prepare the first n months, for each n")
    args = p.parse_args(argv)
    if args.step == "generate":
        print(json.dumps(generate_month(args.out, args.events, month=args.month)))
    elif args.step == "prepare":
        print(json.dumps(prepare_month(args.raw, args.out, args.valid_month)))
    elif args.step == "measure-months":  # every month in --raw, measured (not extrapolated) -> seven_months.json
        result = measure_months(args.raw, tuple(int(n) for n in args.counts.split(",")))
        SEVEN.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
    elif args.step == "readme":  # the paragraph README.md quotes (a test holds them equal)
        print(readme_paragraph(json.loads(RESULT.read_text())))
    else:
        import datetime as dt

        load_before = round(os.getloadavg()[0], 2)
        figures = measure(args.raw)
        result = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "load_average_1min_at_start": load_before, "kaggle_october": KAGGLE_OCTOBER, **figures}
        RESULT.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
