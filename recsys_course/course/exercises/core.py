"""The exercise framework: one small class per exercise, `q1.check()`, `q1.hint()`, `q1.solution()`, `q1.ready()`.

Each exercise class (`Q1`, `Q2`… in a lab module) declares its variable names, its hints and its `verify` (built
from `checkers`); its official solution is the solution notebook's `# BEGIN SOLUTION … # END SOLUTION` region
(the same one `labgen` blanks out), read when `solution()` is called. `check()` reads the variables from the notebook (or takes them by name) and has four
outcomes: not attempted (a blank `____` is still there), incorrect (a specific message per recognised mistake,
else the first difference found: expected vs got), your code raised (the error, and the line of your code that
failed), and correct. `check()` itself never raises. A `Lab` groups a lab's exercises and what they share: the
data (rows, schema, a batch) and the answers checked so far, so that a later exercise can tell a reused block.
"""
from __future__ import annotations

import inspect
import sys
import sysconfig
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from recsys_course.config import REPO_ROOT

NOT_ATTEMPTED = "not attempted"
INCORRECT = "incorrect"
RAISED = "your code raised"
CORRECT = "correct"
STATUSES = (CORRECT, INCORRECT, RAISED, NOT_ATTEMPTED)
# What a report (`progress`: its table, JSON and CSV) calls each status, and the mark an Outcome's text starts with.
REPORTED = {CORRECT: "correct", INCORRECT: "incorrect", RAISED: "raised", NOT_ATTEMPTED: "not attempted"}
MARKS = {CORRECT: "✅", INCORRECT: "❌", RAISED: "💥", NOT_ATTEMPTED: "⬜"}
# The machine-readable form of an Outcome in a notebook's outputs (read by `recsys_course.tools.progress`).
OUTCOME_MIME = "application/vnd.recsys-course.outcome+json"

_PACKAGE_DIR = str(REPO_ROOT / "recsys_course")
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})


class _Blank:
    """The placeholder a lab starts with. Any use of it other than assignment is a clear error."""

    def __repr__(self) -> str:
        return "____"

    def __getattr__(self, *args, **kwargs):
        raise NotImplementedError("replace ____ with your code first")

    __call__ = __getattr__


____ = _Blank()


class Incorrect(Exception):
    """Raised by a check for a wrong answer; the message is shown to the learner."""


@dataclass(frozen=True)
class Outcome:
    """What `check()` says: one of the four statuses and a message.

    In a notebook it shows as text ("✅ Q1 … — correct: …") and carries the same facts as JSON under OUTCOME_MIME,
    which `progress` reads instead of parsing the text.
    """

    exercise: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        return f"{MARKS[self.status]} {self.exercise} — {self.status}: {self.message}"

    __repr__ = __str__

    def as_json(self) -> dict[str, str]:
        """The outcome as data: exercise ("Q1 conversion rate"), status (one of STATUSES) and message."""
        return {"exercise": self.exercise, "status": self.status, "message": self.message}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        """What IPython shows for the outcome: its text, and the same as JSON for machines (OUTCOME_MIME)."""
        return {"text/plain": str(self), OUTCOME_MIME: self.as_json()}


def _ipython():
    """The running IPython shell, or None (plain Python, pytest)."""
    shell = sys.modules.get("IPython")
    return shell.get_ipython() if shell is not None else None


@dataclass
class Text:
    """A hint or a solution. Shown as soon as it is asked for in a notebook, so several in one cell all show."""

    text: str
    _shown_at: int | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text

    __repr__ = _repr_markdown_ = __str__

    def show(self) -> "Text":
        """Display now when inside IPython (remembering the cell), so the cell's last value does not show it twice."""
        shell = _ipython()
        if shell is not None:
            self._display()
            self._shown_at = shell.execution_count
        return self

    def _ipython_display_(self) -> None:
        shell = _ipython()
        if shell is None or self._shown_at != shell.execution_count:
            self._display()

    def _display(self) -> None:
        from IPython.display import Markdown, display

        display(Markdown(self.text))


def _is_cell(filename: str) -> bool:
    return filename.startswith("<ipython-input-") or ("/ipykernel_" in filename and filename.endswith(".py"))


def _learners_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The last frame of the learner's own code: a notebook cell, else any file outside this package and libraries."""
    frames = traceback.extract_tb(exc.__traceback__)
    cells = [f for f in frames if _is_cell(f.filename)]
    if cells:
        return cells[-1]
    own = [f for f in frames if not f.filename.startswith((_PACKAGE_DIR, *_LIBRARY_DIRS))
           and "site-packages" not in f.filename and not f.filename.startswith("<")]
    return own[-1] if own else None


def raised_message(exc: BaseException) -> str:
    """`KeyError: 'x' — at `line``, naming the learner's line; else where the error came from (a library, the check)."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    frame = _learners_frame(exc)
    if frame is not None:
        where = f" — at `{(frame.line or '').strip()}`"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        last = frames[-1].filename if frames else ""
        if any(lib in last for lib in ("/merlin/", "/tensorflow/", "/keras/")):
            where = (" — raised inside Merlin/TensorFlow when the check ran your answer on a 5-row batch; "
                     "check the widths and names your blocks use")
        else:
            where = " — raised when the check used your answer; check its type and how it is called"
    return f"{type(exc).__name__}: {first[:300]}{where}"


def caller_scope(frame) -> dict[str, Any]:
    """The notebook's names as seen from `frame` (globals, then locals)."""
    return {**frame.f_globals, **frame.f_locals} if frame else {}


class Earlier(NamedTuple):
    """An earlier exercise's answer, as a later check compares with it."""

    name: str
    label: str
    value: Any
    whole_ok: bool  # the notebook's current value: it may be part of the new model as a whole


class Lab:
    """A lab's shared context (rows, schema, batch…) and the answers its exercises checked so far."""

    def __init__(self, **context: Any):
        self.context = context
        self.exercises: list[Exercise] = []
        self.checked: dict[str, Any] = {}

    def add(self, *classes: type["Exercise"]) -> tuple["Exercise", ...]:
        self.exercises = [cls(self, i + 1) for i, cls in enumerate(classes)]
        return tuple(self.exercises)

    def earlier_answers(self, exercise: "Exercise", scope: dict[str, Any]) -> list[Earlier]:
        """Every earlier exercise's answers: the one its check last saw, and the
        notebook's current value when it differs (a Q1 cell re-run, or never checked).

        A value a check saw may not appear in a later model at all; the notebook's value may (whole_ok), because a
        learner may reuse a name for a new block (`interaction = …` again in Q4): only its parts must not be shared.
        """
        found = []
        for ex in self.exercises[: exercise.number - 1]:
            for name in ex.names:
                checked, current = self.checked.get(name, ____), scope.get(name, ____)
                if checked is not ____:
                    found.append(Earlier(name, ex.label, checked, False))
                if current is not ____ and current is not checked:
                    found.append(Earlier(name, ex.label, current, True))
        return found

    def later_answers(self, exercise: "Exercise") -> list[Earlier]:
        """The answers later exercises' checks saw (a lab done out of order): a model must not share blocks with
        them either."""
        return [Earlier(n, ex.label, self.checked[n], False) for ex in self.exercises[exercise.number:]
                for n in ex.names if n in self.checked]


class Exercise:
    """One exercise. Subclasses set the class attributes and write `verify(**values)`."""

    title: ClassVar[str] = ""
    names: ClassVar[tuple[str, ...]] = ()
    # the notebook's other names the check reads (a measurement such as `runs`): declared, as the answers are;
    # `self.scope` holds these and the lab's answers' names, nothing else of the notebook
    reads: ClassVar[tuple[str, ...]] = ()
    hints: ClassVar[tuple[str, ...]] = ()
    success: ClassVar[str] = "well done."

    def __init__(self, lab: Lab, number: int):
        self.lab = lab
        self.number = number
        self.scope: dict[str, Any] = {}

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.title}"

    @property
    def ctx(self) -> dict[str, Any]:
        return self.lab.context

    def verify(self, **values: Any) -> str | None:
        """Raise Incorrect for a wrong answer; return a success message (None: the class's `success`)."""
        raise NotImplementedError

    def check(self, **values: Any) -> Outcome:
        """Check the exercise's variables (read from the notebook unless given by name)."""
        return self._outcome(values, caller_scope(inspect.currentframe().f_back))

    def _outcome(self, values: dict[str, Any], scope: dict[str, Any]) -> Outcome:
        unknown = sorted(set(values) - set(self.names) - set(self.reads))
        if unknown:
            given = ", ".join(f"`{n}`" for n in unknown)
            return Outcome(self.label, INCORRECT, f"q{self.number}.check() does not know {given}: it checks "
                           f"{', '.join(f'`{n}`' for n in self.names)} (call `q{self.number}.check()`, or "
                           f"`q{self.number}.check({self.names[0]}=...)`).")
        scope = {**scope, **{n: values[n] for n in self.reads if n in values}}  # a read given by name
        values = {n: values[n] if n in values else scope.get(n, ____) for n in self.names}
        blank = [n for n in self.names if values.get(n, ____) is ____]
        if blank:
            return Outcome(self.label, NOT_ATTEMPTED,
                           f"replace `____` in `{', '.join(blank)}` with your code, then run this cell again "
                           f"(stuck? `q{self.number}.hint()`).")
        visible = {*self.reads, *(n for ex in self.lab.exercises for n in ex.names)}
        self.scope = {n: v for n, v in scope.items() if n in visible}
        self.lab.checked.update({n: values[n] for n in self.names})
        try:
            message = self.verify(**{n: values[n] for n in self.names})
        except Incorrect as e:
            return Outcome(self.label, INCORRECT, str(e))
        except Exception as e:  # noqa: BLE001 - the learner's code may raise anything
            return Outcome(self.label, RAISED, raised_message(e))
        return Outcome(self.label, CORRECT, message or self.success)

    def ready(self) -> bool:
        """For gated cells (`if q2.ready():`): True when correct, else one line saying what to do."""
        outcome = self._outcome({}, caller_scope(inspect.currentframe().f_back))
        if not outcome.correct:
            print(f"Q{self.number} is not correct yet: run q{self.number}.check()")
        return outcome.correct

    def hint(self, level: int = 1) -> Text:
        """Hints get more specific as `level` grows."""
        if level < 1:
            raise ValueError("hint levels start at 1")
        if level > len(self.hints):
            return Text(f"{self.hints[-1]}\n\n(That is the last hint: `q{self.number}.solution()` shows the answer.)").show()
        more = f"\n\n(More: `q{self.number}.hint({level + 1})`.)" if level < len(self.hints) else ""
        return Text(self.hints[level - 1] + more).show()

    def solution(self) -> Text:
        """The official answer: the solution notebook's region for this exercise (lab NN's Nth region)."""
        lab = type(self).__module__.rsplit(".", 1)[-1].removeprefix("lab")
        return Text(f"```python\n{solution_text(lab, self.number)}\n```").show()


SOLUTIONS = REPO_ROOT / "solutions"


def solution_text(lab: str, number: int) -> str:
    """The `number`th solution region of solutions/<lab>_*_solution.ipynb, or a line saying it is missing."""
    from recsys_course.course.exercises.regions import solution_regions

    found = sorted(SOLUTIONS.glob(f"{lab}_*_solution.ipynb"))
    regions = solution_regions(found[0]) if found else []
    if len(regions) < number:
        return f"# the official answer is in solutions/{lab}_*_solution.ipynb, which this copy of the course lacks"
    return regions[number - 1]
