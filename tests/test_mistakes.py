"""The mistakes catalogue (tests/mistakes/catalogue.py): no wrong answer passes, no right one is refused, each
wrong answer gets its own message, and `check()` never raises."""
from __future__ import annotations

import json
import linecache
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from mistakes.catalogue import CASES
from mistakes.support import lab_namespace, labs  # noqa: F401 - fixtures
from recsys_course.course.exercises.core import CORRECT, INCORRECT, RAISED

STATUS = {"correct": CORRECT, "incorrect": INCORRECT, "raised": RAISED}
# Each case's outcome before the exercises were declared (tools/catalogue_outcomes.py record): statuses held equal.
BEFORE = json.loads((Path(__file__).parent / "mistakes" / "outcomes_before.json").read_text()) \
    if (Path(__file__).parent / "mistakes" / "outcomes_before.json").is_file() else {}
RECORDED: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module", autouse=True)
def _record_outcomes():
    """With CATALOGUE_OUTCOMES set (tools/catalogue_outcomes.py), write every case's outcome there at the end."""
    yield
    if os.environ.get("CATALOGUE_OUTCOMES") and RECORDED:
        Path(os.environ["CATALOGUE_OUTCOMES"]).write_text(json.dumps(RECORDED, indent=1, ensure_ascii=False) + "\n")


def _case_id(case) -> str:
    return f"{case.lab}-q{case.number}-{case.label}"


def _run(code: str, name: str, ns: dict) -> dict:
    """Run a case's code as the learner's cell would (a named file, so a traceback shows its lines)."""
    filename = f"/catalogue/{re.sub(r'[^A-Za-z0-9]+', '_', name)}.py"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    exec(compile(code, filename, "exec"), ns)  # noqa: S102 - the catalogue's own code
    return ns


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_catalogue(case, labs, lab_namespace):  # noqa: F811
    q = labs[case.lab][case.number - 1]
    ns = {**lab_namespace, **{f"q{i + 1}": e for i, e in enumerate(labs[case.lab])}}
    _run(case.code, _case_id(case), ns)
    if "outcome" not in ns:  # the check reads the answer from the "notebook", as `qN.check()` does in a cell
        _run(f"outcome = q{case.number}.check()", "check", ns)  # a raise here fails: check() must never raise
    outcome = ns["outcome"]
    RECORDED[_case_id(case)] = {"status": outcome.status, "message": outcome.message}
    assert outcome.exercise == q.label, outcome
    assert outcome.status == STATUS[case.status], f"{case.label}: {outcome}"
    assert re.search(case.pattern, outcome.message), f"{case.label}: {outcome}"
    if BEFORE:  # a case added after the before file has no entry; every recorded one keeps its status
        assert outcome.status == BEFORE.get(_case_id(case), {"status": outcome.status})["status"], outcome


def test_the_before_file_records_every_case_with_its_expected_status():
    assert {_case_id(c): STATUS[c.status] for c in CASES} == {k: v["status"] for k, v in BEFORE.items()}


def test_every_exercise_has_eight_wrong_and_two_right_answers(labs):  # noqa: F811
    wrong = Counter((c.lab, c.number) for c in CASES if c.status != "correct")
    right = Counter((c.lab, c.number) for c in CASES if c.status == "correct")
    for lab, exercises in labs.items():
        for i, _ in enumerate(exercises, start=1):
            assert wrong[(lab, i)] >= 8 and right[(lab, i)] >= 2, (lab, i, wrong[(lab, i)], right[(lab, i)])


def test_each_wrong_answer_of_an_exercise_is_told_something_specific():
    """Different mistakes of one exercise are not all answered with one generic sentence."""
    for key in {(c.lab, c.number) for c in CASES}:
        patterns = [c.pattern for c in CASES if (c.lab, c.number) == key and c.status != "correct"]
        assert len(set(patterns)) >= 6, key
