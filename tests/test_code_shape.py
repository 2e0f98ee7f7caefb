"""Code shape the team agreed on (issue: one module, one job): short functions, no long positional unpacking."""
from __future__ import annotations

import ast

import pytest

from conftest import REPO

SOURCES = sorted([*(REPO / "recsys_course").rglob("*.py"), *(REPO / "bench").glob("*.py")])
MAX_LINES = 60
MAX_UNPACKED = 3


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_function_is_longer_than_60_lines(path):
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in ast.walk(_tree(path)) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, long


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_tuple_of_more_than_three_is_unpacked_by_position(path):
    targets = []  # a parallel assignment of a literal tuple (`a, b, c, d = 1, 2, 3, 4`) names every value: fine
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Assign) and not isinstance(node.value, (ast.Tuple, ast.List)):
            targets += node.targets
        elif isinstance(node, (ast.For, ast.comprehension)):
            targets.append(node.target)
    wide = [t.lineno for t in targets if isinstance(t, (ast.Tuple, ast.List)) and len(t.elts) > MAX_UNPACKED]
    assert not wide, f"lines {wide}"


def test_the_checks_above_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    bad = tmp_path / "bad.py"
    bad.write_text(f"def f():\n{body}\n    a, b, c, d = g()\n")
    with pytest.raises(AssertionError):
        test_no_function_is_longer_than_60_lines(bad)
    with pytest.raises(AssertionError):
        test_no_tuple_of_more_than_three_is_unpacked_by_position(bad)


def test_the_readme_lists_every_verb():
    import re

    from recsys_course.cli import build_parser

    text = (REPO / "README.md").read_text()
    usage = " ".join(build_parser().format_usage().split())  # argparse's public usage line: "… {doctor,generate,…} …"
    verbs = set(re.search(r"\{([a-z,]+)\}", usage).group(1).split(","))
    assert verbs == set(re.search(r"python -m recsys_course \{([a-z,]+)\}", text).group(1).split(","))
