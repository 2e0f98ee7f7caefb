"""Exercise checks for the labs: `q1, q2, q3 = lab01(...)`, then `q1.check()`, `q1.hint()`, `q1.solution()`."""
from recsys_course.course.exercises.core import ____, Exercise, Outcome
from recsys_course.course.exercises.lab01 import lab01
from recsys_course.course.exercises.lab02 import lab02
from recsys_course.course.exercises.lab03 import lab03
from recsys_course.course.exercises.lab04 import lab04
from recsys_course.course.exercises.lab05 import lab05
from recsys_course.course.exercises.lab06 import lab06

__all__ = ["____", "Exercise", "Outcome", "lab01", "lab02", "lab03", "lab04", "lab05", "lab06"]
