"""Labs from solutions: the learner's notebooks are generated, never edited by hand.

A solution notebook marks its answers:

    # BEGIN SOLUTION
    bottom = ...
    # END SOLUTION

`make labs` turns each region into a blank the checks recognise (`bottom = ____  # YOUR CODE HERE`), drops cells
whose first line is `# HIDDEN TEST`, drops nbval's cell tags, and clears every output. Nothing in labs/ is
edited by hand. (Executing notebooks is `recsys_course.tools.nbrun`'s job.)
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from recsys_course.course.exercises.regions import HIDDEN, blank_source

NBVAL_TAGS = ("nbval-check-output", "nbval-ignore-output", "nbval-skip", "nbval-raises-exception")


def make_lab(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    lab = copy.deepcopy(solution)
    cells = []
    for i, cell in enumerate(lab.cells):
        if cell.cell_type == "code":
            if cell.source.lstrip().startswith(HIDDEN):
                continue
            cell.source = blank_source(cell.source, f"{name} cell {i}")
            cell.outputs = []
            cell.execution_count = None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k not in ("execution", "collapsed", "scrolled")}
        tags = [t for t in cell.metadata.get("tags", []) if t not in NBVAL_TAGS]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        cells.append(cell)
    lab.cells = cells
    lab.metadata["course"] = {"generated_from": f"solutions/{name}", "do_not_edit": "regenerate with `make labs`"}
    return lab


def lab_name(solution_name: str) -> str:
    return solution_name.replace("_solution", "_lab")


def generate_labs(solutions: Path, labs: Path) -> list[Path]:
    """Write labs/NN_x_lab.ipynb for every solutions/NN_x_solution.ipynb; remove labs that have no solution."""
    labs.mkdir(parents=True, exist_ok=True)
    written = []
    expected = set()
    for src in sorted(solutions.glob("*_solution.ipynb")):
        nb = nbformat.read(src, as_version=4)
        target = labs / lab_name(src.name)
        expected.add(target.name)
        nbformat.write(make_lab(nb, src.name), target)
        written.append(target)
    for stale in labs.glob("*.ipynb"):
        if stale.name not in expected:
            stale.unlink()
    return written
