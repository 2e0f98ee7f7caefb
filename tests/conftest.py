"""Shared fixtures: tiny generated data made once per test session in a temporary folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import recsys_course  # noqa: F401  (quiet logs before anything imports TensorFlow)

REPO = Path(__file__).resolve().parent.parent


# Tests that each execute a whole notebook: under `--dist loadscope` (make test) each is a work unit of its own, so
# that the two workers share them instead of one worker taking a file's every notebook; any other test's unit is its
# file (module fixtures built once, nbval's cells of one notebook in order in one kernel).
ONE_NOTEBOOK_EACH = ("test_the_course_runs_on_the_fixture", "test_each_walkthrough_runs_at_tiny",
                     "test_a_fresh_lab_runs_and_every_check_says_not_attempted")
# The longest work units first (measured with --durations), so that no long one starts last while the other worker
# idles; the rest keep their collection order. Only the order changes: which tests run does not.
LONGEST_FIRST = ("tests/test_compare.py", "04_compare_and_inspect", "tests/test_fair.py", "06_extend",
                 "03_dlrm", "solutions/05_ground_truth", "tests/test_mistakes.py", "tests/test_progress.py",
                 "solutions/04_dcn", "tests/test_polynomial.py", "tests/test_browser.py", "tests/test_exercises.py")


def work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its file, or for a whole-notebook test, that one notebook run."""
    function = nodeid.split("::")[-1].split("[")[0]
    return nodeid if function in ONE_NOTEBOOK_EACH else nodeid.split("::")[0]


def _rank(nodeid: str) -> int:
    unit = work_unit(nodeid)
    return next((i for i, key in enumerate(LONGEST_FIRST) if key in unit), len(LONGEST_FIRST))


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` with work_unit as the scope (xdist's loadgroup marks do not reach pytest 9's node ids)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class NotebookRuns(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return NotebookRuns(config, log)


def pytest_collection_modifyitems(items) -> None:
    """nbval's items (one per notebook cell) belong to the notebook tier; the longest work units come first."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.notebook)
    order = {id(item): (_rank(item.nodeid), i) for i, item in enumerate(items)}
    items.sort(key=lambda item: order[id(item)])


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory) -> Path:
    from recsys_course.data.generate import generate

    out = tmp_path_factory.mktemp("gen") / "raw"
    generate(out, scale="tiny", seed=7, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_prepared(tiny_raw) -> Path:
    from recsys_course.data.prepare import prepare

    out = tiny_raw.parent / "prepared"
    prepare(tiny_raw, out)
    return out


@pytest.fixture(scope="session")
def quirk_prepared(tmp_path_factory) -> tuple[Path, Path]:
    """(raw, prepared) of the quirk fixture (tests/rees46_fixture.py), with min_rows=1 (its planted rows survive)
    and 64 KB byte ranges (many per CRLF file): made once, read by the tests of its quirks and of its golden digest."""
    from rees46_fixture import write_fixture
    from recsys_course.data.prepare import Options, prepare

    root = tmp_path_factory.mktemp("quirks")
    raw = write_fixture(root / "raw")
    prepare(raw, root / "out", opts=Options(min_rows=1), blocksize="64KB")
    return raw, root / "out"


@pytest.fixture(scope="session")
def tiny_processed(tiny_prepared) -> Path:
    from recsys_course.data.etl import run_etl

    out = tiny_prepared.parent / "processed_nvt"
    run_etl(tiny_prepared, out, cpu=True)
    return out


@pytest.fixture()
def no_device_override(monkeypatch):
    monkeypatch.delenv("RECSYS_COURSE_DEVICE", raising=False)
    return os.environ
