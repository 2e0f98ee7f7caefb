"""Executing notebooks: top to bottom in their own folder at a chosen scale, and storing the outputs we keep.

`python -m recsys_course outputs FILE…` executes notebooks and keeps only the outputs nbval compares (cells tagged
`nbval-check-output`).
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

CHECKED_TAG = "nbval-check-output"


def is_checked(cell) -> bool:
    return CHECKED_TAG in cell.get("metadata", {}).get("tags", [])


def keep_checked_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Clear every output except those of cells nbval compares; drop execution counts and timing metadata."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        checked = is_checked(cell)
        if not checked:
            cell.outputs = []
        # nbval refuses a reference cell that has outputs but no execution count
        cell.execution_count = count if checked else None
        cell.metadata = {k: v for k, v in cell.metadata.items() if k not in ("execution",)}
        for out in cell.get("outputs", []):
            if "execution_count" in out:
                out["execution_count"] = count
    return nb


def execute(path: Path, scale: str = "tiny", timeout: int = 900) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own folder, with RECSYS_SCALE=`scale`."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["RECSYS_SCALE"] = scale
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def refresh_outputs(paths: list[Path], scale: str = "tiny") -> None:
    for path in paths:
        nbformat.write(keep_checked_outputs(execute(path, scale)), path)
