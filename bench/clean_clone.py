"""Clean-clone `make test`, timed as CI runs it -> bench/make_test.json (RESULTS.md's row of issue 20).

    python bench/clean_clone.py            # ~9 min on 2 idle cores; run it when nothing else runs

Clones the committed HEAD into a temporary folder and runs `CI=true bash .ci/run` there (the browser packages, a
new venv from the pins, the tiny data, every test), with pip's cache off and, when run as root, the browser
packages removed first, so that the install is timed as on a fresh CI machine (Debian's package lists stay). Keeps
the wall time, pytest's own time and counts, the slowest ten tests (pytest --durations), the load and the share of
the machine other work took. Not part of `make bench` (it runs the whole test suite); a failing run writes nothing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import OthersCPU  # bench/measure.py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "make_test.json"
BROWSER = ("chromium", "chromium-driver", "fonts-noto-color-emoji")
SLOWEST = 10


def _fresh_browser() -> bool:
    """Remove the browser packages (root only), so that .ci/run installs them as on a new machine."""
    if os.getuid() != 0 or not shutil.which("apt-get"):
        return False
    subprocess.run(["apt-get", "remove", "-y", "-q", *BROWSER], check=True, capture_output=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    subprocess.run(["apt-get", "clean"], check=True)
    return True


def durations(log: str) -> list[dict]:
    """pytest's `slowest N durations` lines: seconds, phase and test id, slowest first."""
    rows = re.findall(r"^([\d.]+)s (setup|call|teardown)\s+(\S.*)$", log, re.M)
    return [{"seconds": float(s), "phase": phase, "test": test.strip()} for s, phase, test in rows]


def summary(log: str) -> dict:
    """pytest's last line: passed/skipped/failed counts and its own seconds."""
    line = re.findall(r"^=*\s*(\d+ passed.*) in ([\d.]+)s", log, re.M)[-1]
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|skipped|failed|errors?|xfailed|xpassed)", line[0])}
    return {"counts": counts, "pytest_seconds": float(line[1])}


def run() -> dict:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix="clean_clone_"))
    try:
        subprocess.run(["git", "clone", "-q", str(REPO), str(folder / "repo")], check=True)
        fresh = _fresh_browser()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "VIRTUAL_ENV"))}
        env.update(CI="true", PIP_NO_CACHE_DIR="1", PYTEST_ARGS=f"--durations={SLOWEST}")
        load = round(os.getloadavg()[0], 2)
        start = time.perf_counter()
        with OthersCPU() as others:
            proc = subprocess.run(["bash", ".ci/run"], cwd=folder / "repo", env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise RuntimeError(f"make test failed on the clean clone (rc {proc.returncode}):\n{log[-4000:]}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": round(seconds, 1), **summary(log), "slowest": durations(log)[:SLOWEST], "commit": commit,
            "cores": os.cpu_count(), "browser_packages_installed_by_the_run": fresh, "pip_cache": False,
            "load_average_1min_at_start": load, "others_cpu_share": round(others.share, 2),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main() -> int:
    result = run()
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
