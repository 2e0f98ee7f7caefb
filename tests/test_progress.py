"""`python -m recsys_course progress`: a learner's real lab with mixed answers, run headless, reported exactly."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO
from recsys_course.tools import progress as pg
from recsys_course.course.exercises import core

LAB = REPO / "labs" / "01_data_lab.ipynb"

# Lab 01 answered by a learner: Q1 right, Q2 wrong (the direction reversed), Q3 raising in the answer cell.
MIXED = {
    "conversion_rate": 'conversion_rate = rows["target"].mean()',
    "is_nested": "def is_nested(rows, child, parent):\n    return bool(rows.groupby(parent)[child].nunique().max() <= 1)",
    "embedding_params": 'embedding_params = schema["no_such_column"].int_domain.max * 64',
}
ALL_RIGHT = {
    "conversion_rate": 'conversion_rate = rows["target"].mean()',
    "is_nested": "def is_nested(rows, child, parent):\n    return bool(rows.groupby(child)[parent].nunique().max() <= 1)",
    "embedding_params": "embedding_params = sum((c.int_domain.max + 1) * 64 for c in schema.select_by_tag(Tags.CATEGORICAL))",
}


def learner_copy(answers: dict[str, str], out, extra_cells: dict[int, str] | None = None):
    """A copy of the generated lab with some `NAME = ____` answer cells filled in (others left blank)."""
    nb = nbformat.read(LAB, as_version=4)
    filled = set()
    for cell in nb.cells:
        m = re.match(r"^(\w+) = ____", cell.source)
        if cell.cell_type == "code" and m and m.group(1) in answers:
            cell.source = answers[m.group(1)]
            filled.add(m.group(1))
    assert filled == set(answers), f"lab 01 has no answer cell for {set(answers) - filled}"
    for index, source in sorted((extra_cells or {}).items(), reverse=True):
        nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def _statuses(lab: pg.LabResult) -> dict[str, str]:
    return {e.exercise: e.status for e in lab.exercises}


@pytest.mark.slow
def test_a_lab_with_mixed_outcomes_is_reported_per_exercise(tmp_path):
    path = learner_copy(MIXED, tmp_path / "01_data_lab.ipynb")
    nb = nbformat.read(path, as_version=4)  # an output saved in the learner's session claims Q3 is correct
    q3 = next(c for c in nb.cells if c.source.strip() == "q3.check()")
    q3.outputs = [nbformat.from_dict(_result("✅ Q3 embedding parameters — correct: saved, not run"))]
    nbformat.write(nb, path)
    before = path.read_bytes()
    out = subprocess.run([sys.executable, "-m", "recsys_course", "progress", str(path), "--json", "--timeout", "300"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    [report] = json.loads(out.stdout)
    [lab] = report["labs"]
    got = {e["exercise"]: (e["status"], e["message"]) for e in lab["exercises"]}
    assert got["Q1"][0] == "correct"
    assert got["Q2"] == ("incorrect", got["Q2"][1]) and "direction is reversed" in got["Q2"][1]
    assert got["Q3"][0] == "raised" and "KeyError" in got["Q3"][1], got["Q3"]
    assert report["total"] == {"correct": 1, "incorrect": 1, "raised": 1, "not attempted": 0, "exercises": 3}
    assert path.read_bytes() == before  # the learner's notebook is read, never written
    assert list(tmp_path.iterdir()) == [path]  # nothing left behind where it ran


@pytest.mark.slow
def test_the_text_report_has_a_line_per_exercise_and_a_total(tmp_path):
    path = learner_copy({"conversion_rate": MIXED["conversion_rate"]}, tmp_path / "01_data_lab.ipynb")
    [lab] = pg.progress([path], timeout=300)[""]
    text = pg.format_text([lab])
    assert re.search(r"Q1 conversion rate\s+✅ correct", text), text
    assert re.search(r"Q2 nested features\s+⬜ not attempted", text), text
    assert text.splitlines()[-1] == "total: 1 of 3 exercises correct (0 incorrect, 0 raised, 2 not attempted)"


@pytest.mark.slow
def test_a_class_folder_gives_one_csv_of_who_finished_what(tmp_path):
    klass = tmp_path / "class"
    learner_copy(ALL_RIGHT, klass / "ada" / "01_data_lab.ipynb")
    learner_copy(MIXED, klass / "bob__01_data_lab.ipynb")
    out = subprocess.run([sys.executable, "-m", "recsys_course", "progress", str(klass), "--csv",
                          str(tmp_path / "who.csv"), "--timeout", "300"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr
    assert "learner: ada" in out.stdout and "learner: bob" in out.stdout
    rows = list(csv.DictReader((tmp_path / "who.csv").open(encoding="utf-8")))
    table = {r["learner"]: r for r in rows}
    assert set(table) == {"ada", "bob"}
    assert [table["ada"][f"01_data_lab Q{i}"] for i in (1, 2, 3)] == ["correct"] * 3
    assert [table["bob"][f"01_data_lab Q{i}"] for i in (1, 2, 3)] == ["correct", "incorrect", "raised"]
    assert (table["ada"]["correct"], table["bob"]["correct"], table["bob"]["exercises"]) == ("3", "1", "3")


@pytest.mark.slow
def test_the_time_limit_stops_a_notebook_and_says_so(tmp_path):
    nb = nbformat.read(LAB, as_version=4)
    q2_check = next(i for i, c in enumerate(nb.cells) if c.source.strip() == "q2.check()")
    path = learner_copy({"conversion_rate": MIXED["conversion_rate"]}, tmp_path / "01_data_lab.ipynb",
                        {q2_check: "import time\ntime.sleep(600)"})
    [lab] = pg.progress([path], timeout=30)[""]
    assert lab.seconds < 120
    assert "time limit (30 s)" in lab.error
    assert _statuses(lab) == {"Q1": "correct", "Q2": "not attempted", "Q3": "not attempted"}
    assert "time limit" in lab.exercises[1].message


# ------------------------------------------------------------- reading outcomes (no kernel)

def _executed(*cells: tuple[str, list]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source, execution_count=len(nb.cells) + 1)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def _result(text: str) -> dict:
    """What a check cell shows for the Outcome whose text is `text` ("✅ Q1 a — correct: ok"): text and data."""
    mark, rest = text.split(" ", 1)
    exercise, said = rest.split(" — ", 1)
    status, message = said.split(": ", 1)
    assert core.MARKS[status] == mark, text
    return _as_ipython_shows(core.Outcome(exercise, status, message))


def _text_only(text: str) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": text}}


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": []}


def test_an_outcome_printed_outside_a_check_cell_does_not_count():
    nb = _executed(("conversion_rate = 0.5", []),
                   ('print("✅ Q1 conversion rate — correct: well done.")',
                    [{"output_type": "stream", "name": "stdout", "text": "✅ Q1 conversion rate — correct: well done.\n"}]),
                   ("q1.check()", [_result("❌ Q1 conversion rate — incorrect: 0.5000 is not the share.")]))
    [q1] = pg.read_outcomes(nb, ["Q1"])
    assert (q1.status, q1.title) == ("incorrect", "conversion rate")


def test_an_error_in_an_answer_cell_makes_its_exercise_raised_and_not_the_next():
    nb = _executed(("x = ____", []), ("q1.check()", [_result("✅ Q1 a — correct: ok")]),
                   ("if q1.check().correct:\n    boom()", [_error("NameError", "name 'boom' is not defined")]),
                   ("y = 1 / 0", [_error("ZeroDivisionError", "division by zero")]),
                   ("q2.check()", [_result("⬜ Q2 b — not attempted: replace `____`")]),
                   ("q3.check()", [_result("⬜ Q3 c — not attempted: replace `____`")]))
    got = {r.exercise: (r.status, r.message) for r in pg.read_outcomes(nb, ["Q1", "Q2", "Q3", "Q4"])}
    assert got["Q1"][0] == "correct"
    assert got["Q2"] == ("raised", "your code raised ZeroDivisionError: division by zero")
    assert got["Q3"][0] == "not attempted"
    assert got["Q4"] == ("not attempted", "not checked: its check cell is missing")


def test_a_machine_readable_outcome_is_read_first():
    data = {pg.OUTCOME_MIME: {"exercise": "Q1 conversion rate", "status": "your code raised", "message": "KeyError"},
            "text/plain": "✅ Q1 conversion rate — correct: the text disagrees"}
    nb = _executed(("q1.check()", [{"output_type": "display_data", "metadata": {}, "data": data}]))
    [q1] = pg.read_outcomes(nb, ["Q1"])
    assert (q1.exercise, q1.title, q1.status, q1.message) == ("Q1", "conversion rate", "raised", "KeyError")


def _as_ipython_shows(value) -> dict:
    """The execute_result IPython's own display formatter makes of a cell's last value."""
    from IPython.core.formatters import DisplayFormatter

    data, metadata = DisplayFormatter().format(value)
    return {"output_type": "execute_result", "execution_count": 1, "metadata": metadata, "data": data}


@pytest.mark.parametrize("status", core.STATUSES)
def test_an_outcome_carries_its_status_as_data_that_progress_reads(status):
    outcome = core.Outcome("Q2 nested features", status, "a message — with a dash: and a colon")
    shown = _as_ipython_shows(outcome)
    assert shown["data"][pg.OUTCOME_MIME] == {"exercise": "Q2 nested features", "status": status,
                                             "message": "a message — with a dash: and a colon"}
    assert shown["data"]["text/plain"] == str(outcome)
    nb = _executed(("q2.check()", [shown]))
    nbformat.validate(nb)  # a JSON mime bundle is valid notebook content
    [q2] = pg.read_outcomes(nb, ["Q2"])
    assert (q2.exercise, q2.title, q2.status, q2.message) == (
        "Q2", "nested features", core.REPORTED[status], "a message — with a dash: and a colon")


@pytest.mark.slow
def test_a_check_cell_run_in_a_kernel_stores_the_outcome_as_data():
    from nbclient import NotebookClient

    setup = ("from recsys_course.course.exercises.core import Exercise, Lab\n"
             "class Rate(Exercise):\n    title, names = 'conversion rate', ('rate',)\n"
             "    def verify(self, rate):\n        return {'x': 1}[rate]\n"
             "[q1] = Lab().add(Rate)\nrate = 'y'")
    nb = _executed((setup, []), ("q1.check()", []))
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    [shown] = nb.cells[1].outputs
    assert shown["data"][pg.OUTCOME_MIME] == {"exercise": "Q1 conversion rate", "status": "your code raised",
                                             "message": shown["data"][pg.OUTCOME_MIME]["message"]}
    assert shown["data"][pg.OUTCOME_MIME]["message"].startswith("KeyError: 'y'")
    [q1] = pg.read_outcomes(nb, ["Q1"])
    assert (q1.status, q1.title) == ("raised", "conversion rate")


@pytest.mark.parametrize("status", core.STATUSES)
def test_an_outcome_as_text_alone_is_not_read(status):
    """Progress executes every notebook with this copy of the course, whose Outcomes carry their data: text alone
    in a check cell's output (printed, or from an older copy) is not an outcome, and never parsed."""
    text = f"{core.MARKS[status]} Q3 embedding parameters — {status}: 4,608 is not the count"
    nb = _executed(("q3.check()", [_text_only(text)]))
    [q3] = pg.read_outcomes(nb, ["Q3"])
    assert (q3.status, q3.message) == ("not attempted", "its check cell showed no outcome")


def test_progress_names_the_statuses_as_the_exercises_do():
    assert pg.STATUSES == tuple(core.REPORTED[s] for s in core.STATUSES)
    assert (pg.CORRECT, pg.INCORRECT, pg.RAISED, pg.NOT_ATTEMPTED) == ("correct", "incorrect", "raised", "not attempted")
    assert pg.OUTCOME_MIME == core.OUTCOME_MIME


def test_expected_exercises_come_from_the_check_cells_of_the_lab(tmp_path):
    nb = nbformat.read(LAB, as_version=4)
    assert pg.expected_exercises(nb) == ["Q1", "Q2", "Q3"]
    nb.cells = [c for c in nb.cells if c.source.strip() != "q2.check()"]  # a learner deleted a check cell
    assert pg.expected_exercises(nb) == ["Q1", "Q3"]
    assert pg.lab_exercises(tmp_path / "ada__01_data_lab.ipynb", nb) == ["Q1", "Q2", "Q3"]  # it still counts


def test_folders_name_their_learners_and_bad_input_is_named(tmp_path):
    nb = nbformat.v4.new_notebook()
    for rel in ("ada/01_data_lab.ipynb", "ada/02_blocks_lab.ipynb", "bob__01_data_lab.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, tmp_path / rel)
    learners = pg.find_learners([tmp_path])
    assert {k: [p.name for p in v] for k, v in learners.items()} == {
        "ada": ["01_data_lab.ipynb", "02_blocks_lab.ipynb"], "bob": ["bob__01_data_lab.ipynb"]}
    assert pg.lab_name(learners["bob"][0]) == "01_data_lab"
    nbformat.write(nb, tmp_path / "stray.ipynb")
    with pytest.raises(pg.ProgressError, match="stray.ipynb belongs to no learner"):
        pg.find_learners([tmp_path])
    with pytest.raises(pg.ProgressError, match="no such file"):
        pg.find_learners([tmp_path / "nope.ipynb"])
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(pg.ProgressError, match="broken.ipynb: not a readable notebook"):
        pg.progress([tmp_path / "broken.ipynb"])
