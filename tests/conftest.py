"""Shared fixtures: tiny generated data made once per test session in a temporary folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import recsys_course  # noqa: F401  (quiet logs before anything imports TensorFlow)

REPO = Path(__file__).resolve().parent.parent


# Tests that each execute a whole notebook: under `--dist loadgroup` each is a work unit of its own, so that the two
# workers share them instead of one worker taking a file's every notebook.
ONE_NOTEBOOK_EACH = ("test_the_course_runs_on_the_fixture", "test_each_walkthrough_runs_at_tiny",
                     "test_a_fresh_lab_runs_and_every_check_says_not_attempted")
# The longest work units first (measured with --durations), so that no long one starts last while the other worker
# idles; the rest keep their collection order. Only the order changes: which tests run does not.
LONGEST_FIRST = ("tests/test_compare.py", "04_compare_and_inspect", "test_fair.py", "06_extend",
                 "03_dlrm", "solutions/05_ground_truth", "tests/test_mistakes.py", "tests/test_progress.py",
                 "solutions/04_dcn", "tests/test_polynomial.py", "tests/test_browser.py", "tests/test_exercises.py")


def _group(item) -> str:
    """The xdist work unit of a test: its file, or for a whole-notebook test, that one notebook run."""
    name = item.nodeid if getattr(item, "originalname", None) in ONE_NOTEBOOK_EACH else item.nodeid.split("::")[0]
    return name.replace("[", "(").replace("]", ")").replace("@", "_")  # xdist splits a group name at its last '@'



def _rank(group: str) -> int:
    return next((i for i, key in enumerate(LONGEST_FIRST) if key in group), len(LONGEST_FIRST))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(items) -> None:
    """nbval's items (one per notebook cell) belong to the notebook tier; each test gets its work unit."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.notebook)
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    order = {id(item): (_rank(_group(item)), i) for i, item in enumerate(items)}
    items.sort(key=lambda item: order[id(item)])


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory) -> Path:
    from recsys_course.generate import generate

    out = tmp_path_factory.mktemp("gen") / "raw"
    generate(out, scale="tiny", seed=7, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_prepared(tiny_raw) -> Path:
    from recsys_course.prepare import prepare

    out = tiny_raw.parent / "prepared"
    prepare(tiny_raw, out)
    return out


@pytest.fixture(scope="session")
def quirk_prepared(tmp_path_factory) -> tuple[Path, Path]:
    """(raw, prepared) of the quirk fixture (tests/rees46_fixture.py), with min_rows=1 (its planted rows survive)
    and 64 KB byte ranges (many per CRLF file): made once, read by the tests of its quirks and of its golden digest."""
    from rees46_fixture import write_fixture
    from recsys_course.prepare import Options, prepare

    root = tmp_path_factory.mktemp("quirks")
    raw = write_fixture(root / "raw")
    prepare(raw, root / "out", opts=Options(min_rows=1), blocksize="64KB")
    return raw, root / "out"


@pytest.fixture(scope="session")
def tiny_processed(tiny_prepared) -> Path:
    from recsys_course.etl import run_etl

    out = tiny_prepared.parent / "processed_nvt"
    run_etl(tiny_prepared, out, cpu=True)
    return out


@pytest.fixture()
def no_device_override(monkeypatch):
    monkeypatch.delenv("RECSYS_COURSE_DEVICE", raising=False)
    return os.environ
