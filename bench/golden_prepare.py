"""Golden digests of `prepare`'s output, for tests/test_golden_prepare.py: the preparation must stay byte-identical.

    python bench/golden_prepare.py                 # re-record with the worktree's own recsys_course
    python bench/golden_prepare.py --rev 7d6668e   # re-record with the preparation code of a git revision

Two inputs: the hand-made quirk fixture (tests/rees46_fixture.py) and `tiny` as the tests generate it
(`generate(scale="tiny", seed=7)`, tests/conftest.py). The raw files are always made by the worktree's code (the
generator may change); the preparation is run by the code of `--rev` (`git archive REV recsys_course` into a
temporary folder, imported first in a child process). Next to each output digest the digest of its raw input is
stored: when the generator changes, the test says that the golden digest is stale and shows this command, instead
of comparing outputs of different inputs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOLDEN = REPO / "tests" / "golden_prepare.json"
OUTPUTS = ("train/part.0.parquet", "valid/part.0.parquet", "prepare.json")
# The quirk fixture is prepared with min_rows=1 (its planted rows survive) and 64 KB byte ranges; tiny as `data` does.
CASES = {"fixture": {"min_rows": 1, "blocksize": "64KB"}, "tiny": {}}

_CHILD = """
import json, sys
from pathlib import Path
import recsys_course
try:
    from recsys_course.data.prepare import Options, prepare
except ImportError:  # a revision from before the package had folders
    from recsys_course.prepare import Options, prepare  # layout: keep
raw, out, case = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
opts = Options(min_rows=case["min_rows"]) if "min_rows" in case else Options()
kw = {"blocksize": case["blocksize"]} if "blocksize" in case else {}
prepare(raw, out, opts=opts, **kw)
print(recsys_course.__file__)
"""


def tree_digest(folder: Path, names: list[str] | None = None) -> str:
    """sha256 over the names and bytes of `names` in `folder` (default: every file, sorted)."""
    folder = Path(folder)
    names = names if names is not None else sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return h.hexdigest()


def output_digests(out: Path) -> dict[str, str]:
    return {name: hashlib.sha256((Path(out) / name).read_bytes()).hexdigest() for name in OUTPUTS}


def make_raw(case: str, folder: Path) -> Path:
    """The raw input of a case, written by the worktree's code."""
    if case == "fixture":
        sys.path.insert(0, str(REPO / "tests"))
        from rees46_fixture import write_fixture

        return write_fixture(folder)
    from recsys_course.data.generate import generate

    generate(folder, scale="tiny", seed=7, progress=False)
    return folder


def run_prepare(raw: Path, out: Path, case: str, code: Path | None = None) -> None:
    """`prepare` in a child process, importing recsys_course from `code` (a folder holding it) when given."""
    env_path = str(code) if code else str(REPO)
    r = subprocess.run([sys.executable, "-c", _CHILD, str(raw), str(out), json.dumps(CASES[case])],
                       capture_output=True, text=True, cwd=env_path,
                       env={**__import__("os").environ, "PYTHONPATH": env_path})
    if r.returncode != 0:
        raise SystemExit(f"prepare failed on {case}:\n{r.stderr[-3000:]}")
    used = Path(r.stdout.strip().splitlines()[-1]).resolve()
    if not used.is_relative_to(Path(env_path).resolve()):
        raise SystemExit(f"the child imported {used}, not the code under {env_path}")


def record(rev: str | None) -> dict:
    golden = {}
    with tempfile.TemporaryDirectory(prefix="golden_") as tmp:
        tmp = Path(tmp)
        code = None
        if rev:
            code = tmp / "code"
            code.mkdir()
            archive = subprocess.run(["git", "archive", rev, "recsys_course"], cwd=REPO, capture_output=True,
                                     check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        for case in CASES:
            raw = make_raw(case, tmp / case / "raw")
            run_prepare(raw, tmp / case / "out", case, code)
            golden[case] = {"raw": tree_digest(raw), "output": output_digests(tmp / case / "out"),
                            "prepared_by": rev or "worktree", "options": CASES[case]}
    return golden


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rev", default=None, help="git revision whose recsys_course prepares (default: the worktree)")
    args = p.parse_args(argv)
    golden = record(args.rev)
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
