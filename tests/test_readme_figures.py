"""The README's bench figures are rendered from bench/results.json, never typed: the block must equal the render."""
from __future__ import annotations

import copy
import re

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


def test_the_readme_scale_table_is_the_configuration():
    from recsys_course.config import SCALE_TRAINING
    from recsys_course.generate import SCALES

    row = re.compile(r"^\| `(\w+)` \|[^|]*\| ([^|]*) \| (\d+) × (\d+) \|$", flags=re.M)
    rows = {m.group(1): (m.group(2).strip(), int(m.group(3)), int(m.group(4)))
            for m in row.finditer((REPO / "README.md").read_text())}
    assert set(rows) == set(SCALE_TRAINING)

    def thousands(n: int) -> str:
        return f"{n // 1000}k" if n >= 1000 else str(n)

    for scale, (sizes, batch, epochs) in rows.items():
        assert (batch, epochs) == (SCALE_TRAINING[scale].batch_size, SCALE_TRAINING[scale].epochs), scale
        if scale in SCALES:
            assert sizes == f"{thousands(SCALES[scale].users)} / {thousands(SCALES[scale].products)}", scale
