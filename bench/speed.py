"""The preparation's speed, side by side with the Polars peer, in ONE command -> prepare_peer.json, RESULTS.md.

    python bench/speed.py                       # small (3 alternating rounds) + a generated real-size month (1)
    python bench/speed.py --real-raw DIR        # the real-size month already in DIR (a 2019-Oct.csv), not generated
    python bench/speed.py --skip-real           # small only (about 2 minutes on an idle 2-core machine)

Runs `bench/peer_polars.py compare` at `small` and on one month at the real Kaggle size (generated with
`bench/real_month.py generate` into bench/out/, ~6 GB, deleted afterwards unless given with --real-raw), each as
whole processes alternating with the peer, same rows checked; records the machine's load (other processes' CPU
share, the load average) with each, then renders RESULTS.md and the README blocks from the json files
(`bench/report.py`). Polars comes from bench/requirements.txt (`make bench` installs it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"


def _run(args: list[str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run([sys.executable, *args], cwd=REPO, check=True)


def _stamp(name: str, load: float, seconds: float) -> None:
    """Add the load average at the start and the step's seconds to prepare_peer.json[name]."""
    path = HERE / "prepare_peer.json"
    results = json.loads(path.read_text())
    results[name].update({"load_average_1min_at_start": load, "step_seconds": round(seconds, 1)})
    path.write_text(json.dumps(results, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small-raw", type=Path, default=REPO / "data" / "small" / "raw")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--real-raw", type=Path, default=None, help="a folder holding a real-size 2019-Oct.csv")
    p.add_argument("--real-rounds", type=int, default=1)
    p.add_argument("--skip-real", action="store_true")
    args = p.parse_args(argv)
    start = time.perf_counter()
    load, t = os.getloadavg()[0], time.perf_counter()
    _run(["bench/peer_polars.py", "compare", "--raw", str(args.small_raw), "--name", "small",
          "--rounds", str(args.rounds)])
    _stamp("small", round(load, 2), time.perf_counter() - t)
    if not args.skip_real:
        real, generated = args.real_raw, None
        if real is None:
            generated = OUT / "speed_real_month"
            shutil.rmtree(generated, ignore_errors=True)
            _run(["bench/real_month.py", "generate", "--out", str(generated)])
            real = generated
        try:
            load, t = os.getloadavg()[0], time.perf_counter()
            _run(["bench/peer_polars.py", "compare", "--raw", str(real), "--name", "real_month", "--rounds",
                  str(args.real_rounds), "--valid-start", "2019-10-25", "--valid-end", "2019-11-01"])
            _stamp("real_month", round(load, 2), time.perf_counter() - t)
        finally:
            if generated is not None:
                shutil.rmtree(generated, ignore_errors=True)
    _run(["bench/report.py"])
    print(f"bench/speed.py: {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
