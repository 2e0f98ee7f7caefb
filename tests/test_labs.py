"""Labs are generated from solutions, hold no answers or outputs, and run top to bottom as 'not attempted'."""
from __future__ import annotations

import json

import nbformat
import pytest

from conftest import REPO
from recsys_course.course.exercises.regions import LabSourceError, blank_source
from recsys_course.tools.labgen import generate_labs

SOLUTIONS = sorted((REPO / "solutions").glob("*_solution.ipynb"))
LABS = sorted((REPO / "labs").glob("*_lab.ipynb"))


def test_labs_are_exactly_what_make_labs_generates(tmp_path):
    fresh = generate_labs(REPO / "solutions", tmp_path)
    assert [p.name for p in fresh] == [p.name for p in LABS], "run `make labs` and commit labs/"
    for new in fresh:
        committed = json.loads((REPO / "labs" / new.name).read_text())
        assert json.loads(new.read_text()) == committed, f"labs/{new.name} is stale or hand-edited: run `make labs`"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_labs_hold_no_answers_and_no_outputs(lab):
    nb = nbformat.read(lab, as_version=4)
    text = json.dumps(nb)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TEST" not in text and "nbval-" not in text
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert sum("= ____  # YOUR CODE HERE" in c.source for c in code) >= 3


def test_every_solution_has_three_to_six_checked_exercises():
    for sol in SOLUTIONS:
        nb = nbformat.read(sol, as_version=4)
        checks = [c for c in nb.cells if c.cell_type == "code" and c.source.strip().endswith(".check()")]
        regions = [c for c in nb.cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]
        assert 3 <= len(checks) == len(regions) <= 6, sol.name


@pytest.mark.notebook
@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.name)
def test_a_fresh_lab_runs_and_every_check_says_not_attempted(lab, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("RECSYS_SCALE", "tiny")
    nb = nbformat.read(lab, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(lab.parent)}}).execute()
    reports = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip().endswith(".check()"):
            text = "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs)
            reports.append(text)
    assert reports and all("not attempted" in r for r in reports), reports


def test_blanking_rules():
    src = "x = 1\n# BEGIN SOLUTION\ndef f(a):\n    return a\ny, z = 2, 3\n# END SOLUTION\nprint(x)"
    assert blank_source(src) == "x = 1\nf = ____  # YOUR CODE HERE\ny = ____  # YOUR CODE HERE\nz = ____  # YOUR CODE HERE\nprint(x)"
    for bad in ("# BEGIN SOLUTION\nx = 1", "x = 1\n# END SOLUTION", "# BEGIN SOLUTION\nprint(1)\n# END SOLUTION",
                "# BEGIN SOLUTION\n# BEGIN SOLUTION\nx=1\n# END SOLUTION\n# END SOLUTION"):
        with pytest.raises(LabSourceError):
            blank_source(bad)
