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


def test_each_world_is_one_table_with_the_oracle_and_a_row_per_measured_family():
    res = synthetic()
    table = bf.fair_table(res, "default", builders.FAIR_MODELS, builders.DLRM)
    measured = [n for n in builders.FAIR_MODELS if n in res["fair"]["worlds"]["default"]["families"]]
    assert list(table.index) == ["oracle (the generator's true probabilities)", *measured]  # the notebook's order
    assert list(table.columns) == ["params", "rate", "valid AUC", "gain vs DLRM", "verdict vs DLRM",
                                   "best epoch per seed (cap 8)"]
    assert table.loc["oracle (the generator's true probabilities)", "valid AUC"] == "0.7858"
    row = table.loc[builders.DCN_2]
    assert row["valid AUC"] == str(bf.fair_auc(res, "default", builders.DCN_2))
    gain = bf.fair_gain(res, "default", builders.DCN_2, builders.DLRM)
    assert row["gain vs DLRM"] == f"{gain.mean:+.4f} ± {gain.sd:.4f}" and row["verdict vs DLRM"] == "behind"
    assert row["rate"] == "0.001" and row["best epoch per seed (cap 8)"] == "3, 3, 8" and row["params"] == "1,000"
    assert table.loc[bf.DCN_WITH_DOTS, "verdict vs DLRM"] == "within the noise"
    assert table.loc[builders.DLRM, "gain vs DLRM"] == table.loc[builders.DLRM, "verdict vs DLRM"] == ""
    assert builders.DCN_RANK_D4 not in table.index
    smooth = bf.fair_table(res, "smooth", builders.FAIR_MODELS, builders.DLRM)
    assert list(smooth.index) == [builders.DLRM, builders.DCN_2]  # no oracle there; only what it measured
    assert smooth.loc[builders.DCN_2, "verdict vs DLRM"] == "ahead"
    assert bf.fair_table(synthetic(smooth=False), "smooth", builders.FAIR_MODELS, builders.DLRM) is None
    assert bf.fair_table(res, "default", ["no such family"], builders.DLRM) is None


def test_the_story_is_computed_from_the_figures():
    res = synthetic()
    story = bf.fair_story(res, "default")
    assert len(story) == 2 and "loss comes from what it drops" in story[0]
    g = bf.fair_gain(res, "default", builders.DCN_2, builders.CONCAT_MLP)  # against another base: not in the table
    assert "add nothing measurable" in story[1] and f"{g.mean:+.4f} ± {g.sd:.4f} AUC over 3 seeds" in story[1]
    # the same sentences follow the numbers: the hybrid made clearly worse than DLRM
    worse = copy.deepcopy(res)
    for r in worse["fair"]["worlds"]["default"]["families"][bf.DCN_WITH_DOTS]["runs"]:
        r["auc"] -= 0.01
    assert any("cost AUC even beside" in s for s in bf.fair_story(worse, "default"))
    assert not any("loss comes from what it drops" in s for s in bf.fair_story(worse, "default"))
    better = copy.deepcopy(res)
    for r in better["fair"]["worlds"]["default"]["families"][builders.DCN_2]["runs"]:
        r["auc"] += 0.02
    assert "cross layers add AUC: +" in bf.fair_story(better, "default")[-1]
    assert bf.fair_story(res, "smooth") == []  # neither the hybrid nor concat → MLP measured there: nothing to say


def test_the_published_figures_and_dcn_against_dlrm_wherever_measured():
    published = bf.published_table()
    assert published.loc[("BARS", "Criteo_x1", "DCN-V2"), "AUC"] == 0.8142
    assert "github.com/reczoo/BARS" in bf.published_sources()
    table = bf.dcn_vs_dlrm_table(synthetic())
    assert table.loc[("2022 workshop", "real REES46, one seed, 2 epochs")]["AUC difference"].tolist() == [
        "+0.0083", "+0.0093"]
    assert table.loc[("BARS", "Criteo_x1"), "AUC difference"].tolist() == ["+0.0004"]
    g = bf.fair_gain(synthetic(), "default", builders.DCN_2, builders.DLRM)
    bench = table.loc["this bench"]
    assert bench.iloc[0]["AUC difference"] == f"{g.mean:+.4f} ± {g.sd:.4f}" and bench.iloc[0]["verdict"] == "behind"
    assert bench.iloc[0]["one seed's difference moves by"] == f"±{2 * g.sd:.4f}" and len(bench) == 2
    assert "this bench" not in bf.dcn_vs_dlrm_table({}).index.get_level_values(0)


@pytest.mark.parametrize("results", [None, {}, {"models": {}}, {"fair": {}}, {"fair": {"worlds": {}}}])
def test_without_the_fair_key_nothing_misleading_is_shown(results):
    assert bf.fair(results) is None and bf.fair_world(results) is None
    assert bf.fair_table(results, "default", builders.FAIR_MODELS, builders.DLRM) is None
    assert bf.NOT_MEASURED in bf.fair_protocol(results)
    assert bf.fair_story(results) == [f"world `default`: {bf.NOT_MEASURED}"]
    assert bf.fair_gain(results, "default", builders.DCN_2, builders.DLRM) is None


def test_the_protocol_sentence_reads_the_protocol():
    text = bf.fair_protocol(synthetic())
    assert "3 seeds, batch 4096" in text and "0.001, 0.003, 0.01" in text and "up to 8 epochs" in text
    assert "10% slice of the train rows (never the validation rows)" in text and "2 epoch(s)" in text


# ---- notebook 04's bench cells, run on a synthetic results dict and on none (no training needed) ----

def _bench_cells() -> list[str]:
    import nbformat

    from conftest import REPO

    nb = nbformat.read(REPO / "notebooks" / "04_compare_and_inspect.ipynb", as_version=4)
    quoting = ("benchfigures.fair_protocol(", "benchfigures.fair_table(", "benchfigures.fair_story(",
               "benchfigures.published_table(", "benchfigures.dcn_vs_dlrm_table(")
    cells = [c.source for c in nb.cells if c.cell_type == "code" and any(q in c.source for q in quoting)]
    assert len(cells) == 5, "notebook 04 should quote the protocol, the fair tables, the story, the published figures"
    return cells


def _run_bench_cells(bench) -> str:
    import ast
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
            tree = ast.parse(source)
            last = tree.body.pop() if isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, "cell", "exec"), ns)  # noqa: S102 - the notebook's own cells
            if last is not None:  # a cell's last expression is displayed
                value = eval(compile(ast.Expression(last.value), "cell", "eval"), ns)  # noqa: S307
                if value is not None:
                    shown.append(value)
    return out.getvalue() + "\n".join(t.to_string() for t in shown)


def test_notebook_04_shows_the_fair_tables_and_story_when_the_bench_has_them():
    res = synthetic()
    text = _run_bench_cells(res)
    assert bf.fair_protocol(res) in text and bf.NOT_MEASURED not in bf.fair_protocol(res)
    for line in bf.fair_story(res, "default") + bf.fair_story(res, "smooth"):
        assert line in text
    for world in ("default", "smooth"):
        assert bf.fair_table(res, world, builders.FAIR_MODELS, builders.DLRM).to_string() in text  # the tables
    assert bf.dcn_vs_dlrm_table(res).to_string() in text and bf.published_table().to_string() in text


def test_notebook_04_says_not_measured_yet_without_the_fair_key():
    text = _run_bench_cells(None)
    assert bf.fair_protocol(None) in text and "not measured yet" in text
    assert "world `smooth`" not in text  # a world the bench did not measure is not shown at all
    assert "±" not in text and "this bench" not in text  # no fair figure is made up


def test_the_notebooks_controlled_case_is_set_beside_the_benchs_seeds():
    """Notebook 04's own seed gives one error ratio, the bench's seeds theirs: one table, computed from the runs."""
    def run(seed, cross, mlp):
        return {"seed": seed, "cross": "CrossBlock depth 2", "mlp": "MLP 128-64",
                "models": {"CrossBlock depth 2": {"rmse": cross}, "MLP 128-64": {"rmse": mlp}}}

    bench = {"controlled_dcn_runs": [run(1, 0.002, 0.0198), run(2, 0.002, 0.0232), run(3, 0.002, 0.008)]}
    table = bf.controlled_table(bench, run(42, 0.001, 0.0154))
    assert list(table.index) == [("this notebook", 42), ("the bench", 1), ("the bench", 2), ("the bench", 3)]
    assert table["MLP error / cross error"].tolist() == [15.4, 9.9, 11.6, 4.0]
    assert table["clearly better (≥ 5×)"].tolist() == [True, True, True, False]
    assert list(bf.controlled_table(None, run(42, 0.001, 0.0154)).index) == [("this notebook", 42)]
    assert bf.controlled_table(None) is None


def test_the_batch_check_is_set_beside_the_fair_comparison_and_its_verdicts_are_computed():
    res = synthetic()
    assert bf.batch_table(res) is None and bf.batch_findings(res) == []  # not run yet: nothing shown
    for w in res["fair"]["worlds"].values():
        w["fit_rows"] = 10_000
    res["fair"]["worlds"]["default"]["families"][builders.TRIPLE_EMBEDDED] = _family((0.745, 0.746, 0.747))
    small = copy.deepcopy(res["fair"])
    small["worlds"]["default"]["families"][builders.TRIPLE_EMBEDDED] = _family((0.739, 0.740, 0.741))
    small["protocol"]["batch_size"] = 1024
    fams = small["worlds"]["default"]["families"]
    fams[builders.DCN_2] = _family((0.7395, 0.7432, 0.7412), lr=0.01, stopped=(1, 1, 2))  # now level with DLRM
    for name in (bf.CONCAT_MLP, bf.DCN_PARALLEL):
        del fams[name]  # the check measures a few families only
    del small["worlds"]["smooth"]["families"][builders.DCN_2]
    res[bf.BATCH_KEY] = small
    table = bf.batch_table(res)
    assert list(table.index) == [("default", builders.DLRM), ("default", builders.DCN_2),
                                 ("default", bf.DCN_WITH_DOTS), ("default", builders.TRIPLE_EMBEDDED),
                                 ("smooth", builders.DLRM)]
    dcn = table.loc[("default", builders.DCN_2)]
    assert dcn["rate at 4096"] == "0.001" and dcn["rate at 1024"] == "0.01"
    res["fair"]["worlds"]["default"]["families"][builders.DCN_2]["rate_at_low_edge"] = True  # 0.001 ended its ladder
    assert bf.batch_table(res).loc[("default", builders.DCN_2)]["rate at 4096"] == "0.001 (the ladder's smallest)"
    assert dcn["AUC change, 1024 vs 4096"] == f"{0.7413 - 0.7353333:+.4f}"
    assert dcn["gain vs DLRM at 4096"].endswith("(behind)") and dcn["gain vs DLRM at 1024"].endswith(
        "(within the noise)")
    lines = bf.batch_findings(res)
    assert lines[0].startswith("One epoch is 3 steps at batch 4096 and 10 steps at batch 1024;")
    assert "runs that kept their first epoch: 0 of 15 runs at 4096, 2 of 15 runs at 1024." in lines[0]
    assert any(builders.DCN_2 in x and x.endswith("the verdict changes.") for x in lines)
    assert any(bf.DCN_WITH_DOTS in x and x.endswith("the same verdict.") for x in lines)
    # the hand-picked cross against the cross layer that scores best at 1024 (here the stacked DCN), paired
    assert lines[-1].startswith(f"- `default`, the hand-picked cross against the best cross layer at 1024: "
                                f"{builders.TRIPLE_EMBEDDED} vs {builders.DCN_2}: +0.0107 ± 0.0015 (ahead) at 4096, "
                                "-0.0013 ± 0.0017 (within the noise) at 1024") and lines[-1].endswith("verdict changes.")
