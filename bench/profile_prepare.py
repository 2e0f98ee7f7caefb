"""Where `prepare`'s time goes, stage by stage, in CPU seconds -> bench/prepare_profile.json.

    python bench/profile_prepare.py --raw data/small/raw                 # the worktree's code
    python bench/profile_prepare.py --raw data/small/raw --rev 7d6668e   # the code of a git revision (the "before")

Each stage runs on Dask's synchronous scheduler in one process, so the CPU time of a stage (all its threads: Arrow
parses on every core) is its own: imports; reading + validating the raw text down to cart and purchase events;
shuffle by user + labelling + split + the >= 5 filter; writing the two parquet files; the oracle's scores. CPU
seconds, not wall time: the machine is shared, and CPU time is what a free core would turn into wall time.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT = HERE / "prepare_profile.json"

_CHILD = r"""
import json, sys, time
T = [time.process_time()]
cpu = {}
def lap(name):
    T.append(time.process_time()); cpu[name] = round(T[-1] - T[-2], 2)
from pathlib import Path
import dask
import recsys_course
try:
    from recsys_course.data import prepare as P
    from recsys_course.data.rawfiles import events_frame, raw_files
    from recsys_course.data.oracle import oracle_metrics
except ImportError:  # a revision from before the package had folders
    from recsys_course import prepare as P  # layout: keep
    from recsys_course.rawfiles import events_frame, raw_files  # layout: keep
    from recsys_course.oracle import oracle_metrics  # layout: keep
import distributed, dask.dataframe
lap("imports")
raw, out = Path(sys.argv[1]), Path(sys.argv[2])
opts = P.Options()
files = P.select_files(raw, raw_files(raw), opts)
with dask.config.set(scheduler="sync"):
    events = events_frame(files).persist()
    lap("read and validate the raw text")
    train, valid = P._label_split_filter(events, opts)
    train, valid = train.compute(), valid.compute()
    lap("shuffle, label, split, filter")
for name, frame in (("train", train), ("valid", valid)):
    (out / name).mkdir(parents=True)
    frame.sort_values(["event_time_ts", "user_id", "product_id"], kind="stable").reset_index(drop=True).to_parquet(
        out / name / "part.0.parquet", index=False)
lap("sort and write")
oracle_metrics(raw, out)
lap("oracle scores")
print(json.dumps({"cpu_seconds": cpu, "code": recsys_course.__file__, "train_rows": len(train)}))
"""


def profile(raw: Path, rev: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="profile_") as tmp:
        code = REPO
        if rev:
            code = Path(tmp) / "code"
            code.mkdir()
            archive = subprocess.run(["git", "archive", rev, "recsys_course"], cwd=REPO, capture_output=True,
                                     check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        r = subprocess.run([sys.executable, "-c", _CHILD, str(raw.resolve()), str(Path(tmp) / "out")], cwd=code,
                           capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(code)})
        if r.returncode != 0:
            raise SystemExit(r.stderr[-3000:])
        result = json.loads(r.stdout.strip().splitlines()[-1])
    if not Path(result.pop("code")).resolve().is_relative_to(code.resolve()):
        raise SystemExit("the child did not import the code it was given")
    return {**result, "total_cpu_seconds": round(sum(result["cpu_seconds"].values()), 2), "rev": rev or "worktree",
            "raw": str(raw)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--raw", type=Path, required=True)
    p.add_argument("--rev", default=None)
    p.add_argument("--as", dest="key", default=None, help="key in the json (default: before with --rev, else after)")
    args = p.parse_args(argv)
    key = args.key or ("before" if args.rev else "after")
    results = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    results[key] = profile(args.raw, args.rev)
    RESULT.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results[key], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
