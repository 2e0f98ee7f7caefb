"""`prepare` stays byte-identical: its output on the quirk fixture and on `tiny` against recorded digests.

The digests (tests/golden_prepare.json) were recorded by `bench/golden_prepare.py --rev REV`, which runs the
preparation code of a git revision on raw files written by today's code. Each golden digest sits next to the digest
of its raw input: when the generator (or the fixture) changes, the raw digest differs and the test fails with the
command that re-records the golden output; it never skips.
"""
from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from golden_prepare import CASES, GOLDEN, output_digests, tree_digest  # noqa: E402

RECORD = "python bench/golden_prepare.py --rev <the revision whose preparation is the reference, e.g. 7d6668e>"


def _golden(case: str, raw) -> dict:
    golden = json.loads(GOLDEN.read_text())[case]
    if tree_digest(raw) != golden["raw"]:
        pytest.fail(f"the raw input of '{case}' is not the one the golden digest was recorded on (the generator or "
                    f"the fixture changed): re-record it with the reference preparation code:\n    {RECORD}")
    return golden


def test_the_fixture_prepares_byte_identical(quirk_prepared):
    raw, out = quirk_prepared
    golden = _golden("fixture", raw)
    assert CASES["fixture"] == {"min_rows": 1, "blocksize": "64KB"}  # how conftest's quirk_prepared prepares it
    assert output_digests(out) == golden["output"]


def test_tiny_prepares_byte_identical(tiny_raw, tiny_prepared):
    golden = _golden("tiny", tiny_raw)
    assert CASES["tiny"] == {}  # tiny_prepared is prepare(tiny_raw, out) with the defaults
    assert output_digests(tiny_prepared) == golden["output"]


def test_a_changed_output_is_caught(tmp_path, tiny_raw, tiny_prepared):
    import shutil

    copy = tmp_path / "prepared"
    shutil.copytree(tiny_prepared, copy)
    summary = json.loads((copy / "prepare.json").read_text())
    summary["train"]["rows"] += 1
    (copy / "prepare.json").write_text(json.dumps(summary, indent=1) + "\n")
    assert output_digests(copy) != _golden("tiny", tiny_raw)["output"]
