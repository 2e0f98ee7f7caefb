"""Shared fixtures: tiny generated data made once per test session in a temporary folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import recsys_course  # noqa: F401  (quiet logs before anything imports TensorFlow)

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items) -> None:
    """nbval's items (one per notebook cell) belong to the notebook tier."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.notebook)


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
