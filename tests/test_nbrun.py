"""Stored walkthrough outputs (`make outputs`): every plot cell keeps its picture, no noise is stored, and nbval's
checked cells hold only scale-independent text."""
from __future__ import annotations

import re

import nbformat
import pytest

from conftest import REPO
from recsys_course.tools import nbrun

WALKTHROUGHS = sorted((REPO / "notebooks").glob("0[1-46]_*.ipynb"))
# a cell that makes a figure: matplotlib, the course's plots module, or a *_picture helper
PLOT_CELL = re.compile(r"\bplt\.(subplots|figure|plot)\b|\bplots\.(?!schema_table)\w+\(|_picture\(|\.plot\(")


def plot_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and PLOT_CELL.search(c.source)]


def test_the_plot_cell_rule_finds_figures_and_spares_tables():
    assert PLOT_CELL.search("fig = plots.curves(results)") and PLOT_CELL.search("fig, ax = plt.subplots(1, 2)")
    assert PLOT_CELL.search("fig = polynomial.kernel_picture(case)")
    assert not PLOT_CELL.search("plots.schema_table(schema, dim=64)") and not PLOT_CELL.search("print(plt)")


@pytest.mark.parametrize("path", WALKTHROUGHS, ids=lambda p: p.name)
def test_every_plot_cell_has_a_stored_image(path):
    nb = nbformat.read(path, as_version=4)
    cells = plot_cells(nb)
    missing = [i for i in cells if not any("image/png" in o.get("data", {}) for o in nb.cells[i].outputs)]
    assert not missing, f"{path.name}: plot cells {missing} have no stored image: run `make outputs`"


@pytest.mark.parametrize("path", WALKTHROUGHS, ids=lambda p: p.name)
def test_stored_outputs_carry_no_noise(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        assert "execution" not in cell.metadata, f"cell {i}: timing metadata"
        for out in cell.outputs:
            assert not (out.get("output_type") == "stream" and out.get("name") == "stderr"), f"cell {i}: stderr stored"
            text = "".join(out.get("text", "")) + "".join("".join(out.get("data", {}).get(k, "")) for k in nbrun.TEXT_TYPES)
            assert nbrun.denoise(text) == text, f"cell {i}: unsanitized text (a path, an address or a timing)"
            assert "Warning" not in text, f"cell {i}: a warning is stored"


def _run(*cells):
    nb = nbformat.v4.new_notebook()
    for source, outputs, tags in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags, "execution": {"shell.execute_reply": "x"}})
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def _stdout(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_clean_outputs_drops_stderr_and_rewrites_paths_and_timings():
    nb = nbrun.clean_outputs(_run(
        ("fit()", [{"output_type": "stream", "name": "stderr", "text": "UserWarning: x\n"},
                   _stdout(f"epoch 1 took 12.5 s (58,000 rows/s); saved to {REPO}/data/small/models\n")], []),
        ("x", [{"output_type": "execute_result", "execution_count": 9, "metadata": {},
                "data": {"text/plain": "<object at 0x7f3a2b1c9d10>"}}], [])))
    first, second = nb.cells
    assert [o["text"] for o in first.outputs] == ["epoch 1 took T (N rows/s); saved to data/small/models\n"]
    assert second.outputs[0]["data"]["text/plain"] == "<object at 0xADDRESS>"
    assert (first.execution_count, second.execution_count, second.outputs[0]["execution_count"]) == (1, 2, 2)
    assert "execution" not in first.metadata


def test_a_checked_cell_that_prints_the_scale_is_refused():
    tiny = _run(("a", [_stdout("rows: 1,000\n")], [nbrun.CHECKED_TAG]), ("b", [_stdout("same\n")], [nbrun.CHECKED_TAG]),
                ("c", [_stdout("anything at tiny\n")], []))
    small = _run(("a", [_stdout("rows: 90,000\n")], [nbrun.CHECKED_TAG]), ("b", [_stdout("same\n")], [nbrun.CHECKED_TAG]),
                 ("c", [_stdout("anything at small\n")], []))
    assert nbrun.scale_dependent_cells(small, tiny) == [0]


def test_a_keras_progress_bar_is_stored_as_its_last_state():
    pieces = ["Epoch 1/2\n", "\r 1/71 [....] - ETA: 2:14 - loss: 0.69", "\b" * 40,
              "\r71/71 [====] - 12s 150ms/step - loss: 0.58\n"]
    nb = nbrun.clean_outputs(_run(("fit()", [_stdout(p) for p in pieces], [])))
    assert [o["text"] for o in nb.cells[0].outputs] == ["Epoch 1/2\n71/71 [====] - T T/step - loss: 0.58\n"]


def test_the_stored_walkthroughs_hold_no_progress_bar_with_its_timings_blanked():
    """A Keras progress bar stored by `make outputs` reads "- T T/step" once its timings are rewritten: the
    walkthroughs train quietly (`verbose=0`) and print a one-line summary instead."""
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
                assert "T/step" not in text and not re.search(r"\[=+\]", text), (path.name, i, text[:200])
