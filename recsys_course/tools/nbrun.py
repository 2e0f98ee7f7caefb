"""Executing notebooks: top to bottom in their own folder at a chosen scale, and storing the outputs we keep.

`python -m recsys_course outputs FILE… --scale small` (`make outputs`) executes the walkthroughs at `small` and stores
every output a reader wants on GitHub (tables, printed summaries, plots), stripped of noise: stderr streams (warnings,
progress bars) are dropped; stdout is stored as Jupyter shows it (a Keras progress bar keeps its last state); absolute paths, memory addresses and timings are rewritten (`NOISE`); execution counts
are renumbered and timing metadata removed, so a rerun on the same data changes no byte it need not change.

nbval (`--nbval-lax`) compares only cells tagged `nbval-check-output`, at `tiny`. Their stored outputs come from the
`small` run, so such a cell must print only scale-independent facts: `outputs` also runs each notebook at `tiny` and
refuses to write (naming the cell) when a tagged cell's output differs between the two scales.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

from recsys_course.config import REPO_ROOT

CHECKED_TAG = "nbval-check-output"
TEXT_TYPES = ("text/plain", "text/html", "text/markdown")
# (pattern, replacement) applied to stored text; tests/sanitize.cfg applies the same to nbval's comparison.
NOISE: list[tuple[str, str]] = [
    (re.escape(str(REPO_ROOT)) + r"/?", ""),  # /work/main/data/small -> data/small
    (r"/tmp/[\w./-]+", "<tmp>"),
    (r"0x[0-9a-f]{6,}", "0xADDRESS"),
    (r"\d+(\.\d+)?\s?(ms|s)/step", "T/step"),
    (r"\b\d+(\.\d+)?\s?(ms|µs|s|sec|seconds|min)\b(?!\w)", "T"),
    (r"\b[\d,]+(\.\d+)?\s?(k\s)?rows/s\b", "N rows/s"),
]


def is_checked(cell) -> bool:
    return CHECKED_TAG in cell.get("metadata", {}).get("tags", [])


def denoise(text: str) -> str:
    """Stored text without absolute paths, addresses or timings."""
    for pattern, replacement in NOISE:
        text = re.sub(pattern, replacement, text)
    return text


def as_terminal(text: str) -> str:
    """What Jupyter shows for `text` (Keras progress bars): a backspace erases a character, a carriage return the line."""
    lines = []
    for raw in text.split("\n"):
        line: list[str] = []
        for ch in raw:
            if ch == "\r":
                line = []
            elif ch == "\b":
                line = line[:-1]
            else:
                line.append(ch)
        lines.append("".join(line).rstrip())
    return "\n".join(lines)


def _merge_streams(outputs: list) -> list:
    """Consecutive outputs of one stream joined into one (a progress bar arrives as hundreds of pieces)."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if prev is not None and out.get("output_type") == "stream" == prev.get("output_type") \
                and out.get("name") == prev.get("name"):
            prev["text"] = "".join(prev["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def _clean_output(out) -> bool:
    """Rewrite one output in place; False for an output not worth storing (stderr: warnings, progress bars)."""
    if out.get("output_type") == "stream":
        if out.get("name") == "stderr":
            return False
        out["text"] = denoise(as_terminal("".join(out["text"])))
    for kind in TEXT_TYPES:
        if kind in out.get("data", {}):
            out["data"][kind] = denoise("".join(out["data"][kind]))
    return True


def clean_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep every output but the noise; number the code cells 1, 2, …; drop execution timing metadata."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.outputs = [o for o in _merge_streams(cell.outputs) if _clean_output(o)]
        cell.execution_count = count  # nbval refuses a reference cell with outputs but no execution count
        cell.metadata.pop("execution", None)
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = count
    return nb


def checked_texts(nb: nbformat.NotebookNode) -> dict[int, str]:
    """The text outputs of the cells nbval compares, by cell index."""
    texts = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and is_checked(cell):
            parts = [o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
                     for o in cell.outputs]
            texts[i] = "".join("".join(p) for p in parts)
    return texts


def scale_dependent_cells(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> list[int]:
    """Indexes of nbval-checked cells whose (cleaned) text differs between two runs, e.g. tiny and small."""
    ta, tb = checked_texts(a), checked_texts(b)
    return [i for i in ta if ta[i] != tb.get(i)]


def execute(path: Path, scale: str = "tiny", timeout: int = 1800) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own folder, with RECSYS_SCALE=`scale`."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["RECSYS_SCALE"] = scale
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def refresh_outputs(paths: list[Path], scale: str = "small", reference: str = "tiny") -> list[Path]:
    """Execute each notebook at `scale` and store its cleaned outputs; first check nbval's cells against `reference`."""
    written = []
    for path in paths:
        stored = clean_outputs(execute(path, scale))
        if reference != scale:
            bad = scale_dependent_cells(stored, clean_outputs(execute(path, reference)))
            if bad:
                raise ValueError(f"{path}: cells {bad} are tagged {CHECKED_TAG} but print different text at {scale} "
                                 f"and {reference}; make them print scale-independent facts, or untag them")
        tmp = path.with_name(f".{path.name}.tmp")
        nbformat.write(stored, tmp)
        tmp.replace(path)  # whole or not at all
        written.append(path)
    return written
