"""`python -m recsys_course VERB …`: one verb per step of the data flow, plus doctor and labs."""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path

import recsys_course  # noqa: F401  (silences noise before anything imports TensorFlow)
from recsys_course.config import SCALE_NAMES, Paths, data_root


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
    for scale in SCALE_NAMES:
        status = Paths.for_scale(scale).status()
        print(f"  {scale:9} " + "  ".join(f"{k}: {'yes' if v else 'no'}" for k, v in status.items()))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from recsys_course.generate import generate

    meta = generate(args.out, scale=args.scale, seed=args.seed, view_fraction=args.view_fraction, gzip=args.gzip,
                    progress=not args.no_progress)
    n = sum(f["events"] for f in meta["files"].values())
    print(f"wrote {len(meta['files'])} monthly files, {n:,} events, {meta['labelled_pairs']:,} labelled cart pairs "
          f"to {args.out} (oracle AUC on April pairs before filtering: {meta['oracle_auc_april_unfiltered']:.3f})")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from recsys_course.prepare import prepare

    out = Path(args.out)
    summary = prepare(args.raw, out / "prepared", scheduler=args.scheduler, n_workers=args.workers)
    print(f"prepared: train {summary['train']['rows']:,} rows, valid {summary['valid']['rows']:,} rows -> {out / 'prepared'}")
    if summary.get("oracle"):
        print(f"oracle AUC on valid: {summary['oracle']['valid']['auc']:.4f}")
    if not args.no_etl:
        return _run_etl(out / "prepared", out / "processed_nvt", args.device)
    return 0


def _run_etl(prepared: Path, out: Path, device_kind: str | None) -> int:
    from recsys_course.etl import run_etl

    cpu = None if device_kind is None else device_kind == "cpu"
    summary = run_etl(prepared, out, cpu=cpu)
    print(f"NVTabular: {', '.join(summary['columns'])} -> {out}")
    return 0


def _etl(args: argparse.Namespace) -> int:
    return _run_etl(Path(args.prepared), Path(args.out), args.device)


def _data(args: argparse.Namespace) -> int:
    """Everything a scale needs, skipping what exists: generate -> prepare -> NVTabular."""
    from recsys_course.etl import run_etl
    from recsys_course.generate import generate
    from recsys_course.prepare import prepare

    from recsys_course.config import default_scale

    scale = args.scale or default_scale()
    paths = Paths.for_scale(scale)
    have = paths.status()
    if not have["raw"]:
        meta = generate(paths.raw, scale=scale, seed=args.seed, progress=not args.no_progress)
        print(f"generated {meta['labelled_pairs']:,} labelled cart pairs in {paths.raw}")
    if not have["prepared"]:
        shutil.rmtree(paths.prepared, ignore_errors=True)
        s = prepare(paths.raw, paths.prepared)
        print(f"prepared train {s['train']['rows']:,} / valid {s['valid']['rows']:,} rows in {paths.prepared}")
    if not have["processed"]:
        shutil.rmtree(paths.processed, ignore_errors=True)
        run_etl(paths.prepared, paths.processed)
        print(f"NVTabular output in {paths.processed}")
    print(json.dumps({"scale": scale, **paths.status()}))
    return 0


def _labs(args: argparse.Namespace) -> int:
    from recsys_course.labgen import generate_labs

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
    from recsys_course.nbrun import refresh_outputs

    refresh_outputs([Path(p) for p in args.notebooks], args.scale)
    return 0


def _diagrams(args: argparse.Namespace) -> int:
    from recsys_course.plots import save_diagrams

    for path in save_diagrams(Path(args.out)):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m recsys_course", description=__doc__)
    sub = p.add_subparsers(dest="verb", required=True)
    sub.add_parser("doctor", help="versions, the device decision and why, data status").set_defaults(func=_doctor)

    g = sub.add_parser("generate", help="write synthetic REES46 monthly CSVs with a planted signal")
    g.add_argument("--scale", choices=SCALE_NAMES, default="tiny")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", required=True)
    g.add_argument("--view-fraction", type=float, default=None,
                   help="share of view events kept (default: the scale's; labels never change)")
    g.add_argument("--gzip", action="store_true", help="write .csv.gz files")
    g.add_argument("--no-progress", action="store_true")
    g.set_defaults(func=_generate)

    r = sub.add_parser("prepare", help="label, split and filter raw CSVs (generated or Kaggle), then run NVTabular")
    r.add_argument("--raw", required=True, help="folder of monthly CSVs (.csv or .csv.gz)")
    r.add_argument("--out", required=True, help="writes OUT/prepared and OUT/processed_nvt")
    r.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (default: a local cluster)")
    r.add_argument("--workers", type=int, default=1, help="workers of the local cluster")
    r.add_argument("--device", choices=("cpu", "gpu"), default=None, help="default: the device decision")
    r.add_argument("--no-etl", action="store_true", help="stop after preparation")
    r.set_defaults(func=_prepare)

    e = sub.add_parser("etl", help="run the NVTabular workflow on prepared data")
    e.add_argument("--prepared", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--device", choices=("cpu", "gpu"), default=None)
    e.set_defaults(func=_etl)

    d = sub.add_parser("data", help="generate + prepare + NVTabular for one scale under data/, skipping what exists")
    d.add_argument("--scale", choices=SCALE_NAMES, default=None, help="default: small on a CPU, workshop on a GPU")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_data)

    lab = sub.add_parser("lab", help="start JupyterLab on 127.0.0.1 with a token (JUPYTER_TOKEN or a random one)")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--notebook", default="notebooks/01_data_and_etl.ipynb")
    lab.set_defaults(func=_lab)

    o = sub.add_parser("outputs", help="execute notebooks and keep only the outputs nbval checks")
    o.add_argument("notebooks", nargs="+")
    o.add_argument("--scale", choices=SCALE_NAMES, default="tiny")
    o.set_defaults(func=_outputs)

    dg = sub.add_parser("diagrams", help="draw the architecture diagrams the notebooks and README show")
    dg.add_argument("--out", default="notebooks/img")
    dg.set_defaults(func=_diagrams)

    labs = sub.add_parser("labs", help="generate labs/ from solutions/")
    labs.add_argument("--solutions", default="solutions")
    labs.add_argument("--labs", default="labs")
    labs.set_defaults(func=_labs)
    return p


def main(argv: list[str] | None = None) -> int:
    from recsys_course.device import DeviceError
    from recsys_course.prepare import RawDataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RawDataError, DeviceError, FileExistsError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
