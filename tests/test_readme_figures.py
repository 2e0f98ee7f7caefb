"""The README's bench figures are rendered from bench/results.json, never typed: the block must equal the render."""
from __future__ import annotations

import copy

from conftest import REPO
from recsys_course import benchfigures, builders


def test_the_readme_block_is_what_results_json_renders():
    text = (REPO / "README.md").read_text()
    results = benchfigures.load()
    assert results is not None, "bench/results.json is missing"
    assert benchfigures.render_readme(text, results) == text, "README is stale: run bench/report.py (make bench)"


def test_a_changed_result_changes_the_readme_block():
    text = (REPO / "README.md").read_text()
    results = copy.deepcopy(benchfigures.load())
    for rec in results["models"]["runs"][builders.DCN_1]:
        rec["auc"] += 0.05  # DCN now ahead of DLRM on every seed
    rendered = benchfigures.render_readme(text, results)
    assert rendered != text
    assert f"{builders.DCN_1}: +0.04" in rendered and "ahead of" in rendered.split(builders.DCN_1 + ":")[1].split("\n")[0]
