"""Notebook 04's figures from the bench's fair comparison (bench/results.json's "fair" key): looked up by display
name, sentences computed from them, and nothing misleading when the key, a world or a family is absent."""
from __future__ import annotations

import copy
import statistics

import pytest

from recsys_course.course import benchfigures as bf
from recsys_course.modeling import builders

SEEDS = (1, 2, 3)


def _family(aucs, lr=0.003, stopped=(4, 5, 4), params=1000):
    return {"lr_sweep": {"0.001": 0.70, "0.003": 0.71, "0.01": 0.69}, "chosen_lr": lr,
            "runs": [{"seed": s, "auc": a, "logloss": 0.5, "stopped_epoch": e, "epochs_run": e + 2, "params": params,
                      "rows_per_s": 1.0, "stop_auc": [0.7] * (e + 2), "val_auc": [0.7] * (e + 2)}
                     for s, a, e in zip(SEEDS, aucs, stopped)]}


def synthetic(smooth: bool = True) -> dict:
    """A small results dict of the agreed shape: DCN behind DLRM by dropping the dot products in `default`,
    ahead of it in `smooth`."""
    default = {builders.DLRM: _family((0.740, 0.742, 0.741)),
               builders.DCN_2: _family((0.734, 0.737, 0.735), lr=0.001, stopped=(3, 3, 8)),
               bf.DCN_WITH_DOTS: _family((0.7405, 0.7418, 0.7412)),
               bf.CONCAT_MLP: _family((0.7342, 0.7368, 0.7351)),
               bf.DCN_PARALLEL: _family((0.736, 0.738, 0.737))}
    worlds = {"default": {"planted": {"smooth": 0.0}, "oracle_auc": 0.7858, "families": default, "paired": {}}}
    if smooth:
        worlds["smooth"] = {"planted": {"smooth": 0.8}, "oracle_auc": None, "paired": {},
                            "families": {builders.DLRM: _family((0.70, 0.701, 0.702)),
                                         builders.DCN_2: _family((0.72, 0.722, 0.721))}}
    return {"fair": {"protocol": {"stop_slice": 0.1, "max_epochs": 8, "patience": 2,
                                  "learning_rates": [0.001, 0.003, 0.01], "batch_size": 4096, "seeds": list(SEEDS),
                                  "selection": "AUC on the train stop slice"}, "worlds": worlds}}


def test_the_names_are_the_agreed_strings():
    assert builders.CONCAT_MLP == "concat → MLP (no interaction)"
    assert builders.DCN_PARALLEL == "DCN parallel, depth 2"
    assert builders.DCN_WITH_DOTS == "DCN + dot products (hybrid)"
    assert builders.DCN_RANK_D4 == "DCN depth 2, low rank 144 (d/4)"
    assert builders.DLRM in builders.FAIR_MODELS and builders.DCN_2 in builders.FAIR_MODELS
    assert not hasattr(bf, "fair_names") and not hasattr(bf, "fair_line") and not hasattr(bf, "fair_runs")


def test_figures_are_the_runs_and_the_paired_gain_is_seed_by_seed():
    res = synthetic()
    dcn = [r["auc"] for r in res["fair"]["worlds"]["default"]["families"][builders.DCN_2]["runs"]]
    dlrm = [r["auc"] for r in res["fair"]["worlds"]["default"]["families"][builders.DLRM]["runs"]]
    assert bf.fair_auc(res, "default", builders.DCN_2).mean == pytest.approx(statistics.mean(dcn))
    gain = bf.fair_gain(res, "default", builders.DCN_2, builders.DLRM)
    assert gain.mean == pytest.approx(statistics.mean(a - b for a, b in zip(dcn, dlrm)))
    assert gain.sd == pytest.approx(statistics.stdev(a - b for a, b in zip(dcn, dlrm)))
    # the bench's own "paired" figure is used when it is there (the gain over DLRM)
    res["fair"]["worlds"]["default"]["paired"] = {builders.DCN_2: {"mean": -0.5, "sd": 0.1, "n": 3}}
    assert bf.fair_gain(res, "default", builders.DCN_2, builders.DLRM) == bf.Spread(-0.5, 0.1, 3)


def test_the_table_is_one_table_with_a_row_per_measured_family_and_says_what_a_world_did_not_measure():
    res = synthetic()
    table = bf.fair_table(res, builders.FAIR_MODELS, builders.DLRM)
    measured = [n for n in builders.FAIR_MODELS if n in res["fair"]["worlds"]["default"]["families"]]
    assert list(table.index) == measured  # in the notebook's order; families no world measured are left out
    assert set(table.columns.get_level_values(0)) == {"", "default", "smooth"}
    row = table.loc[builders.DCN_2]
    assert row[("default", "valid AUC")] == str(bf.fair_auc(res, "default", builders.DCN_2))
    gain = bf.fair_gain(res, "default", builders.DCN_2, builders.DLRM)
    assert row[("default", "gain vs DLRM")] == f"{gain.mean:+.4f} ± {gain.sd:.4f}"
    assert row[("default", "verdict")] == "behind DLRM"
    assert row[("smooth", "verdict")] == "ahead of DLRM"
    assert row[("default", "rate · best epochs")] == "0.001 · 3, 3, 8" and row[("", "params")] == 1000
    assert table.loc[bf.DCN_WITH_DOTS][("default", "verdict")] == "within the noise of DLRM"
    assert table.loc[bf.DCN_WITH_DOTS][("smooth", "valid AUC")] == bf.NOT_MEASURED  # a world without that family
    assert table.loc[bf.DCN_WITH_DOTS][("smooth", "verdict")] == ""
    assert builders.DCN_RANK_D4 not in table.index
    only_default = bf.fair_table(synthetic(smooth=False), builders.FAIR_MODELS, builders.DLRM)
    assert set(only_default.columns.get_level_values(0)) == {"", "default"}
    assert bf.fair_table(res, ["no such family"], builders.DLRM) is None


def test_the_story_is_computed_from_the_figures():
    res = synthetic()
    story = bf.fair_story(res, "default")
    assert story[0] == bf.fair_sentence(res, "default", builders.DCN_2, builders.DLRM)
    assert story[2] == bf.fair_sentence(res, "default", builders.DCN_2, builders.CONCAT_MLP)  # against another base
    assert "behind" in story[0]
    assert any("loss comes from what it drops" in s for s in story)
    assert any("add nothing measurable" in s for s in story)  # DCN within the noise of concat → MLP
    # the same sentences follow the numbers: the hybrid made clearly worse than DLRM
    worse = copy.deepcopy(res)
    for r in worse["fair"]["worlds"]["default"]["families"][bf.DCN_WITH_DOTS]["runs"]:
        r["auc"] -= 0.01
    assert any("cost AUC even beside" in s for s in bf.fair_story(worse, "default"))
    assert not any("loss comes from what it drops" in s for s in bf.fair_story(worse, "default"))
    assert bf.fair_story(res, "smooth")[0].endswith(f"ahead of {builders.DLRM}")
    assert f"{bf.DCN_WITH_DOTS} vs {builders.DLRM}: {bf.NOT_MEASURED}" in bf.fair_story(res, "smooth")


def test_convergence_names_the_families_still_improving_at_the_cap():
    res = synthetic()
    assert bf.fair_convergence(res, "default") == [
        f"world `default`: still improving at the cap of 8 epochs in at least one seed: {builders.DCN_2}."]
    assert "every family stopped before the cap" in bf.fair_convergence(res, "smooth")[0]


def test_the_published_figures_sit_beside_the_fair_gain():
    lines = bf.fair_vs_published(synthetic())
    assert lines[0].startswith("2022 workshop (real REES46, one seed, 2 epochs") and "+0.0083" in lines[0]
    assert any("Criteo_x1): DCN-V2 − DLRM = +0.0004" in s for s in lines)
    g = bf.fair_gain(synthetic(), "default", builders.DCN_2, builders.DLRM)
    assert any(f"{g.mean:+.4f} ± {g.sd:.4f} over 3 seeds — behind" in s for s in lines)
    assert bf.NOT_MEASURED in bf.fair_vs_published({})[-1]


@pytest.mark.parametrize("results", [None, {}, {"models": {}}, {"fair": {}}, {"fair": {"worlds": {}}}])
def test_without_the_fair_key_nothing_misleading_is_shown(results):
    assert bf.fair(results) is None and bf.fair_world(results) is None
    assert bf.fair_table(results, builders.FAIR_MODELS, builders.DLRM) is None
    assert bf.NOT_MEASURED in bf.fair_protocol(results)
    assert bf.fair_story(results) == [f"world `default`: {bf.NOT_MEASURED}"]
    assert bf.fair_convergence(results) == [f"world `default`: {bf.NOT_MEASURED}"]
    assert bf.fair_gain(results, "default", builders.DCN_2, builders.DLRM) is None
    assert bf.fair_oracle_sentence(results) is None


def test_the_protocol_sentence_reads_the_protocol():
    text = bf.fair_protocol(synthetic())
    assert "3 seeds, batch 4096" in text and "0.001, 0.003, 0.01" in text and "up to 8 epochs" in text
    assert "10% slice of the train rows (never the validation rows)" in text and "2 epoch(s)" in text
    assert bf.fair_oracle_sentence(synthetic()) == "The oracle's valid AUC in each world — default: 0.7858."


# ---- notebook 04's bench cells, run on a synthetic results dict and on none (no training needed) ----

def _bench_cells() -> list[str]:
    import nbformat

    from conftest import REPO

    nb = nbformat.read(REPO / "notebooks" / "04_compare_and_inspect.ipynb", as_version=4)
    quoting = ("benchfigures.fair_protocol(", "benchfigures.fair_story(", "benchfigures.fair_vs_published(")
    cells = [c.source for c in nb.cells if c.cell_type == "code" and any(q in c.source for q in quoting)]
    assert len(cells) == 3, "notebook 04 should quote the fair table, its story and the published figures"
    return cells


def _run_bench_cells(bench) -> str:
    import contextlib
    import io
    from types import SimpleNamespace

    shown = []
    ns = {"bench": bench, "bf": bf, "benchfigures": bf, "builders": builders, "display": shown.append,
          "crosses": SimpleNamespace(pair=builders.DEFAULT_PAIR, triple=builders.DEFAULT_TRIPLE),
          "contenders": {builders.DLRM: None, builders.DCN_2: None}}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for source in _bench_cells():
            exec(source, ns)  # noqa: S102 - the notebook's own cells
    return out.getvalue() + "\n".join(t.to_string() for t in shown)


def test_notebook_04_shows_the_fair_table_and_story_when_the_bench_has_them():
    res = synthetic()
    text = _run_bench_cells(res)
    assert bf.fair_protocol(res) in text and bf.NOT_MEASURED not in bf.fair_protocol(res)
    for line in bf.fair_story(res, "default") + bf.fair_story(res, "smooth") + bf.fair_convergence(res, "default"):
        assert line in text
    assert str(bf.fair_auc(res, "default", builders.DCN_2)) in text  # the table itself
    assert all(line in text for line in bf.fair_vs_published(res))


def test_notebook_04_says_not_measured_yet_without_the_fair_key():
    text = _run_bench_cells(None)
    assert bf.fair_protocol(None) in text and "not measured yet" in text
    assert "world `smooth`" not in text  # a world the bench did not measure is not shown at all
    assert "±" not in text.split("Source:")[-1]  # no fair figure is made up


def test_the_notebooks_controlled_case_is_set_beside_the_benchs_seeds():
    """Notebook 04's own seed gives one error ratio, the bench's seeds a range: both printed, computed from the runs."""
    def run(seed, ratio):
        return {"seed": seed, "cross": "CrossBlock depth 2", "mlp": "MLP 128-64", "error_ratio": ratio,
                "clearly_better": ratio >= 5}

    bench = {"controlled_dcn_runs": [run(1, 9.9), run(2, 11.6), run(3, 10.4)]}
    inside, outside = run(42, 10.1), run(42, 15.4)
    assert bf.controlled_beside(bench, outside) == (
        "this notebook's seed (42): CrossBlock depth 2 has an error 15× smaller than MLP 128-64; the bench's seeds "
        "(1, 2, 3): 10× smaller to 12× smaller — this seed is outside that range. Clearly better (at least 5×) in 4 of "
        "4 seeds.")
    assert "this seed is inside that range" in bf.controlled_beside(bench, inside)
    assert bf.controlled_beside(None, outside).endswith("the bench has no controlled case over seeds to set it beside.")
