"""Run every case of the mistakes catalogue and write (case id → status, message) to a JSON file; or compare a
run with a recorded file.

    .venv/bin/python tools/catalogue_outcomes.py record tests/mistakes/outcomes_before.json
    .venv/bin/python tools/catalogue_outcomes.py compare tests/mistakes/outcomes_before.json

`record` runs tests/test_mistakes.py's catalogue test (the same fixtures, the same namespace) with
CATALOGUE_OUTCOMES set: the test writes each case's outcome there before asserting. `compare` records into a
temporary file and prints, against the recorded one: statuses that differ, messages that differ, messages that no
longer match their case's regex; it exits 1 when any status differs or any message misses its regex.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def record(out: Path) -> dict:
    env = {**os.environ, "CATALOGUE_OUTCOMES": str(out.resolve()), "RECSYS_SCALE": os.environ.get("RECSYS_SCALE", "tiny")}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:anyio", "-p", "no:cacheprovider",
                    "tests/test_mistakes.py", "-k", "test_catalogue"], cwd=REPO, env=env, check=False)
    return json.loads(out.read_text())


def compare(before: dict, after: dict) -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from mistakes.catalogue import CASES

    pattern = {f"{c.lab}-q{c.number}-{c.label}": c.pattern for c in CASES}
    status = [k for k in before if after.get(k, {}).get("status") != before[k]["status"]]
    missed = [k for k in after if k in pattern and not re.search(pattern[k], after[k]["message"])]
    changed = [k for k in before if k in after and after[k]["message"] != before[k]["message"]]
    for k in status:
        print(f"STATUS {k}: {before[k]['status']} -> {after.get(k, {}).get('status')}")
    for k in missed:
        print(f"REGEX  {k}: {after[k]['message']}")
    for k in changed:
        print(f"TEXT   {k}:\n  before: {before[k]['message']}\n  after:  {after[k]['message']}")
    print(f"{len(before)} cases: {len(status)} statuses differ, {len(missed)} messages miss their regex, "
          f"{len(changed)} messages differ, {len(before) - len(changed)} identical")
    return 1 if status or missed else 0


def main(argv: list[str]) -> int:
    mode, path = argv[0], Path(argv[1])
    if mode == "record":
        print(f"{len(record(path))} outcomes written to {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        after = record(Path(tmp) / "after.json")
    return compare(json.loads(path.read_text()), after)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
