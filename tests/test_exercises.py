"""The exercise framework: official solutions pass, blanks are 'not attempted', variables are read from the caller,
hints and solutions display, gated cells say why they did not run, and `.solution()` is the solution notebook's code.

The wrong and right answers of every exercise are in tests/mistakes/catalogue.py (run by test_mistakes.py).
"""
from __future__ import annotations

import re

import nbformat
import pytest

from conftest import REPO
from recsys_course.course.exercises import ____
from mistakes.support import lab_namespace, labs  # noqa: F401 - fixtures
from recsys_course.course.exercises.core import CORRECT, INCORRECT, NOT_ATTEMPTED, Text, raised_message


def solve(exercise, namespace: dict) -> dict:
    """Run the exact code `.solution()` shows, in a namespace like the lab's."""
    code = re.sub(r"^```python\n|\n```$", "", exercise.solution().text)
    ns = dict(namespace)
    exec(code, ns)  # noqa: S102 - our own solution text
    return {n: ns[n] for n in exercise.names}


def expect(outcome, status, pattern=""):
    assert outcome.status == status, str(outcome)
    assert re.search(pattern, outcome.message), str(outcome)


def test_every_official_solution_passes_and_every_blank_is_not_attempted(labs, lab_namespace):
    dcn_runs = lab_namespace["dcn_runs"](0.75, 0.65)  # lab 04's measurement cell, run before its Q4
    measured = {"lab04": {"runs": dcn_runs, "auc_noise": lab_namespace["noise_of"](dcn_runs)},
                "lab05": {"runs": lab_namespace["runs_of"](0.62, 0.61, 0.68)}}  # lab 05's, before its Q3
    ns = dict(lab_namespace)
    for lab, exercises in labs.items():
        ns.update(measured.get(lab, {}))
        if lab == "lab06":  # the cell above Q1's blank in the lab: a class registered earlier in this process goes
            from recsys_course.course.exercises.lab06 import REGISTER_LINE
            exec(REGISTER_LINE, ns)  # noqa: S102 - our own line, as the lab runs it
        runs = ns.get("runs")  # noqa: F841 - read by check() from this frame, as from a notebook
        for q in exercises:
            expect(q.check(**{n: ____ for n in q.names}), NOT_ATTEMPTED, r"replace `____`")
            values = solve(q, ns)
            ns.update(values)  # later exercises build on earlier answers, as in the lab
            expect(q.check(**values), CORRECT)


def test_a_copy_of_lab_04_made_before_q4_still_unpacks_into_three(lab_namespace):
    from recsys_course.course.exercises import lab04

    old = lab04(lab_namespace["schema"], lab_namespace["batch"])  # `q1, q2, q3 = lab04(schema, batch)`
    new = lab04(lab_namespace["schema"], lab_namespace["batch"], lab_namespace["valid_target"])
    assert [q.label for q in old] == [q.label for q in new[:3]]
    assert new[3].label == "Q4 explain the result"


def test_check_reads_the_notebooks_variables(labs):
    q1 = labs["lab01"][0]
    conversion_rate = ____  # noqa: F841 - read by check() from this frame
    expect(q1.check(), NOT_ATTEMPTED)
    conversion_rate = 0.1234  # noqa: F841
    expect(q1.check(), INCORRECT, "not the share")


def test_ready_says_in_one_line_why_a_gated_cell_did_not_run(labs, capsys):
    q1 = labs["lab01"][0]
    conversion_rate = ____  # noqa: F841
    assert q1.ready() is False
    assert capsys.readouterr().out == "Q1 is not correct yet: run q1.check()\n"
    conversion_rate = float(labs["lab01"][0].ctx["rows"]["target"].mean())  # noqa: F841
    assert q1.ready() is True
    assert capsys.readouterr().out == ""


def test_hints_are_tiered_and_end_in_the_solution(labs):
    q = labs["lab03"][2]
    assert q.hint().text != q.hint(2).text
    assert "q3.hint(2)" in q.hint(1).text and "last hint" in q.hint(99).text
    assert "interaction_strengths" in q.solution().text
    with pytest.raises(ValueError):
        q.hint(0)


class _Shell:
    execution_count = 7


def test_hints_display_when_asked_so_several_in_one_cell_all_show(labs, monkeypatch):
    shown = []
    monkeypatch.setattr("recsys_course.course.exercises.core._ipython", lambda: _Shell())
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    q = labs["lab02"][0]
    first, second = q.hint(1), q.hint(2)
    assert shown == [first.text, second.text]
    second._ipython_display_()  # the cell's last value: already shown in this cell, not shown twice
    assert len(shown) == 2
    _Shell.execution_count = 8
    second._ipython_display_()  # shown again when displayed from a later cell
    assert shown[-1] == second.text
    assert str(q.solution()).startswith("```python")


def test_the_raised_message_points_at_the_learners_line():
    def learner():
        return {}["price"]

    try:
        learner()
    except KeyError as e:
        assert raised_message(e) == "KeyError: 'price' — at `return {}[\"price\"]`"
    cell = compile("def f():\n    raise ValueError('bad width')\nf()", "/tmp/ipykernel_123/456.py", "exec")
    try:
        exec(cell, {})  # noqa: S102
    except ValueError as e:
        assert raised_message(e).startswith("ValueError: bad width — at `")
    import numpy as np

    try:
        np.stack([np.zeros(2), np.zeros(3)])
    except ValueError as e:
        assert "inside Merlin/TensorFlow" not in raised_message(e)  # the test's own line is the learner's line here
        assert raised_message(e).endswith("at `np.stack([np.zeros(2), np.zeros(3)])`")


def test_each_solution_text_is_the_solution_notebooks_answer(labs):
    """`.solution()` shows the solution notebook's region (what nbval runs), read from the notebook: one source."""
    for lab, exercises in labs.items():
        nb = nbformat.read(next((REPO / "solutions").glob(f"{lab[3:]}_*_solution.ipynb")), as_version=4)
        regions = [re.search(r"# BEGIN SOLUTION\n(.*)\n# END SOLUTION", c.source, re.S).group(1)
                   for c in nb.cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]
        assert len(regions) == len(exercises), lab
        for q, region in zip(exercises, regions):
            assert q.solution().text == f"```python\n{region}\n```", f"{lab} {q.label}: not the notebook's region"


def test_no_blank_cell_resets_a_name_another_cell_defines():
    """A lab's blank cell assigns `____` to the names its solution region defines; if two regions (or a region and
    a setup cell) defined the same name, running a blank cell would wipe the learner's earlier work."""
    from recsys_course.course.exercises.regions import _assigned_names

    for path in sorted((REPO / "solutions").glob("*_solution.ipynb")):
        nb = nbformat.read(path, as_version=4)
        seen: dict[str, int] = {}
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or cell.source.lstrip().startswith("# HIDDEN TEST"):
                continue
            body = re.sub(r"# (BEGIN|END) SOLUTION\n?", "", cell.source)
            for name in _assigned_names(body):
                assert name not in seen, f"{path.name}: cell {i} redefines {name!r} from cell {seen[name]}"
                seen[name] = i


def test_text_is_usable_as_a_value():
    t = Text("**hint**")
    assert str(t) == repr(t) == t._repr_markdown_() == "**hint**"
    assert t.show() is t  # outside IPython: nothing displayed, the value comes back


def test_lab03_lists_the_candidates_its_check_ranks():
    """Lab 03's Q3 check ranks formats.CROSS_CANDIDATES; the notebook must show the learner the same list."""
    import ast

    from recsys_course.data.formats import CROSS_CANDIDATES

    nb = nbformat.read(REPO / "solutions" / "03_dlrm_cross_solution.ipynb", as_version=4)
    line = next(x for c in nb.cells if c.cell_type == "code" for x in c.source.splitlines() if x.startswith("CANDIDATES ="))
    assert ast.literal_eval(line.split("=", 1)[1].strip()) == CROSS_CANDIDATES


def test_a_check_run_again_after_training_says_the_same(labs, lab_namespace, tiny_processed):
    """TF 2.12 cannot list a compiled model's submodules; the checks walk them another way (the same set)."""
    from merlin.io import Dataset

    from recsys_course.course.exercises import merlin_adapter as rules

    ns = lab_namespace
    fresh = ns["model"](ns["shortcut"](ns["inputs"]()).connect(ns["mm"].MLPBlock([64])))
    assert {id(m) for m in rules.walk_submodules(fresh)} == {id(m) for m in fresh.submodules}
    q2 = labs["lab03"][1]
    assert q2.check(dlrm_model=fresh).correct
    train = Dataset(str(tiny_processed / "train"), engine="parquet")
    train.schema = ns["schema"]
    fresh.compile(optimizer="adam")
    fresh.fit(train, batch_size=512, epochs=1, steps_per_epoch=2, verbose=0)
    with pytest.raises((ValueError, TypeError)):
        fresh.submodules  # noqa: B018 - the TF behaviour the checks work around (remove the walk when this passes)
    assert q2.check(dlrm_model=fresh).correct


def _imported(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    return ({n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names})


def test_only_the_adapter_imports_merlin_and_no_lab_imports_another():
    for path in sorted((REPO / "recsys_course" / "exercises").glob("*.py")):
        modules = _imported(path)
        if path.name != "merlin_adapter.py":
            assert not [m for m in modules if m.split(".")[0] == "merlin"], path.name
        if path.name.startswith("lab"):
            assert not [m for m in modules if re.fullmatch(r"recsys_course\.exercises\.lab\d+", m)], path.name


def test_the_adapter_warns_once_for_another_merlin_version(monkeypatch):
    import warnings

    from recsys_course.course.exercises import merlin_adapter

    assert merlin_adapter.INSTALLED == merlin_adapter.CHECKED_WITH  # the pinned release is the one checked against
    monkeypatch.setattr(merlin_adapter, "_WARNED", [])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        merlin_adapter.warn_if_other_version("99.1.0")
        merlin_adapter.warn_if_other_version("99.1.0")
        merlin_adapter.warn_if_other_version(merlin_adapter.CHECKED_WITH)
    assert [str(w.message) for w in seen] == [
        f"the exercise checks read Merlin Models' block tree as merlin-models {merlin_adapter.CHECKED_WITH} builds it; "
        "99.1.0 is installed, so a check may misread a model"]


def test_a_check_sees_only_the_names_it_declares():
    """An exercise reads its answers (`names`), the lab's other answers and what it declares in `reads`: a check
    cannot depend on a notebook name nobody declared (lab 05's Q3 declares `runs`)."""
    from recsys_course.course.exercises.core import Exercise, Incorrect, Lab
    from recsys_course.course.exercises.lab05 import Q3 as Lab05Q3

    seen = {}

    class Answer(Exercise):
        names = ("answer",)

    class Reader(Exercise):
        names = ("guess",)
        reads = ("measured",)

        def verify(self, guess):
            seen.update(self.scope)
            if self.scope.get("measured") is None:
                raise Incorrect("nothing measured")

    _, reader = Lab().add(Answer, Reader)
    answer, guess, measured, undeclared = 1, 2, 3, 4  # noqa: F841 - the caller's names the check may read
    expect(reader.check(), CORRECT)
    assert seen == {"answer": 1, "guess": 2, "measured": 3}
    assert "runs" in Lab05Q3.reads
