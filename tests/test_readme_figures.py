"""The README's bench figures are rendered from bench/results.json, never typed: the block must equal the render."""
from __future__ import annotations

import copy
import re

from conftest import REPO
from recsys_course.course import benchfigures
from recsys_course.tools import readme
from recsys_course.modeling import builders


def test_the_readme_block_is_what_results_json_renders():
    text = (REPO / "README.md").read_text()
    results = benchfigures.load()
    assert results is not None, "bench/results.json is missing"
    assert readme.render_readme(text, results) == text, "README is stale: run bench/report.py (make bench)"


def test_a_changed_result_changes_the_readme_block():
    text = (REPO / "README.md").read_text()
    results = copy.deepcopy(benchfigures.load())
    for rec in results["models"]["runs"][builders.DCN_1]:
        rec["auc"] += 0.05  # DCN now ahead of DLRM on every seed
    rendered = readme.render_readme(text, results)
    assert rendered != text
    assert f"{builders.DCN_1}: +0.04" in rendered and "ahead of" in rendered.split(builders.DCN_1 + ":")[1].split("\n")[0]


def test_the_readme_scale_table_is_the_configuration():
    from recsys_course.config import SCALES

    row = re.compile(r"^\| `(\w+)` \|[^|]*\| ([^|]*) \| (\d+) × (\d+) \|$", flags=re.M)
    rows = {m.group(1): (m.group(2).strip(), int(m.group(3)), int(m.group(4)))
            for m in row.finditer((REPO / "README.md").read_text())}
    assert set(rows) == set(SCALES)

    def thousands(n: int) -> str:
        return f"{n // 1000}k" if n >= 1000 else str(n)

    for scale, (sizes, batch, epochs) in rows.items():
        assert (batch, epochs) == (SCALES[scale].batch_size, SCALES[scale].epochs), scale
        if SCALES[scale].users:
            assert sizes == f"{thousands(SCALES[scale].users)} / {thousands(SCALES[scale].products)}", scale


def test_the_crossed_features_are_the_ones_results_json_records():
    """The README and the goals name the features the bench's cross models crossed, read from results.json."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    import report

    text = (REPO / "README.md").read_text()
    results = copy.deepcopy(benchfigures.load())
    used = benchfigures.crosses(results)
    assert used is not None, "bench/results.json does not record the features its cross models crossed"
    assert set(used) == {"pair", "triple", "triple_combinations", "enough_bins"}
    assert benchfigures.crosses_sentence(results) in text
    right = report.goals(results)[0].goal
    assert " × ".join(used["triple"]) in right and str(used["enough_bins"]) in right
    results["models"]["crosses"] = {"pair": ["ts_hour", "brand"], "triple": ["ts_weekday", "ts_hour", "cat_2"],
                                    "triple_combinations": 1234, "enough_bins": 2468}
    rendered = readme.render_readme(text, results)
    assert "ts_hour × brand (1000 bins)" in rendered and "ts_weekday × ts_hour × cat_2, 2,468 bins" in rendered
    assert "ts_weekday × ts_hour × cat_2, 2468 bins" in report.goals(results)[0].goal
    mine = benchfigures.same_crosses_sentence(results, ("brand", "ts_hour"), ("cat_0", "ts_hour", "ts_weekday"))
    assert mine.startswith("This run crossed other features") and "cat_0 × ts_hour × ts_weekday" in mine
    assert "brand" not in mine  # the pairs agree (as sets): only the triple is said to differ
