"""Notebook behaviour beyond nbval: one-line prerequisite errors, and no warning walls."""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import REPO

pytestmark = pytest.mark.notebook


def _run(name: str, monkeypatch, **env) -> nbformat.NotebookNode:
    for k, v in {"RECSYS_SCALE": "tiny", **env}.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return nb


def test_out_of_order_says_what_to_run_first_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(CellExecutionError) as err:
        _run("02_building_blocks.ipynb", monkeypatch, RECSYS_COURSE_DATA=str(tmp_path))
    assert err.value.ename == "PrerequisiteMissing"
    assert "Run first: make data SCALE=tiny" in err.value.evalue
    # the traceback the learner sees is that one line, not a stack from deep inside NVTabular
    assert str(err.value).count("File ") == 0


def test_the_building_blocks_notebook_prints_no_warnings(monkeypatch):
    nb = _run("02_building_blocks.ipynb", monkeypatch)
    streams = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.get("output_type") == "stream"]
    noisy = [s for s in streams if "warn" in s.lower() or "W tensorflow" in s or "I tensorflow" in s]
    assert not noisy, noisy
    first = [o for o in nb.cells[1].outputs if o.get("output_type") == "stream"]
    assert first and first[0]["text"].startswith("device: CPU (")
