"""`python -m recsys_course VERB …`: one verb per step of the data flow, plus doctor and labs."""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path

import recsys_course  # noqa: F401  (silences noise before anything imports TensorFlow)
from recsys_course.config import REAL, SCALE_NAMES, SYNTHETIC_SCALES, Paths, data_root


def _doctor(args: argparse.Namespace) -> int:
    from importlib.metadata import PackageNotFoundError, version

    from recsys_course import device

    print(f"python {platform.python_version()} ({sys.executable})")
    for pkg in ("tensorflow-cpu", "tensorflow", "merlin-models", "merlin-core", "merlin-dataloader", "nvtabular",
                "dask", "pandas", "numpy", "pyarrow", "cudf"):
        try:
            print(f"  {pkg:18} {version(pkg)}")
        except PackageNotFoundError:
            if pkg not in ("tensorflow", "cudf", "tensorflow-cpu"):
                print(f"  {pkg:18} MISSING")
    try:
        dev = device.current()
    except device.DeviceError as e:
        print(f"device: ERROR: {e}", file=sys.stderr)
        return 2
    print(f"device: {dev.kind.upper()} — {dev.reason}")
    print(f"data: {data_root()}")
    _data_status()
    return 0


def _data_status() -> None:
    """Each scale's stages, and whether its data has a known ground truth (the generator's oracle) or none."""
    from recsys_course.data.oracle import NO_GROUND_TRUTH, generator_meta

    without = []
    for scale in SCALE_NAMES:
        paths = Paths.for_scale(scale)
        status = paths.status()
        truth = ""
        if status["raw"]:
            truth = "  ground truth: " + ("generator's oracle" if generator_meta(paths.raw) else "none")
            without += [] if generator_meta(paths.raw) else [scale]
        print(f"  {scale:9} " + "  ".join(f"{k}: {'yes' if v else 'no'}" for k, v in status.items()) + truth)
    if without:
        print(f"{', '.join(without)}: {NO_GROUND_TRUTH}")


def _generate(args: argparse.Namespace) -> int:
    from recsys_course.data.generate import generate

    meta = generate(args.out, scale=args.scale, seed=args.seed, view_fraction=args.view_fraction, gzip=args.gzip,
                    progress=not args.no_progress, planted=args.planted)
    n = sum(f["events"] for f in meta["files"].values())
    print(f"wrote {len(meta['files'])} monthly files, {n:,} events, {meta['labelled_pairs']:,} labelled cart pairs "
          f"to {args.out} (oracle AUC on April pairs before filtering: {meta['oracle_auc_april_unfiltered']:.3f})")
    return 0


def _options(args: argparse.Namespace):
    from recsys_course.data.prepare import Options

    return Options.for_valid_month(args.valid_month) if args.valid_month else Options()


def _print_prepared(summary: dict, where: Path) -> None:
    from recsys_course.data.oracle import NO_GROUND_TRUTH

    print(f"prepared: train {summary['train']['rows']:,} rows, valid {summary['valid']['rows']:,} rows "
          f"(validation {summary['split']['valid'][0][:7]}) -> {where}")
    if summary.get("oracle"):
        print(f"oracle AUC on valid: {summary['oracle']['valid']['auc']:.4f}")
    else:
        print(NO_GROUND_TRUTH)


def _prepare(args: argparse.Namespace) -> int:
    from recsys_course.data.prepare import prepare

    out = Path(args.out)
    summary = prepare(args.raw, out / "prepared", scheduler=args.scheduler, opts=_options(args), n_workers=args.workers)
    _print_prepared(summary, out / "prepared")
    if not args.no_etl:
        return _run_etl(out / "prepared", out / "processed_nvt", args.device)
    return 0


def _run_etl(prepared: Path, out: Path, device_kind: str | None) -> int:
    from recsys_course.data.etl import run_etl

    cpu = None if device_kind is None else device_kind == "cpu"
    summary = run_etl(prepared, out, cpu=cpu)
    print(f"NVTabular: {', '.join(summary['columns'])} -> {out}")
    return 0


def _etl(args: argparse.Namespace) -> int:
    return _run_etl(Path(args.prepared), Path(args.out), args.device)


def _data(args: argparse.Namespace) -> int:
    """Everything a scale needs, skipping what exists: generate -> prepare -> NVTabular."""
    from recsys_course.data.etl import run_etl
    from recsys_course.data.generate import generate
    from recsys_course.config import default_scale
    from recsys_course.data.prepare import prepare
    from recsys_course.data.rawfiles import raw_files

    scale = args.scale or default_scale()
    paths = Paths.for_scale(scale)
    have = paths.status()
    if not have["raw"] and scale == REAL:
        if any(paths.raw.glob("*.zip")):
            raw_files(paths.raw)  # stops with the unzip command
        raise FileNotFoundError(
            f"no REES46 files in {paths.raw}: the scale '{REAL}' is the real data and cannot be generated. Download "
            f"the monthly files (README, 'Use the real data'), put them in {paths.raw}, then run: "
            f"python -m recsys_course data --scale {REAL} [--valid-month 2019-11]   (or make data SCALE={REAL})")
    if not have["raw"]:
        meta = generate(paths.raw, scale=scale, seed=args.seed, progress=not args.no_progress)
        print(f"generated {meta['labelled_pairs']:,} labelled cart pairs in {paths.raw}")
    if not have["prepared"]:
        shutil.rmtree(paths.prepared, ignore_errors=True)
        _print_prepared(prepare(paths.raw, paths.prepared, opts=_options(args)), paths.prepared)
    if not have["processed"]:
        shutil.rmtree(paths.processed, ignore_errors=True)
        run_etl(paths.prepared, paths.processed)
        print(f"NVTabular output in {paths.processed}")
    print(json.dumps({"scale": scale, **paths.status()}))
    return 0


def _labs(args: argparse.Namespace) -> int:
    from recsys_course.tools.labgen import generate_labs

    for path in generate_labs(Path(args.solutions), Path(args.labs)):
        print(f"wrote {path}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    """JupyterLab on 127.0.0.1 with token auth, opened on the first notebook. Never an empty token."""
    import os
    import secrets

    from recsys_course.config import REPO_ROOT

    token = os.environ.get("JUPYTER_TOKEN", "").strip() or secrets.token_urlsafe(24)
    print(f"JupyterLab: http://127.0.0.1:{args.port}/lab?token={token}", flush=True)
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers and CI run as root
    os.execv(sys.executable, [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={args.port}",
                              "--no-browser", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO_ROOT}",
                              "--ServerApp.port_retries=0", *root, args.notebook])
    return 0  # not reached


def _outputs(args: argparse.Namespace) -> int:
    from recsys_course.tools.nbrun import refresh_outputs

    for path in refresh_outputs([Path(p) for p in args.notebooks], args.scale, args.reference or args.scale):
        print(f"stored the outputs of {path} at scale {args.scale}")
    return 0


def _diagrams(args: argparse.Namespace) -> int:
    from recsys_course.course.plots import save_diagrams

    for path in save_diagrams(Path(args.out)):
        print(f"wrote {path}")
    return 0


def _progress(args: argparse.Namespace) -> int:
    """Run a learner's labs (or a class's) headless and report every exercise's outcome."""
    from recsys_course.tools import progress as pg

    log = None if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    results = pg.progress([Path(p) for p in args.paths], timeout=args.timeout, scale=args.scale, log=log)
    if args.json:
        print(json.dumps(pg.as_json(results), indent=1, ensure_ascii=False))
    else:
        print("\n\n".join(pg.format_text(labs, learner) for learner, labs in results.items()))
    if args.csv or len(results) > 1 or "" not in results:
        out = pg.write_csv(results, Path(args.csv or "progress.csv"))
        print(f"wrote {out}", file=sys.stderr)
    return 0


def _planted_names() -> str:
    from recsys_course.data.generate import PLANTED_NAMES

    return "; ".join(f"{name}: {what}" for name, what in PLANTED_NAMES.items())


def _planted_value(text: str) -> str:
    """Check one --planted NAME=VALUE at parse time (a clear usage error instead of a traceback)."""
    from recsys_course.data.generate import planted_from

    try:
        planted_from([text])
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _valid_month_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--valid-month", default=None, metavar="YYYY-MM",
                        help="validation month (default 2020-04); train is every month from 2019-10 before it. "
                             "Kaggle's Oct+Nov download: --valid-month 2019-11")


def _add_preparation_verbs(sub) -> None:
    """prepare, etl and data: raw CSVs (generated or downloaded) -> prepared rows -> NVTabular output."""
    r = sub.add_parser("prepare", help="label, split and filter raw CSVs (generated or Kaggle), then run NVTabular")
    r.add_argument("--raw", required=True, help="folder of monthly CSVs (.csv or .csv.gz, mixed)")
    r.add_argument("--out", required=True, help="writes OUT/prepared and OUT/processed_nvt")
    r.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (default: a local cluster)")
    r.add_argument("--workers", type=int, default=1, help="workers of the local cluster")
    _valid_month_option(r)
    r.add_argument("--device", choices=("cpu", "gpu"), default=None, help="default: the device decision")
    r.add_argument("--no-etl", action="store_true", help="stop after preparation")
    r.set_defaults(func=_prepare)

    e = sub.add_parser("etl", help="run the NVTabular workflow on prepared data")
    e.add_argument("--prepared", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--device", choices=("cpu", "gpu"), default=None)
    e.set_defaults(func=_etl)

    d = sub.add_parser("data", help="generate + prepare + NVTabular for one scale under data/, skipping what exists")
    d.add_argument("--scale", choices=SCALE_NAMES, default=None,
                   help=f"default: small on a CPU, workshop on a GPU; '{REAL}' prepares the files in data/{REAL}/raw")
    d.add_argument("--seed", type=int, default=42)
    _valid_month_option(d)
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_data)


def _add_generate_verb(sub) -> None:
    g = sub.add_parser("generate", help="write synthetic REES46 monthly CSVs with a planted signal")
    g.add_argument("--scale", choices=SYNTHETIC_SCALES, default="tiny")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", required=True)
    g.add_argument("--view-fraction", type=float, default=None,
                   help="share of view events kept (default: the scale's; labels never change)")
    g.add_argument("--gzip", action="store_true", help="write .csv.gz files")
    g.add_argument("--planted", nargs="+", default=None, metavar="NAME=VALUE", type=_planted_value,
                   help="change the planted ground truth, e.g. --planted triple=0 cross=1.5 (recorded in "
                        "_generator.json); names: " + _planted_names())
    g.add_argument("--no-progress", action="store_true")
    g.set_defaults(func=_generate)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m recsys_course", description=__doc__)
    sub = p.add_subparsers(dest="verb", required=True)
    sub.add_parser("doctor", help="versions, the device decision and why, data status").set_defaults(func=_doctor)

    _add_generate_verb(sub)
    _add_preparation_verbs(sub)

    lab = sub.add_parser("lab", help="start JupyterLab on 127.0.0.1 with a token (JUPYTER_TOKEN or a random one)")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--notebook", default="notebooks/01_data_and_etl.ipynb")
    lab.set_defaults(func=_lab)

    o = sub.add_parser("outputs", help="execute notebooks and store their outputs without noise (make outputs)")
    o.add_argument("notebooks", nargs="+")
    o.add_argument("--scale", choices=SCALE_NAMES, default="small", help="the run whose outputs are stored")
    o.add_argument("--reference", choices=SCALE_NAMES, default="tiny",
                   help="nbval's scale: cells it checks must print the same text there (default tiny)")
    o.set_defaults(func=_outputs)

    dg = sub.add_parser("diagrams", help="draw the architecture diagrams the notebooks and README show")
    dg.add_argument("--out", default="notebooks/img")
    dg.set_defaults(func=_diagrams)

    pr = sub.add_parser("progress", help="run lab notebooks headless (copies, a temporary folder, a time limit) "
                        "and report each exercise: correct / incorrect / raised / not attempted")
    pr.add_argument("paths", nargs="*", default=["labs"],
                    help="lab notebooks, or one folder: of notebooks (one learner) or of one sub-folder per learner "
                         "(a class; files named LEARNER__LAB.ipynb also work). Default: labs")
    pr.add_argument("--json", action="store_true", help="print JSON instead of the table")
    pr.add_argument("--csv", default=None, help="write the class table here (default for a class: progress.csv)")
    pr.add_argument("--timeout", type=int, default=600, help="seconds per notebook, in all (default 600)")
    pr.add_argument("--scale", choices=SCALE_NAMES, default="tiny", help="data the labs run on (default tiny)")
    pr.set_defaults(func=_progress)

    labs = sub.add_parser("labs", help="generate labs/ from solutions/")
    labs.add_argument("--solutions", default="solutions")
    labs.add_argument("--labs", default="labs")
    labs.set_defaults(func=_labs)
    return p


def main(argv: list[str] | None = None) -> int:
    from recsys_course.device import DeviceError
    from recsys_course.data.prepare import ClusterStartError, RawDataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RawDataError, ClusterStartError, DeviceError, FileExistsError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
