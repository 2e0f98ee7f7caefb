"""`make bench`: every figure the course quotes, measured in one run -> bench/RESULTS.md and bench/*.png.

1. generator throughput (raw events/s including the write) at `small`;
2. preparation + NVTabular throughput and peak memory, local cluster and a 2-worker LocalCluster;
3. training throughput of each architecture at batch 4096 as a ratio to mm.DLRMModel (same run);
4. validation AUC at `small` over 3 seeds, against the oracle, with the course's goals checked;
5. wall time of the four notebooks at `small` and of `make test`.

Everything lands in bench/out/ (git-ignored) except RESULTS.md and the plots. Not part of `make test`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import recsys_course  # noqa: F401  (quiet logs first)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))


class PeakRSS:
    """Peak resident memory of this process and its children, sampled every 50 ms."""

    def __enter__(self):
        import psutil

        self._proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()

        def sample():
            while not self._stop.is_set():
                try:
                    procs = [self._proc, *self._proc.children(recursive=True)]
                    self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                except Exception:  # noqa: BLE001 - a child may exit while being read
                    pass
                time.sleep(0.05)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def machine() -> dict:
    import psutil
    from importlib.metadata import version

    from recsys_course import device

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
            "cores": device.usable_cores(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "device": device.current().kind.upper(), "python": platform.python_version(),
            "tensorflow": version("tensorflow-cpu"), "merlin_models": version("merlin-models"),
            "nvtabular": version("nvtabular")}


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def bench_data(seed: int) -> dict:
    from recsys_course.etl import run_etl
    from recsys_course.generate import generate
    from recsys_course.prepare import prepare

    res: dict = {}
    full_s, full = timed(generate, OUT / "gen_all_views", "small", seed=seed, view_fraction=1.0, progress=False)
    n_full = sum(f["events"] for f in full["files"].values())
    res["generate_all_views"] = {"seconds": full_s, "events": n_full, "events_per_s": n_full / full_s}
    shutil.rmtree(OUT / "gen_all_views")
    small = OUT / "small"
    gen_s, meta = timed(generate, small / "raw", "small", seed=seed, progress=False)
    n = sum(f["events"] for f in meta["files"].values())
    res["generate_course"] = {"seconds": gen_s, "events": n, "events_per_s": n / gen_s,
                              "view_fraction": meta["view_fraction"], "labelled_pairs": meta["labelled_pairs"]}
    for label, workers, target in (("prepare_local", 1, small / "prepared"), ("prepare_2_workers", 2, OUT / "prep2")):
        with PeakRSS() as mem:
            secs, summary = timed(prepare, small / "raw", target, n_workers=workers)
        res[label] = {"seconds": secs, "events_per_s": n / secs, "peak_rss_gb": mem.peak / 2**30,
                      "train_rows": summary["train"]["rows"], "valid_rows": summary["valid"]["rows"],
                      "oracle": summary["oracle"]}
    same = all((OUT / "prep2" / s / "part.0.parquet").read_bytes() == (small / "prepared" / s / "part.0.parquet").read_bytes()
               for s in ("train", "valid"))
    res["prepare_2_workers"]["identical_output"] = same
    shutil.rmtree(OUT / "prep2")
    rows = res["prepare_local"]["train_rows"] + res["prepare_local"]["valid_rows"]
    with PeakRSS() as mem:
        secs, _ = timed(run_etl, small / "prepared", small / "processed_nvt")
    res["etl"] = {"seconds": secs, "rows_per_s": rows / secs, "peak_rss_gb": mem.peak / 2**30}
    return res


def bench_models(seeds: list[int], epochs: int, batch_size: int) -> dict:
    from recsys_course import analysis, models, plots
    from recsys_course.config import Paths

    paths = Paths("small", OUT / "small")
    train, valid, schema = models.load(paths)
    builders = models.standard_models(schema)
    runs = {name: [] for name in builders}
    curves = None
    for seed in seeds:
        results = models.compare(builders, train, valid, epochs=epochs, batch_size=batch_size, seed=seed)
        for r in results:
            runs[r.name].append({"auc": r.auc, "logloss": r.logloss, "params": r.params,
                                 "rows_per_s": r.rows_per_second, "val_auc": r.history.get("val_auc", [])})
        if curves is None:
            plots.curves(results).savefig(HERE / "curves.png", dpi=110)
            blocks = analysis.cross_kernel_blocks(next(r.model for r in results if r.name == "DCN CrossBlock depth 1"),
                                               models.dcn_feature_order(schema), 64)
            plots.heatmap(blocks, "CrossBlock depth 1: kernel block norms").savefig(HERE / "cross_kernel.png", dpi=110)
            curves = True
        for r in results:
            r.model = None
    return {"runs": runs, "train_rows": train.num_rows, "valid_rows": valid.num_rows}


def bench_course() -> dict:
    from recsys_course.nbrun import execute

    os.environ["RECSYS_COURSE_DATA"] = str(OUT)
    times = {}
    for nb in NOTEBOOKS:
        secs, _ = timed(execute, nb, "small", 3600)
        times[nb.name] = secs
    return times


def bench_make_test() -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("RECSYS_COURSE_DATA", "RECSYS_SCALE")}
    t = time.perf_counter()
    subprocess.run(["make", "test"], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--skip-make-test", action="store_true")
    args = p.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    results = {"machine": machine(), "settings": vars(args)}
    print("data ...", flush=True)
    results["data"] = bench_data(seed=42)
    print("models ...", flush=True)
    results["models"] = bench_models(args.seeds, args.epochs, args.batch_size)
    print("course notebooks ...", flush=True)
    results["course"] = bench_course()
    if not args.skip_make_test:
        print("make test ...", flush=True)
        results["make_test_seconds"] = bench_make_test()
    (HERE / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    from report import write_report  # bench/report.py

    write_report(results, HERE)
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
