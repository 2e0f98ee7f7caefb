"""Labs from solutions: the learner's notebooks are generated, never edited by hand.

A solution notebook marks its answers:

    # BEGIN SOLUTION
    bottom = ...
    # END SOLUTION

`make labs` turns each region into a blank the checks recognise (`bottom = ____  # YOUR CODE HERE`), drops cells
whose first line is `# HIDDEN TEST`, drops nbval's cell tags, and clears every output. Nothing in labs/ is
edited by hand. (Executing notebooks is `recsys_course.nbrun`'s job.)
"""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
HIDDEN = "# HIDDEN TEST"
NBVAL_TAGS = ("nbval-check-output", "nbval-ignore-output", "nbval-skip", "nbval-raises-exception")
BLANK = "____"


class LabSourceError(ValueError):
    """A solution notebook's markers are malformed."""


def _assigned_names(code: str) -> list[str]:
    """Top-level names a solution region defines, in order."""
    names: list[str] = []
    for node in ast.parse(code).body:
        targets = []
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in names:
                    names.append(n.id)
    return names


def blank_source(source: str, where: str = "cell", regions: list[str] | None = None) -> str:
    """Replace each BEGIN/END SOLUTION region with blanks for the names it defines (each region's code is appended to
    `regions` when given)."""
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if region is not None:
                raise LabSourceError(f"{where}: nested {BEGIN}")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if region is None:
                raise LabSourceError(f"{where}: {END} without {BEGIN}")
            code = "\n".join(x[len(indent):] if x.startswith(indent) else x for x in region)
            names = _assigned_names(code)
            if regions is not None:
                regions.append(code)
            if not names:
                raise LabSourceError(f"{where}: a solution region must define at least one name")
            out.extend(f"{indent}{n} = {BLANK}  # YOUR CODE HERE" for n in names)
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise LabSourceError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def solution_regions(path: Path) -> list[str]:
    """The code of every solution region of a solution notebook, in order (dedented as `blank_source` reads it)."""
    regions: list[str] = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and not cell.source.lstrip().startswith(HIDDEN):
            blank_source(cell.source, path.name, regions)
    return regions


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
