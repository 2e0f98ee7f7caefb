"""Exercise objects for the labs: `q1.check()`, `q1.hint()`, `q1.hint(2)`, `q1.solution()`.

`check()` reads the exercise's variables from the notebook and has four outcomes:
not attempted (a blank `____` is still there), incorrect (a specific message per common mistake),
your code raised (the error, and the line of your code that failed), and correct.
Checks look at behaviour — output shapes on a fixed batch, the block types a model contains, the
features it reads, parameter counts — never at private Keras attributes.
"""
from __future__ import annotations

import inspect
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

NOT_ATTEMPTED = "not attempted"
INCORRECT = "incorrect"
RAISED = "your code raised"
CORRECT = "correct"

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


class _Blank:
    """The placeholder a lab starts with. Any use of it other than assignment is a clear error."""

    def __repr__(self) -> str:
        return "____"

    def __getattr__(self, name):
        raise NotImplementedError("replace ____ with your code first")

    def __call__(self, *args, **kwargs):
        raise NotImplementedError("replace ____ with your code first")


____ = _Blank()


class Incorrect(Exception):
    """Raised by a checker for a recognised mistake; the message is shown to the learner."""


@dataclass(frozen=True)
class Outcome:
    exercise: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        mark = {CORRECT: "✅", INCORRECT: "❌", RAISED: "💥", NOT_ATTEMPTED: "⬜"}[self.status]
        return f"{mark} {self.exercise} — {self.status}: {self.message}"

    __repr__ = __str__


@dataclass(frozen=True)
class Text:
    """A hint or a solution: shown as text in a notebook."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


def _failing_line(exc: BaseException) -> str:
    """The last line of the learner's own code in the traceback (not the course package, not a library)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not f.filename.startswith(_PACKAGE_DIR) and "site-packages" not in f.filename]
    frame = (own or frames)[-1] if frames else None
    if frame is None:
        return ""
    return f" — at `{(frame.line or '').strip()}`"


class Exercise:
    def __init__(self, label: str, names: tuple[str, ...], checker: Callable[..., None], hints: list[str],
                 solution: str, success: str = "well done.", context: dict[str, Any] | None = None):
        self.label = label
        self.names = names
        self.checker = checker
        self.hints = hints
        self._solution = solution
        self.success = success
        self.context = context or {}

    def _values_from_caller(self) -> dict[str, Any]:
        frame = inspect.currentframe()
        caller = frame.f_back.f_back if frame and frame.f_back else None
        scope = dict(caller.f_globals) if caller else {}
        if caller:
            scope.update(caller.f_locals)
        return {n: scope.get(n, ____) for n in self.names}

    def check(self, **values: Any) -> Outcome:
        """Check the exercise's variables (read from the notebook unless given by name)."""
        values = values or self._values_from_caller()
        blank = [n for n in self.names if values.get(n, ____) is ____]
        if blank:
            return Outcome(self.label, NOT_ATTEMPTED,
                           f"replace `____` in `{' , '.join(blank)}` with your code, then run this cell again "
                           f"(stuck? `{self.label.split()[0].lower()}.hint()`).")
        try:
            self.checker(**{n: values[n] for n in self.names}, **self.context)
        except Incorrect as e:
            return Outcome(self.label, INCORRECT, str(e))
        except Exception as e:  # noqa: BLE001 - the learner's code may raise anything
            return Outcome(self.label, RAISED, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                                               f"{_failing_line(e)}")
        return Outcome(self.label, CORRECT, self.success)

    def hint(self, level: int = 1) -> Text:
        """Hints get more specific as `level` grows."""
        if level < 1:
            raise ValueError("hint levels start at 1")
        if level > len(self.hints):
            return Text(f"{self.hints[-1]}\n\n(That is the last hint: `.solution()` shows the answer.)")
        more = f"\n\n(More: `.hint({level + 1})`.)" if level < len(self.hints) else ""
        return Text(self.hints[level - 1] + more)

    def solution(self) -> Text:
        return Text(f"```python\n{self._solution.strip()}\n```")


def block_types(block) -> set[str]:
    """Class names of every layer inside a block or model."""
    return {type(layer).__name__ for layer in block.submodules} | {type(block).__name__}


def shape_of(outputs) -> Any:
    if isinstance(outputs, dict):
        return {k: tuple(v.shape) for k, v in outputs.items()}
    return tuple(outputs.shape)


def model_features(model) -> set[str]:
    """The input features a Merlin model reads (target excluded)."""
    from merlin.schema import Tags

    if getattr(model, "schema", None) is None:
        return set()
    return set(model.schema.excluding_by_tag(Tags.TARGET).column_names)


def require_model(value, what: str) -> None:
    import merlin.models.tf as mm

    if not isinstance(value, mm.Model):
        raise Incorrect(f"`{what}` should be an `mm.Model(...)`, got {type(value).__name__}.")


SCHEMA_TRAP = ("the model reads only {found}: without `schema=schema`, Merlin 23.08 takes its inputs from the "
               "input blocks it can see and silently drops every categorical feature. Pass `schema=schema` to mm.Model.")
