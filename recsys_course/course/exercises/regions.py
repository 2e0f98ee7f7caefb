"""The solution notebooks' regions: the one source of the labs' blanks (tools/labgen) and of `qN.solution()`.

A solution notebook marks each answer:

    # BEGIN SOLUTION
    bottom = ...
    # END SOLUTION

and a cell whose first line is `# HIDDEN TEST` is a test the lab does not show.
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
HIDDEN = "# HIDDEN TEST"
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
