"""Move recsys_course's flat modules into data/ modeling/ course/ tools/ and rewrite every reference (idempotent).

Run from the repository root: `python tools/layout/apply_layout.py`. It `git mv`s what is still at the old place and
rewrites imports, dotted names and paths in .py, .ipynb, .md, Makefile and shell files. Running it twice changes
nothing the second time. (A maintainer's one-off for issue 19; kept so that branches made before the move can be
brought over by running it again after a merge.)
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

PKG = "recsys_course"
# old module -> (subpackage, new module name); "data" is the data package itself (its loading lives in __init__).
MOVES = {
    "formats": ("data", "formats"), "taxonomy": ("data", "taxonomy"), "generate": ("data", "generate"),
    "oracle": ("data", "oracle"), "rawfiles": ("data", "rawfiles"), "fastcsv": ("data", "fastcsv"),
    "prepare": ("data", "prepare"), "etl": ("data", "etl"),
    "builders": ("modeling", "builders"), "training": ("modeling", "training"), "analysis": ("modeling", "analysis"),
    "ranking": ("modeling", "ranking"),
    "notebook": ("course", "start"), "plots": ("course", "plots"), "glue": ("course", "glue"),
    "experiment": ("course", "experiment"), "polynomial": ("course", "polynomial"), "exercises": ("course", "exercises"),
    "labgen": ("tools", "labgen"), "nbrun": ("tools", "nbrun"), "progress": ("tools", "progress"),
    "benchfigures": ("course", "benchfigures"),
}
# The old `models` facade (one more name for each of these): each name is called from its home module instead.
FACADE = {"data": "load read_processed",
          "training": "FitResult compare compile_model fit_evaluate predict reload_weights results_table",
          "builders": "Crosses builtin_dcn builtin_dlrm dcn dcn_feature_order dlrm dlrm_inputs hashed_cross "
                      "standard_models strongest_crosses",
          "ranking": "item_features rank_for_user"}
HOME = {name: module for module, names in FACADE.items() for name in names.split()}
SUBPACKAGES = {"data": "Reading, generating and preparing the data: formats, the generator, raw files, preparation, "
                       "NVTabular, loading.",
               "modeling": "What the bench and the tests build and train (the notebooks build their own models in "
                           "cells), and the measurements on data and models.",
               "course": "What a notebook calls: `start`, plots, the lab exercises, lab 05's experiment runner.",
               "tools": "The maintainers' tools: lab generation, notebook execution, progress reports, bench figures "
                        "and README rendering. Nothing a learner imports."}
ROOT = Path.cwd()
SKIP = {".git", ".venv", "data", "bench/out", "tools/layout"}


def target(old: str) -> str:
    pkg, new = MOVES[old]
    return f"{pkg}.{new}"


def move_files() -> None:
    src = ROOT / PKG
    for pkg, doc in SUBPACKAGES.items():
        init = src / pkg / "__init__.py"
        if pkg == "data" and (src / "data.py").exists():
            (src / "data").mkdir(exist_ok=True)
            subprocess.run(["git", "mv", str(src / "data.py"), str(init)], check=True)
        elif not init.exists():
            init.parent.mkdir(exist_ok=True)
            init.write_text(f'"""{doc}"""\n')
            subprocess.run(["git", "add", str(init)], check=True)
    for old, (pkg, new) in MOVES.items():
        here = src / (old + ".py") if old != "exercises" else src / old
        there = src / pkg / (new + ".py") if old != "exercises" else src / pkg / new
        if here.exists() and not there.exists():
            subprocess.run(["git", "mv", str(here), str(there)], check=True)


_NAMES = "|".join(sorted(MOVES, key=len, reverse=True))
_DOTTED = re.compile(rf"\b{PKG}\.({_NAMES})\b")
_SLASHED = re.compile(rf"\b{PKG}/({_NAMES})(\.py|/)")
_FROM_IMPORT = re.compile(rf"^(?P<indent>[ \t]*)from {PKG} import (?P<names>[A-Za-z_][\w ,]*?)(?P<tail>[ \t]*(#.*)?)$",
                          re.MULTILINE)


def _regroup(match: re.Match) -> str:
    indent, names = match["indent"], [n.strip() for n in match["names"].split(",") if n.strip()]
    groups: dict[str, list[str]] = {}
    for item in names:
        name, _, alias = item.partition(" as ")
        name = name.strip()
        if name in MOVES:
            pkg, new = MOVES[name]
            shown = alias.strip() or name
            groups.setdefault(f"{PKG}.{pkg}", []).append(new if shown == new else f"{new} as {shown}")
        else:
            groups.setdefault(PKG, []).append(item)
    lines = [f"{indent}from {mod} import {', '.join(items)}" for mod, items in groups.items()]
    lines[0] += match["tail"]
    return "\n".join(lines)


_USES_FACADE = re.compile(rf"^[ \t]*from {PKG} import [\w ,]*\bmodels\b", re.MULTILINE)
_FACADE_CALL = re.compile(rf"(?<![\w.])models\.({'|'.join(sorted(HOME, key=len, reverse=True))})\b")


def _drop_facade(text: str) -> str:
    """In a file that imports `models` from the package: call each name from its home module, import those."""
    if not _USES_FACADE.search(text):
        return text
    used = sorted({HOME[m[1]] for m in _FACADE_CALL.finditer(text)})
    text = _FACADE_CALL.sub(lambda m: f"{HOME[m[1]]}.{m[1]}", text)

    def fix(match: re.Match) -> str:
        names = [n.strip() for n in match[0].split(" import ", 1)[1].split(",")]
        names = [n for n in names if n != "models"] + [u for u in used if u not in names]
        return match[0].split(" import ", 1)[0] + " import " + ", ".join(sorted(names))

    return re.sub(rf"^[ \t]*from {PKG} import [\w ,]*\bmodels\b[\w ,]*", fix, text, count=1, flags=re.MULTILINE)


# Names that changed module (after the move).
RENAMED = {f"from {PKG}.course.start import set_seeds": f"from {PKG}.modeling.training import set_seeds"}


def rewrite(text: str) -> str:
    """Every reference in `text` moved; a line marked `# layout: keep` is left as it is."""
    kept = [line for line in text.splitlines() if line.endswith("# layout: keep")]
    text = _rewrite(text)
    for line in kept:
        text = text.replace(_rewrite(line), line)
    return text


_FROM_FACADE = re.compile(rf"^(?P<indent>[ \t]*)from {PKG}\.models import (?P<names>[\w ,]+)$", re.MULTILINE)
HOME_MODULE = {"data": f"{PKG}.data", "training": f"{PKG}.modeling.training", "builders": f"{PKG}.modeling.builders",
               "ranking": f"{PKG}.modeling.ranking"}


def _from_facade(match: re.Match) -> str:
    """`from recsys_course.models import load, compare` -> one import from each name's home module."""
    groups: dict[str, list[str]] = {}
    for name in (n.strip() for n in match["names"].split(",") if n.strip()):
        groups.setdefault(HOME_MODULE[HOME[name]], []).append(name)
    return "\n".join(f"{match['indent']}from {mod} import {', '.join(names)}" for mod, names in groups.items())


def _rewrite(text: str) -> str:
    text = _FROM_FACADE.sub(_from_facade, text)
    text = _drop_facade(text)
    text = _FROM_IMPORT.sub(_regroup, text)
    text = _DOTTED.sub(lambda m: f"{PKG}.{target(m[1])}", text)
    text = _SLASHED.sub(lambda m: f"{PKG}/{target(m[1]).replace('.', '/')}{m[2]}", text)
    for old, new in RENAMED.items():
        text = text.replace(old, new)
    return text


CELL_BREAK = "\n#@@ cell break @@#\n"


_PLAIN_FROM = re.compile(rf"^from ({PKG}[\w.]*) import ([\w, ]+)$")


def tidy_imports(cell: str) -> str:
    """A notebook cell's top-level `from recsys_course… import …` lines, one per module, in the order of the first,
    names sorted (the rewrite can leave `from recsys_course import data` beside `from recsys_course import metrics`)."""
    lines = cell.split("\n")
    found = [(i, _PLAIN_FROM.match(line)) for i, line in enumerate(lines)]
    found = [(i, m) for i, m in found if m]
    if len(found) < 2:
        return cell
    names: dict[str, list[str]] = {}
    for _, m in found:
        names.setdefault(m[1], [])
        names[m[1]] += [n.strip() for n in m[2].split(",") if n.strip() not in names[m[1]]]
    first = {}
    for i, m in found:
        first.setdefault(m[1], i)
    out = []
    for i, line in enumerate(lines):
        m = _PLAIN_FROM.match(line)
        if not m:
            out.append(line)
        elif first[m[1]] == i:
            out.append(f"from {m[1]} import {', '.join(sorted(set(names[m[1]]), key=str.lower))}")
    return "\n".join(_sorted_runs(out))


def _sorted_runs(lines: list[str]) -> list[str]:
    """Each unbroken run of `from recsys_course… import` lines sorted by module."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, None]:
        if line is not None and _PLAIN_FROM.match(line):
            run.append(line)
            continue
        out += sorted(run, key=lambda x: _PLAIN_FROM.match(x)[1])
        run = []
        if line is not None:
            out.append(line)
    return out


def rewrite_notebook(path: Path) -> bool:
    """The cells are rewritten as one text (an import in one cell, its uses in others), then split back."""
    nb = json.loads(path.read_text())
    sources = ["".join(cell["source"]) for cell in nb["cells"]]
    new = [tidy_imports(c) for c in rewrite(CELL_BREAK.join(sources)).split(CELL_BREAK)]
    assert len(new) == len(sources), path
    if new == sources:
        return False
    for cell, text in zip(nb["cells"], new):
        cell["source"] = text.splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return True


def files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    keep = []
    for name in out:
        if any(name == s or name.startswith(s + "/") for s in SKIP):
            continue
        p = ROOT / name
        if p.suffix in {".py", ".ipynb", ".md", ".sh", ".toml", ".cfg", ".txt", ".yml"} or p.name in {"Makefile", "run"}:
            keep.append(p)
    return keep


def main() -> None:
    move_files()
    pyproject = ROOT / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '[tool.setuptools]\npackages = ["recsys_course", "recsys_course.exercises"]',
        '[tool.setuptools.packages.find]\ninclude = ["recsys_course*"]'))
    facade = ROOT / PKG / "models.py"
    if facade.exists():
        subprocess.run(["git", "rm", "-q", str(facade)], check=True)
    for path in files():
        if not path.exists():
            continue
        if path.suffix == ".ipynb":
            changed = rewrite_notebook(path)
        else:
            text = path.read_text()
            new = rewrite(text)
            changed = new != text
            if changed:
                path.write_text(new)
        if changed:
            print("rewrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
