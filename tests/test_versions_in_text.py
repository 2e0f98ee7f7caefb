"""No stale version in what a learner reads: a Merlin-style version (23.8.0, 23.08, 23.12.0) in the notebooks,
solutions, labs, exercise messages or README names a package and is that package's installed version, or is one of
the few sentences below that are about another version on purpose."""
from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import REPO

# X.Y.Z, or a release line with a leading zero (23.08); not figures such as 27.0 or 0.7414
VERSION = re.compile(r"(?<![\w.])2\d\.(?:\d{1,2}\.\d+|0\d)(?![\w.]*\d)")
PACKAGES = ("merlin-models", "merlin-core", "merlin-dataloader", "nvtabular", "dask-cuda")
NAMED = re.compile(rf"(?i)\b({'|'.join(map(re.escape, PACKAGES))})(?:==|\s+)$")
# Sentences about a version other than the installed one, on purpose (each phrase must still occur: see below).
ABOUT_ANOTHER = {
    "merlin-tensorflow:23.08": "the GPU container's tag (README, device.py)",
    "nvtabular stay at 23.8.0": "README: the pins of the other Merlin packages (tests/test_environment.py holds them)",
    "differs from 23.8.0": "README: what merlin-models 23.12.0 changed since the release before it",
    "the version string 23.8.0": "README: what old tests expected, in the record of a past run",
    "Why 23.12.0 is safe": "README: the heading of why merlin-models is pinned to its newest release",
}
# notebooks/04 belongs to another branch of the work: remove this entry when it no longer names 23.8.0.
NOT_YET: dict[str, str] = {}  # texts known to be stale (a strict xfail each): none left


def learner_texts() -> list[Path]:
    return sorted([REPO / "README.md", *(REPO / "notebooks").glob("*.ipynb"), *(REPO / "solutions").glob("*.ipynb"),
                   *(REPO / "labs").glob("*.ipynb"), *(REPO / "recsys_course" / "exercises").glob("*.py")])


def stale_versions(text: str) -> list[str]:
    """Each version in `text` that is neither the installed version of the package named just before it nor in one
    of the ABOUT_ANOTHER phrases, quoted with the words around it."""
    stale = []
    for m in VERSION.finditer(text):
        if any(_is_in(text, m, phrase) for phrase in ABOUT_ANOTHER):
            continue
        named = NAMED.search(text[max(0, m.start() - 40): m.start()])
        if named and version(named.group(1).lower()) == m.group():
            continue
        stale.append(text[max(0, m.start() - 40): m.end() + 30].replace("\n", " "))
    return stale


def _is_in(text: str, m: re.Match, phrase: str) -> bool:
    """Whether the version `m` found is the one inside an occurrence of `phrase`."""
    at = phrase.find(m.group())
    return at >= 0 and text[m.start() - at: m.start() - at + len(phrase)] == phrase


@pytest.mark.parametrize("path", learner_texts(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_stale_version_in_what_a_learner_reads(path, request):
    rel = str(path.relative_to(REPO))
    if rel in NOT_YET:
        request.applymarker(pytest.mark.xfail(strict=True, reason=NOT_YET[rel]))
    assert stale_versions(path.read_text(encoding="utf-8")) == [], rel


def test_the_rule_catches_stale_versions_and_passes_installed_ones():
    mm = version("merlin-models")
    assert stale_versions(f"device: CPU · merlin-models {mm}") == []
    assert stale_versions("nvtabular==" + version("nvtabular")) == []
    assert stale_versions("with Merlin Models 23.8.0:") != []       # names no package spelling: stale
    assert stale_versions("the full schema fails in 23.08") != []
    assert stale_versions("merlin-models 23.8.0") != [] or mm == "23.8.0"
    assert stale_versions("Merlin 23.08 takes its inputs") != []
    assert stale_versions("category_code 29.0%, 27.0 rows, AUC 0.7414") == []  # figures, not versions


def test_every_sentence_about_another_version_is_still_there():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for phrase, why in ABOUT_ANOTHER.items():
        assert phrase in readme, (phrase, why)
