"""Notebook 06's bench quotes: the hybrid's row only when bench/results.json has it, the embedded id's figures as
results.json holds them. (Notebook 06 itself asserts its layer equals CrossBlock and that the served predictions
equal the model's; nbval runs it.)"""
from __future__ import annotations

import copy
import re
import statistics

import pytest

from recsys_course.course import benchfigures
from recsys_course.modeling import builders


def _with_hybrid(bench: dict, offsets) -> dict:
    """A copy of the bench with a hybrid row: DLRM's runs, AUC shifted by `offsets` (one per seed)."""
    fake = copy.deepcopy(bench)
    runs = fake["models"]["runs"]
    runs[benchfigures.HYBRID] = [{**r, "auc": r["auc"] + off, "params": 4_000_000}
                                 for r, off in zip(runs[builders.DLRM], offsets)]
    return fake


def test_the_hybrid_name_is_the_benchs():
    assert getattr(builders, "DCN_WITH_DOTS", benchfigures.HYBRID) == benchfigures.HYBRID


def test_without_a_hybrid_row_the_notebook_quotes_no_figure():
    bench = benchfigures.load()
    assert bench is not None, "bench/results.json is missing"
    absent = _without_hybrid(bench)
    for results in (None, absent):
        lines = benchfigures.hybrid_sentences(results)
        assert len(lines) == 1 and "has no row" in lines[0]
        assert not re.search(r"\d\.\d", lines[0])  # no AUC, no gain: nothing to mistake for a measurement


def _without_hybrid(bench: dict) -> dict:
    """The bench's results without any hybrid row: neither in the classic runs nor in a world of the fair comparison."""
    fake = copy.deepcopy(bench)
    fake.get("models", {}).get("runs", {}).pop(benchfigures.HYBRID, None)
    for world in (fake.get("fair") or {}).get("worlds", {}).values():
        world.get("families", {}).pop(benchfigures.HYBRID, None)
        (world.get("paired") or {}).pop(benchfigures.HYBRID, None)
    return fake


def test_with_a_hybrid_row_the_notebook_quotes_it_and_its_paired_gain():
    bench = benchfigures.load()
    fake = _with_hybrid(bench, (0.010, 0.011, 0.009))
    ahead = benchfigures.hybrid_sentences(fake)
    spread = benchfigures.auc(fake, benchfigures.HYBRID)
    assert ahead[0].startswith(f"{benchfigures.HYBRID} in the bench ({benchfigures.setting(bench)}): valid AUC {spread}, "
                               "4,000,000 parameters; paired gain over DLRM (from blocks) +0.0100 ± 0.0010 over 3 seeds")
    assert ahead[0].endswith("ahead of DLRM (from blocks).") and "measure the architecture you wrote" in ahead[-1]
    noise = benchfigures.hybrid_sentences(_with_hybrid(bench, (0.002, -0.002, 0.001)))
    assert "within the noise" in noise[0]


def test_a_hybrid_in_the_fair_comparison_is_quoted_with_its_world_and_seeds_matched():
    base = [{"seed": s, "auc": a, "params": 10} for s, a in ((1, 0.70), (2, 0.71), (3, 0.72))]
    mine = [{"seed": s, "auc": a, "params": 20} for s, a in ((3, 0.705), (1, 0.69), (2, 0.70))]  # another order
    fair = {"fair": {"worlds": {"smooth": {"families": {builders.DLRM: {"runs": base},
                                                        benchfigures.HYBRID: {"runs": mine}}}}}}
    lines = benchfigures.hybrid_sentences(fair)
    assert len(lines) == 2 and "world `smooth`" in lines[0]
    assert "paired gain over DLRM (from blocks) -0.0117 ± 0.0029 over 3 seeds — behind" in lines[0]  # by seed
    half = {"fair": {"worlds": {"default": {"families": {benchfigures.HYBRID: {"runs": mine}}}}}}  # DLRM not yet
    assert "has no row" in benchfigures.hybrid_sentences(half)[0]


def test_the_embedded_id_figures_are_results_json():
    bench = benchfigures.load()
    lines = benchfigures.embedded_id_sentences(bench)
    runs = benchfigures.runs(bench)
    embedded = statistics.mean(r["rows_per_s"] for r in runs[builders.TRIPLE_EMBEDDED])
    one_hot = statistics.mean(r["rows_per_s"] for r in runs[builders.TRIPLE_CROSS])
    assert str(benchfigures.auc(bench, builders.TRIPLE_EMBEDDED)) in lines[0]
    assert lines[1] == benchfigures.gain_sentence(bench, builders.TRIPLE_EMBEDDED, builders.DLRM)
    assert f"{embedded:,.0f} rows/s embedded vs {one_hot:,.0f} rows/s" in lines[3]
    assert f"({embedded / one_hot:.1f}×" in lines[3]
    assert benchfigures.embedded_id_sentences(None) == ["bench/results.json has no embedded-id row: run `make bench` "
                                                        "to measure it."]


@pytest.mark.parametrize("missing", [builders.TRIPLE_EMBEDDED, builders.TRIPLE_CROSS])
def test_the_embedded_id_lines_say_so_when_a_row_is_missing(missing):
    fake = copy.deepcopy(benchfigures.load())
    del fake["models"]["runs"][missing]
    assert benchfigures.embedded_id_sentences(fake)[0].startswith("bench/results.json has no embedded-id row")
