"""The package's folders follow the data's way, and each imports only from the folders before it.

Order: the top level's shared modules (config, device, quiet, files, metrics) → data/ → modeling/ → course/ →
tools/. The entry points (`__init__`, `__main__`, `cli`) may import any of them. Every import counts, including
the ones inside functions (the package imports TensorFlow lazily, so most of its imports are there).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "recsys_course"
ORDER = ["", "data", "modeling", "course", "tools"]  # "" = the top level's shared modules
ENTRY_POINTS = {"recsys_course", "recsys_course.__main__", "recsys_course.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """The position of a recsys_course module's folder in ORDER."""
    parts = module.split(".")
    return ORDER.index(parts[1]) if len(parts) > 1 and parts[1] in ORDER else 0


def imported(source: str, module: str) -> set[str]:
    """Every recsys_course module `source` imports (`from recsys_course.data import prepare` names both)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m == "recsys_course" or m.startswith("recsys_course.")}


def upward(source: str, module: str) -> list[str]:
    """The imports of `module` that reach a folder after its own."""
    if module in ENTRY_POINTS:
        return []
    mine = layer(module)
    return sorted(m for m in imported(source, module) if m != "recsys_course" and layer(m) > mine)


def package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_later_folder(path):
    assert upward(path.read_text(), module_name(path)) == []


def test_the_checker_catches_an_upward_import_even_inside_a_function():
    lazy = "def f():\n    from recsys_course.tools import labgen\n"
    assert upward(lazy, "recsys_course.course.plots") == ["recsys_course.tools", "recsys_course.tools.labgen"]
    assert upward("from recsys_course.course import plots", "recsys_course.data.prepare") == [
        "recsys_course.course", "recsys_course.course.plots"]
    assert upward("from ..modeling import builders", "recsys_course.data.etl") == [
        "recsys_course.modeling", "recsys_course.modeling.builders"]
    assert upward("from recsys_course.data import prepare", "recsys_course.course.experiment") == []
    assert upward("from recsys_course.tools import labgen", "recsys_course.cli") == []


def test_every_folder_is_a_stage_and_the_readme_describes_each():
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(ORDER[1:])
    text = (REPO / "README.md").read_text()
    table = text.split("The package, one folder per stage", 1)[1].split("\n\n", 2)[1]
    listed = re.findall(r"^\| `([a-z_]+)/`", table, re.MULTILINE)
    assert listed == ["recsys_course", *ORDER[1:]]
    described = set(re.findall(r"`([a-z_0-9]+)`", table))
    for path in package_modules():
        if path.stem not in {"__init__", "__main__"} and path.parent.name != "exercises":
            assert path.stem in described, f"README's layout table does not name {path.relative_to(PACKAGE)}"


def test_no_flat_module_is_left_at_the_top_but_what_every_stage_shares():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "cli", "config", "device", "files", "metrics", "quiet"]
