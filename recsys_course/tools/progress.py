"""Progress of learners: run their lab notebooks headless and read what each exercise's check said.

`python -m recsys_course progress [LAB_NOTEBOOK… | FOLDER] [--json] [--csv OUT]`

A learner's notebooks are code. Each one is copied into a fresh temporary folder and executed there, top to
bottom, in its own kernel started as the user who runs this command (never another user), with a time limit for
the whole notebook; the temporary folder is deleted afterwards and the learner's file is never modified.

Outcomes are read from the outputs of the check cells (a cell whose whole source is `qN.check(…)`): the
machine-readable `application/vnd.recsys-course.outcome+json` data every `Outcome` carries (exercise, status,
message; `exercises.core`). Text is never parsed: the notebook is executed with this copy of the course, whose
every Outcome carries that data, so a check cell's text alone (printed, or saved by an older copy) is no outcome.
An exercise whose own answer cells raised counts as *raised* even if its check then saw a blank.

Folders: a folder of `*.ipynb` is one learner. A folder of sub-folders is a class: each sub-folder is one learner
(named after it); notebooks directly in the class folder named `LEARNER__LAB.ipynb` also work. The class form
writes one CSV: a row per learner, a column per lab exercise, and a total of correct exercises.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from recsys_course.course.exercises import core

# The statuses as a report names them (core.REPORTED: "raised" for core's "your code raised").
CORRECT = core.REPORTED[core.CORRECT]
INCORRECT = core.REPORTED[core.INCORRECT]
RAISED = core.REPORTED[core.RAISED]
NOT_ATTEMPTED = core.REPORTED[core.NOT_ATTEMPTED]
STATUSES = tuple(core.REPORTED[s] for s in core.STATUSES)
OUTCOME_MIME = core.OUTCOME_MIME
LEARNER_SEPARATOR = "__"

_CHECK_CELL = re.compile(r"^\s*(?P<q>q\d+)\.check\((?s:.*)\)\s*;?\s*$")
_MENTIONS_CHECK = re.compile(r"\bq\d+\.")


class ProgressError(ValueError):
    """Bad input to `progress`: the message names the file or folder and what is wrong with it."""


@dataclass
class ExerciseResult:
    exercise: str  # "Q1"
    status: str  # one of STATUSES
    message: str
    title: str = ""  # "conversion rate"


@dataclass
class LabResult:
    lab: str  # notebook file name
    exercises: list[ExerciseResult] = field(default_factory=list)
    error: str = ""  # why the notebook stopped early, or the error its setup cells raised ("" if none)
    seconds: float = 0.0

    def count(self, status: str = CORRECT) -> int:
        return sum(e.status == status for e in self.exercises)


# ---------------------------------------------------------------- reading outcomes from an executed notebook

def _check_cell_label(cell) -> str | None:
    """"Q1" for a cell whose whole source is `q1.check(…)`, else None."""
    if cell.cell_type != "code":
        return None
    m = _CHECK_CELL.match(cell.source)
    return m.group("q").upper() if m else None


def expected_exercises(nb: nbformat.NotebookNode) -> list[str]:
    """The exercises a lab checks, in order: ["Q1", "Q2", …]."""
    labels = [_check_cell_label(c) for c in nb.cells]
    return list(dict.fromkeys(label for label in labels if label))


def lab_exercises(path: Path, nb: nbformat.NotebookNode) -> list[str]:
    """The exercises of the course's own lab of that name (labs/), then any more the learner's copy checks:
    a check cell the learner deleted still counts (as not attempted)."""
    from recsys_course.config import REPO_ROOT

    reference = REPO_ROOT / "labs" / f"{lab_name(path)}.ipynb"
    own = expected_exercises(nb)
    if not reference.exists():
        return own
    return list(dict.fromkeys(expected_exercises(nbformat.read(reference, as_version=4)) + own))


def _bundled_outcome(data: dict) -> ExerciseResult | None:
    """The outcome an output carries as data (OUTCOME_MIME, see `core.Outcome.as_json`), or None."""
    d = data.get(OUTCOME_MIME)
    if not isinstance(d, dict) or d.get("status") not in core.REPORTED:
        return None
    label, _, title = str(d.get("exercise", "")).partition(" ")
    return ExerciseResult(label, core.REPORTED[d["status"]], str(d.get("message", "")), title)


def _outcome_in(outputs: list) -> ExerciseResult | None:
    """The last outcome shown by a check cell's outputs, read from its machine-readable data (never its text)."""
    found = [r for r in (_bundled_outcome(out.get("data", {})) for out in outputs) if r is not None]
    return found[-1] if found else None


def _error_in(outputs: list) -> str:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {str(out.get('evalue', '')).splitlines()[0] if out.get('evalue') else ''}"
    return ""


def read_outcomes(nb: nbformat.NotebookNode, expected: list[str], stopped: str = "") -> list[ExerciseResult]:
    """One result per expected exercise, from an executed notebook.

    A check cell's outcome is taken as shown; an error in the cells between the previous check and this one
    (the learner's answer cells) turns a blank or wrong answer into *raised*. An exercise whose check never
    produced an outcome is *not attempted*, with the reason (`stopped`: why the run ended early).
    """
    results: dict[str, ExerciseResult] = {}
    section_error = ""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        label = _check_cell_label(cell)
        if cell.execution_count is None and not cell.get("outputs"):
            continue  # not run: the notebook stopped before it
        if label is None:
            if not _MENTIONS_CHECK.search(cell.source):  # `if q2.check().correct: …` belongs to Q2, not the next
                section_error = section_error or _error_in(cell.get("outputs", []))
            continue
        got = _outcome_in(cell.get("outputs", [])) or ExerciseResult(
            label, RAISED if _error_in(cell.outputs) else NOT_ATTEMPTED,
            _error_in(cell.outputs) or "its check cell showed no outcome")
        if section_error and got.status != CORRECT:
            got = ExerciseResult(label, RAISED, f"your code raised {section_error}")
        results.setdefault(label, got)
        section_error = ""
    why = stopped or "its check cell is missing"
    return [results.get(q) or ExerciseResult(q, NOT_ATTEMPTED, f"not checked: {why}") for q in expected]


# ---------------------------------------------------------------- running a learner's notebook

def run_lab(path: Path, timeout: int = 600, scale: str = "tiny") -> LabResult:
    """Execute a copy of a lab notebook in a temporary folder, in its own kernel, within `timeout` seconds in all."""
    import os

    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = read_notebook(path)
    for cell in nb.cells:  # outputs saved by the learner's own session never count
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    expected = lab_exercises(path, nb)
    start = time.monotonic()
    deadline = start + timeout
    stopped = ""
    with tempfile.TemporaryDirectory(prefix="recsys-progress-") as tmp:
        shutil.copy2(path, Path(tmp) / path.name)  # the learner's file is read, never written
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": tmp}})

        def _limit(cell, cell_index):  # the time left for the whole notebook bounds every cell
            client.timeout = max(1, int(deadline - time.monotonic()))

        client.on_cell_start = _limit
        try:
            client.execute(env={**os.environ, "RECSYS_SCALE": scale})
        except CellTimeoutError:
            stopped = f"the notebook's time limit ({timeout} s) was reached"
        except DeadKernelError:
            stopped = "the kernel died (out of memory?)"
    return LabResult(path.name, read_outcomes(nb, expected, stopped), stopped or setup_error(nb),
                     round(time.monotonic() - start, 1))


def setup_error(nb: nbformat.NotebookNode) -> str:
    """The first error raised before the first check cell (the lab's setup: data missing, a package not found)."""
    for cell in nb.cells:
        if _check_cell_label(cell):
            break
        if cell.cell_type == "code" and _error_in(cell.get("outputs", [])):
            return _error_in(cell.outputs)
    return ""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook, or a ProgressError that names the file."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception as e:  # noqa: BLE001 - json, schema or encoding errors all mean "not a notebook"
        raise ProgressError(f"{path}: not a readable notebook ({type(e).__name__}: {e})") from None


# ---------------------------------------------------------------- learners and classes

def find_learners(paths: list[Path]) -> dict[str, list[Path]]:
    """Notebooks per learner. Files or a folder of notebooks: one learner (""); a folder of folders: a class."""
    if not paths:
        raise ProgressError("give lab notebooks or a folder")
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ProgressError(f"{missing[0]}: no such file or folder")
    if len(paths) == 1 and paths[0].is_dir():
        return _learners_in(paths[0])
    not_nb = [p for p in paths if p.is_dir() or p.suffix != ".ipynb"]
    if not_nb:
        raise ProgressError(f"{not_nb[0]}: not a notebook (give .ipynb files, or a single folder)")
    return {"": sorted(paths)}


def _learners_in(folder: Path) -> dict[str, list[Path]]:
    learners: dict[str, list[Path]] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        notebooks = sorted(p for p in sub.glob("*.ipynb"))
        if notebooks:
            learners[sub.name] = notebooks
    direct = sorted(folder.glob("*.ipynb"))
    prefixed = [p for p in direct if LEARNER_SEPARATOR in p.stem]
    for p in prefixed:
        learners.setdefault(p.stem.split(LEARNER_SEPARATOR)[0], []).append(p)
    if not learners and direct:
        return {"": direct}  # one learner's folder
    if not learners:
        raise ProgressError(f"{folder}: no .ipynb files in it or in its sub-folders")
    loose = [p.name for p in direct if p not in prefixed]
    if loose:
        raise ProgressError(f"{folder}: {loose[0]} belongs to no learner: put it in a sub-folder named after the "
                            f"learner, or name it LEARNER{LEARNER_SEPARATOR}{loose[0]}")
    return learners


def lab_name(path: Path) -> str:
    """The lab a notebook is, without a learner prefix: 'alice__01_data_lab.ipynb' -> '01_data_lab'."""
    return path.stem.split(LEARNER_SEPARATOR, 1)[-1]


# ---------------------------------------------------------------- reports

_SHOWN = {core.REPORTED[s]: f"{core.MARKS[s]} {core.REPORTED[s]}" for s in core.STATUSES}  # "✅ correct", …


def totals(labs: list[LabResult]) -> dict[str, int]:
    """How many exercises have each status, and how many there are."""
    counts = {s: sum(lab.count(s) for lab in labs) for s in STATUSES}
    return {**counts, "exercises": sum(len(lab.exercises) for lab in labs)}


def format_text(labs: list[LabResult], learner: str = "") -> str:
    """The per-lab, per-exercise table a learner reads, with a total."""
    lines = [f"learner: {learner}"] if learner else []
    for lab in labs:
        lines.append(f"{lab_name(Path(lab.lab))}  ({lab.seconds:.0f} s){'  — ' + lab.error if lab.error else ''}")
        lines += [f"  {(e.exercise + ' ' + e.title).strip():28} {_SHOWN[e.status]:17} {e.message}" for e in lab.exercises]
    t = totals(labs)
    lines.append(f"total: {t[CORRECT]} of {t['exercises']} exercises correct ({t[INCORRECT]} incorrect, "
                 f"{t[RAISED]} raised, {t[NOT_ATTEMPTED]} not attempted)")
    return "\n".join(lines)


def as_json(results: dict[str, list[LabResult]]) -> list[dict]:
    """Machine-readable: one entry per learner ("" for a single learner) with its labs and totals."""
    return [{"learner": learner, "labs": [asdict(lab) for lab in labs], "total": totals(labs)}
            for learner, labs in results.items()]


def write_csv(results: dict[str, list[LabResult]], out: Path) -> Path:
    """One row per learner, one column per lab exercise (its status), then the count of correct ones."""
    columns = sorted({(lab_name(Path(lab.lab)), e.exercise) for labs in results.values() for lab in labs
                      for e in lab.exercises}, key=lambda c: (c[0], int(c[1][1:])))
    header = ["learner", *(f"{lab} {q}" for lab, q in columns), "correct", "exercises"]
    rows = []
    for learner, labs in results.items():
        status = {(lab_name(Path(lab.lab)), e.exercise): e.status for lab in labs for e in lab.exercises}
        t = totals(labs)
        rows.append([learner, *(status.get(c, "missing") for c in columns), t[CORRECT], t["exercises"]])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    tmp.replace(out)  # whole or not at all
    return out


def progress(paths: list[Path], timeout: int = 600, scale: str = "tiny", log=None) -> dict[str, list[LabResult]]:
    """Run every learner's labs (each notebook in its own kernel) and return their results per learner."""
    learners = find_learners(paths)
    for notebooks in learners.values():
        for p in notebooks:
            read_notebook(p)  # every file is a notebook before anything runs
    results: dict[str, list[LabResult]] = {}
    for learner, notebooks in learners.items():
        results[learner] = []
        for p in notebooks:
            if log:
                log(f"running {p} …")
            results[learner].append(run_lab(p, timeout, scale))
    return results
