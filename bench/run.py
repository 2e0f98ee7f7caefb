"""`make bench`: every figure the course quotes, measured in one run -> bench/results.json, RESULTS.md, *.png.

1. generator throughput (raw events/s including the write) and funnel rates at `small`;
2. preparation + NVTabular throughput and peak memory, local cluster and a 2-worker LocalCluster;
3. what the data says: the strongest pairs and triples (`analysis.interaction_strengths`) on the train rows;
4. validation AUC of the comparison (`builders.BENCH_MODELS`) at `small` over 3 seeds, paired with plain DLRM,
   against the oracle, and each architecture's training throughput; the cross models cross the strongest pair and
   triple of step 3 with twice the triple's combinations as bins (recorded under models.crosses);
5. the controlled DCN case (`polynomial.controlled_dcn_case`, one run per seed);
6. wall time of the four notebooks at `small` (skip with --skip-notebooks; `make test` only with --make-test);
7. the fair comparison (bench/fair.py, results.json's "fair" key): every family of `builders.FAIR_MODELS` trained to
   its early-stopping epoch with its learning rate chosen on a slice of the train rows, 3 seeds, in the course's
   data ("default") and in the same data with `Planted.smooth` on ("smooth"). `--fair-only` runs this step alone
   (resumable: every run is cached under bench/out/fair/, and merged into results.json after each family; the other
   keys stay as they are); `--render-only` merges what the cache holds and renders RESULTS.md and the README.
   7b. the batch check (results.json's "fair_batch" key): the same protocol at lab 05's batch, 1024, for DLRM, the
   stacked and the parallel DCN, low rank d/4, DCN + dot products, concat -> MLP and the embedded triple, in both
   worlds; `--batch-check-only` runs it alone.
8. lab 05 at its quick size (`experiment.make` + `experiment.measure`: the lab's contenders, stopping rule and rate)
   with the shipped ground truth and with the smooth world's term, one seed each (results.json's "lab05" key):
   whether the quick run reproduces the fair comparison's directions. `--lab05-only` runs this step alone.

bench/results.json is the single source of every figure; bench/report.py turns it into RESULTS.md with the goals
of issue 10 marked met or missed. Everything else lands in bench/out/ (git-ignored). Not part of `make test`.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import recsys_course  # noqa: F401  (quiet logs first)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))


from measure import OthersCPU, PeakRSS  # noqa: E402,F401  (bench/measure.py; real_month.py shares them)


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
    from recsys_course.data.etl import run_etl
    from recsys_course.data.generate import generate
    from recsys_course.data.prepare import prepare

    res: dict = {}
    full_s, full = timed(generate, OUT / "gen_all_views", "small", seed=seed, view_fraction=1.0, progress=False)
    n_full = sum(f["events"] for f in full["files"].values())
    kinds = {k: sum(f[k] for f in full["files"].values()) for k in ("views", "carts", "purchases")}
    res["generate_all_views"] = {"seconds": full_s, "events": n_full, "events_per_s": n_full / full_s, **kinds,
                                 "view_to_cart": kinds["carts"] / kinds["views"],
                                 "cart_to_purchase": kinds["purchases"] / kinds["carts"]}
    shutil.rmtree(OUT / "gen_all_views")
    small = OUT / "small"
    gen_s, meta = timed(generate, small / "raw", "small", seed=seed, progress=False)
    n = sum(f["events"] for f in meta["files"].values())
    res["generate_course"] = {"seconds": gen_s, "events": n, "events_per_s": n / gen_s,
                              "view_fraction": meta["view_fraction"], "labelled_pairs": meta["labelled_pairs"],
                              "planted": {k: v for k, v in meta["planted"].items() if "matrix" not in k}}
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


@functools.lru_cache(maxsize=1)
def measured_crosses():
    """The strongest pair and triple of the `small` train rows and enough bins (`builders.strongest_crosses`),
    measured once per bench run: bench_interactions reports them, bench_models crosses them."""
    import pandas as pd

    from recsys_course.modeling import builders
    from recsys_course.data.formats import CROSS_CANDIDATES, TARGET

    rows = pd.read_parquet(OUT / "small" / "prepared" / "train", columns=[*CROSS_CANDIDATES, TARGET])
    return builders.strongest_crosses(rows, CROSS_CANDIDATES)


def bench_models(seeds: list[int], epochs: int, batch_size: int, names: list[str]) -> dict:
    """Every model of `names` with each seed (same data, same seed per model), plus the first seed's pictures.

    The cross models cross the data's strongest pair and triple (`measured_crosses`), recorded under "crosses".
    """
    from recsys_course.modeling import analysis, builders, training
    from recsys_course import data
    from recsys_course.course import plots
    from recsys_course.config import Paths

    train, valid, schema = data.load(Paths("small", OUT / "small"))
    crosses = measured_crosses()
    runs: dict[str, list] = {name: [] for name in names}
    for seed in seeds:
        contenders = builders.standard_models(schema, names=names, pair=crosses.pair, triple=crosses.triple,
                                              enough_bins=crosses.enough_bins)
        for name, build in contenders.items():
            r = training.compare({name: build}, train, valid, epochs=epochs, batch_size=batch_size, seed=seed)[0]
            runs[name].append({"seed": seed, "auc": r.auc, "logloss": r.logloss, "params": r.params,
                               "rows_per_s": r.rows_per_second, "val_auc": r.history.get("val_auc", [])})
            print(f"  seed {seed} {name}: AUC {r.auc:.4f}", flush=True)
            if seed == seeds[0] and name == builders.DCN_1:
                blocks = analysis.cross_kernel_blocks(r.model, builders.dcn_feature_order(schema), 64)
                plots.heatmap(blocks, "CrossBlock depth 1: kernel block norms").savefig(HERE / "cross_kernel.png",
                                                                                        dpi=110)
    return {"runs": runs, "train_rows": train.num_rows, "valid_rows": valid.num_rows, "crosses": crosses.record()}


def bench_interactions(top: int = 5) -> dict:
    """The strongest pairs and triples of the cross candidates on the train rows, as the lab measures them."""
    crosses = measured_crosses()
    out = {}
    for key, table in (("pairs", crosses.pairs), ("triples", crosses.triples)):
        out[key] = [{"features": list(f), "interaction": float(v)}
                    for f, v in zip(table["features"].head(top), table["interaction"].head(top))]
    return out


def bench_controlled(seeds: list[int]) -> list[dict] | None:
    """The controlled DCN case once per seed, or None when recsys_course.course.polynomial is not there."""
    try:
        from recsys_course.course.polynomial import controlled_dcn_case
    except ImportError:
        return None
    return [controlled_dcn_case(seed) for seed in seeds]


def bench_course() -> dict:
    """Wall time of each notebook at `small` (None for a notebook that failed: the bench goes on)."""
    from recsys_course.tools.nbrun import execute

    os.environ["RECSYS_COURSE_DATA"] = str(OUT)
    times: dict = {}
    for nb in NOTEBOOKS:
        try:
            times[nb.name], _ = timed(execute, nb, "small", 3600)
        except Exception as e:  # noqa: BLE001 - one failing notebook must not lose the measurements
            print(f"  {nb.name} failed: {type(e).__name__}: {str(e)[:300]}", flush=True)
            times[nb.name] = None
    return times


def bench_make_test() -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("RECSYS_COURSE_DATA", "RECSYS_SCALE")}
    t = time.perf_counter()
    subprocess.run(["make", "test"], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def fair_protocol(args):
    import fair  # bench/fair.py

    return fair.Protocol(max_epochs=args.max_epochs, patience=args.patience, seeds=tuple(args.seeds),
                         batch_size=args.batch_size, learning_rates=tuple(args.learning_rates))


def fair_merge(args, render: bool = True) -> dict:
    """results.json's "fair" key rebuilt from the cache (nothing trained), then RESULTS.md and the README."""
    import fair
    from recsys_course.modeling.builders import FAIR_MODELS

    protocol = fair_protocol(args)
    results = fair.merge(HERE / "results.json", fair.cache_for(protocol), protocol, FAIR_MODELS)
    if render:
        from report import write_report  # bench/report.py

        write_report(results, HERE)
    return results


def bench_fair(args) -> None:
    """The fair comparison, resumable: cached run by run, merged into results.json after every family."""
    import fair
    from recsys_course.modeling.builders import FAIR_MODELS

    protocol = fair_protocol(args)
    fair.run_plan(fair.cache_for(protocol), fair_worlds(args, protocol), args.fair_models or FAIR_MODELS, protocol,
                  after_family=lambda: fair_merge(args, render=False))
    fair_merge(args)


# The batch check: the fair protocol again at lab 05's batch, for the families lab 05 and notebook 04 compare. Where
# runs keep their first epoch and are past their best in the second, the number of steps one epoch gives is part of
# the budget: this measures what a 4× smaller batch changes (results.json's `benchfigures.BATCH_KEY`), everything
# else as the fair comparison's protocol (its sweep, stopping rule and seeds).
BATCH_CHECK_SIZE = 1024


def batch_check_families() -> list[str]:
    from recsys_course.modeling import builders as b

    return [b.DLRM, b.DCN_2, b.DCN_WITH_DOTS, b.CONCAT_MLP, b.TRIPLE_EMBEDDED, b.DCN_PARALLEL, b.DCN_RANK_D4]


def batch_check_protocol(args):
    """The fair protocol with the check's batch; its sweep may also go down to 0.0003 (at 1024 a family can choose
    0.001, the fair sweep's smallest rate)."""
    return dataclasses.replace(fair_protocol(args), batch_size=BATCH_CHECK_SIZE, low_rates=(0.0003,))


def bench_batch_check(args) -> None:
    """The batch check, resumable like the fair comparison (its own cache folder): merged into "fair_batch"."""
    import fair
    from recsys_course.course.benchfigures import BATCH_KEY

    protocol, families = batch_check_protocol(args), batch_check_families()
    fair.run_plan(fair.cache_for(protocol), fair_worlds(args, protocol), families, protocol)
    results = fair.merge(HERE / "results.json", fair.cache_for(protocol), protocol, families, key=BATCH_KEY)
    from report import write_report  # bench/report.py

    write_report(results, HERE)


def fair_worlds(args, protocol) -> dict:
    """The worlds' loaders (called when a world's first family comes): the course's data and the smooth world."""
    import fair
    from recsys_course.config import Paths

    default = Paths("small", Path(args.fair_data) if args.fair_data else REPO / "data" / "small")
    worlds = {"default": lambda: fair.load_world("default", default, protocol),
              "smooth": lambda: fair.load_world("smooth", fair.make_smooth_world(fair.CACHE / "smooth_data"),
                                                protocol)}
    return {w: worlds[w] for w in args.worlds}


def bench_lab05(results: dict, seed: int = 42) -> dict:
    """Lab 05's quick run in each world the fair comparison measured: its contenders' valid AUCs and the noise.
    `results`: the bench's results so far (the smooth world's term size is read from their fair comparison)."""
    from recsys_course.course import benchfigures, experiment

    size = ((benchfigures.fair_world(results, "smooth") or {}).get("planted") or {}).get("smooth") or 1.0
    quick = experiment.quick_for("small")
    out = {"seed": seed, "quick": {**dataclasses.asdict(quick), "label": quick.label}}
    for world, planted in (("default", {}), ("smooth", {"smooth": size})):
        paths = experiment.make(planted, "small", seed=seed, root=OUT / "lab05")
        runs = experiment.measure(paths, "small", seed=seed)  # the lab's four contenders, as an older lab copy calls
        rows = json.loads((paths.prepared / "prepare.json").read_text())["train"]["rows"]
        out[world] = {"planted": planted, "train_rows": rows,
                      "noise": experiment.noise(paths, experiment.winner(runs).auc),
                      "runs": {r.name: {"auc": r.auc, "params": r.params, "best_epoch": r.history["best_epoch"][0],
                                        "epochs_run": len(r.history["val_auc"])} for r in runs}}
    return out


def lab05_only() -> None:
    """Step 8 alone: merged into results.json as its "lab05" key, then RESULTS.md rendered."""
    path = HERE / "results.json"
    results = json.loads(path.read_text())
    results["lab05"] = bench_lab05(results)
    path.write_text(json.dumps(results, indent=1, default=float) + "\n")
    from report import write_report  # bench/report.py

    write_report(results, HERE)


def parse_args(argv=None) -> argparse.Namespace:
    from recsys_course.modeling.builders import BENCH_MODELS, FAIR_MODELS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--models", nargs="+", default=list(BENCH_MODELS), help="display names (builders.py constants)")
    p.add_argument("--skip-notebooks", action="store_true", help="do not time the four notebooks")
    p.add_argument("--make-test", action="store_true", help="also time `make test` (long)")
    p.add_argument("--fair-only", action="store_true", help="run only the fair comparison (step 7), resumably")
    p.add_argument("--render-only", action="store_true",
                   help="train nothing: merge the fair cache into results.json, render RESULTS.md and the README")
    p.add_argument("--skip-fair", action="store_true", help="leave out the fair comparison (step 7)")
    p.add_argument("--max-epochs", type=int, default=8, help="fair comparison: the budget of every run")
    p.add_argument("--patience", type=int, default=1, help="fair comparison: epochs without a better stop AUC")
    p.add_argument("--learning-rates", type=float, nargs="+", default=[0.001, 0.003, 0.01, 0.03],
                   help="fair comparison: the sweep, widened up to 0.1 while its best rate is its largest (runs of rates already cached are reused: a wider sweep trains "
                        "only the new rates, and the other seeds where the choice changes)")
    p.add_argument("--worlds", nargs="+", default=["default", "smooth"], choices=["default", "smooth"])
    p.add_argument("--fair-models", nargs="+", default=None, choices=FAIR_MODELS,
                   help="fair comparison: only these families (display names)")
    p.add_argument("--fair-data", default=None, help="the default world's data folder (default: data/small)")
    p.add_argument("--lab05-only", action="store_true", help="run only lab 05's quick run (step 8)")
    p.add_argument("--batch-check-only", action="store_true",
                   help="run only the batch check (step 7b: the fair protocol at batch 1024 for seven families)")
    return p.parse_args(argv)


def main() -> int:
    args = parse_args()
    if args.render_only:
        fair_merge(args)
        print(f"merged bench/out/fair into {HERE / 'results.json'}; wrote {HERE / 'RESULTS.md'} and the README")
        return 0
    if args.lab05_only:
        OUT.mkdir(parents=True, exist_ok=True)
        lab05_only()
        print(f"wrote {HERE / 'results.json'} (key lab05) and {HERE / 'RESULTS.md'}")
        return 0
    if args.batch_check_only:
        OUT.mkdir(parents=True, exist_ok=True)
        bench_batch_check(args)
        print(f"wrote {HERE / 'results.json'} (key fair_batch) and {HERE / 'RESULTS.md'}")
        return 0
    if args.fair_only:
        OUT.mkdir(parents=True, exist_ok=True)
        bench_fair(args)
        print(f"wrote {HERE / 'results.json'} (key fair) and {HERE / 'RESULTS.md'}")
        return 0
    for stale in OUT.glob("*") if OUT.exists() else ():  # the fair cache survives: it is resumable
        if stale.name != "fair":
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
    OUT.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "settings": {**vars(args), "scale": "small"}}
    steps = [("data", lambda: bench_data(seed=42)), ("interactions", bench_interactions),
             ("models", lambda: bench_models(args.seeds, args.epochs, args.batch_size, args.models)),
             ("controlled_dcn_runs", lambda: bench_controlled(args.seeds))]
    steps += [("course", bench_course)] if not args.skip_notebooks else []
    previous = json.loads((HERE / "results.json").read_text()) if (HERE / "results.json").exists() else {}
    if args.skip_notebooks and previous.get("course"):  # keep the last measured wall times, with their date
        results["course"] = previous["course"]
        results["course_measured"] = previous.get("course_measured", previous["machine"]["date"])
    steps += [("make_test_seconds", bench_make_test)] if args.make_test else []
    steps += [("lab05", lambda: bench_lab05(previous))]
    for key, step in steps:
        print(f"{key} ...", flush=True)
        t = time.perf_counter()
        with OthersCPU() as others:
            results[key] = step()
        results.setdefault("step_seconds", {})[key] = time.perf_counter() - t
        results.setdefault("others_cpu_share", {})[key] = others.share
    if results.get("controlled_dcn_runs"):
        results["controlled_dcn"] = results["controlled_dcn_runs"][0]  # the first seed's case, kernels and all
    (HERE / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    from report import write_report  # bench/report.py

    write_report(results, HERE)
    if not args.skip_fair:  # merges its key into the results.json just written, and renders again
        args.fair_data = args.fair_data or str(OUT / "small")
        bench_fair(args)
        bench_batch_check(args)
    print(f"wrote {HERE / 'results.json'} and {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
