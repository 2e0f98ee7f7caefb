"""Notebook behaviour beyond nbval: one-line prerequisite errors, and no warning walls."""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import REPO

pytestmark = pytest.mark.notebook


def _run(name: str, monkeypatch, **env) -> nbformat.NotebookNode:
    for k, v in {"RECSYS_SCALE": "tiny", **env}.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return nb


def test_out_of_order_says_what_to_run_first_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(CellExecutionError) as err:
        _run("02_building_blocks.ipynb", monkeypatch, RECSYS_COURSE_DATA=str(tmp_path))
    assert err.value.ename == "PrerequisiteMissing"
    assert "Run first: make data SCALE=tiny" in err.value.evalue
    # the traceback the learner sees is that one line, not a stack from deep inside NVTabular
    assert str(err.value).count("File ") == 0


# Each walkthrough runs once at tiny here (nbval runs the solutions): every cell must run, and what a notebook records
# with recsys_course.course.glue is asserted in bands, not compared as text.
WALKTHROUGHS = sorted((REPO / "notebooks").glob("0*.ipynb"))


def _tiny_oracle_auc() -> float:
    import json

    return json.loads((REPO / "data" / "tiny" / "prepared" / "prepare.json").read_text())["oracle"]["valid"]["auc"]


def _no_warning_walls(nb: nbformat.NotebookNode) -> None:
    streams = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.get("output_type") == "stream"]
    noisy = [s for s in streams if "warn" in s.lower() or "W tensorflow" in s or "I tensorflow" in s]
    assert not noisy, noisy


def _aucs_learn_below_the_oracle(found: dict, names: list[str]) -> None:
    oracle = _tiny_oracle_auc()
    for name in names:
        assert 0.5 < found[name] < oracle, f"{name}: {found[name]:.4f}, oracle {oracle:.4f}"
    assert 0 < found["auc_noise"] < 0.1


def _check_02(nb, found) -> None:
    """The building blocks print no warnings, and the first cell says which device runs."""
    _no_warning_walls(nb)
    first = [o for o in nb.cells[1].outputs if o.get("output_type") == "stream"]
    assert first and first[0]["text"].startswith("device: CPU (")


def _check_03(nb, found) -> None:
    """The three trained contenders learn, below the planted oracle; schema= makes the model read more features."""
    aucs = sorted(k for k in found if k.startswith("auc "))
    assert aucs == ["auc DCN depth 2", "auc DLRM", "auc DLRM + cat_0×cat_1"], aucs
    _aucs_learn_below_the_oracle(found, aucs)
    assert found["params_with_schema"] > found["params_without_schema"] > 0


def _check_06(nb, found) -> None:
    """DLRM and the hybrid with the learner's own cross layer both learn; the cross layer adds parameters."""
    _aucs_learn_below_the_oracle(found, ["auc_dlrm", "auc_hybrid"])
    assert found["params_hybrid"] > found["params_dlrm"] > 0


def _check_04(nb, found) -> None:
    """The controlled polynomial case written in the cells is the bench's case: the bench's rows, the errors in the
    bands tests/test_polynomial.py holds recsys_course.course.polynomial to, and the depth-2 error beside the bench's seeds."""
    from recsys_course.course import benchfigures

    assert found["poly_same_rows"] is True
    assert (found["poly_cross"], found["poly_mlp"]) == ("CrossBlock depth 2", "MLP 128-64")
    assert found["poly_error_ratio"] >= 5 and found["poly_param_ratio"] >= 10
    assert found["poly_rmse_cross"] < 0.01 * found["poly_target_sd"]
    assert abs(found["poly_rmse_depth1"] - found["poly_three_way_sd"]) < 0.1 * found["poly_three_way_sd"]
    bench = [c["models"][c["cross"]]["rmse"] for c in benchfigures.load()["controlled_dcn_runs"]]
    assert 0.5 * min(bench) < found["poly_rmse_cross"] < 2 * max(bench), (found["poly_rmse_cross"], bench)


RECORDED = {"02": _check_02, "03": _check_03, "04": _check_04, "06": _check_06}


@pytest.mark.slow
@pytest.mark.parametrize("notebook", WALKTHROUGHS, ids=lambda p: p.name)
def test_each_walkthrough_runs_at_tiny_and_its_recorded_values_are_in_band(notebook, monkeypatch):
    from recsys_course.course import glue

    nb = _run(notebook.name, monkeypatch)
    check = RECORDED.get(notebook.name[:2])
    found = glue.recorded(nb)
    if check is None:
        assert found == {}, "a notebook that records metrics needs its bands here"
    else:
        check(nb, found)


def test_recorded_metrics_are_read_back_and_bad_ones_refused(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from recsys_course.course import glue

    shell = InteractiveShell.instance()
    published = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
    try:
        glue.record(auc=0.75, params=12, same=True)
        glue.record(auc=0.76)
        with pytest.raises(ValueError, match="'auc' is nan"):
            glue.record(auc=float("nan"))
        with pytest.raises(TypeError, match="'auc' is a list"):
            glue.record(auc=[0.7])
    finally:
        InteractiveShell.clear_instance()
    assert [d["text/plain"] for d in published] == ["", ""]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data=d) for d in published])])
    assert glue.recorded(nb) == {"auc": 0.76, "params": 12, "same": True}


# ---- notebooks 03 and 04: no figure typed by hand, pictures that do not mislead, no oracle needed ----

import copy  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402

STORY = ("03_dlrm_hashedcross_crossblock.ipynb", "04_compare_and_inspect.ipynb", "06_extend_your_own_block.ipynb")
# a decimal figure such as 0.754, +0.004, .75 or 0.92 — but not a version such as 23.8.0
FIGURE = re.compile(r"(?<![\w.])[+−-]?\d*\.\d+(?![\d.])")


def typed_figures(nb: nbformat.NotebookNode) -> list[str]:
    """Decimal figures written into a notebook's markdown: a result must be rendered by a code cell instead."""
    return [m.group() for c in nb.cells if c.cell_type == "markdown" for m in FIGURE.finditer(c.source)]


@pytest.mark.parametrize("name", STORY)
def test_the_story_notebooks_type_no_figure_into_their_markdown(name):
    assert typed_figures(nbformat.read(REPO / "notebooks" / name, as_version=4)) == []


def test_the_typed_figure_check_catches_figures_and_spares_versions():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "DLRM reaches 0.750, +0.004 over the seed; trains at 0.92× the speed. Merlin Models 23.8.0, TF 2.12.1."),
        nbformat.v4.new_code_cell("print('0.5')")])
    assert typed_figures(nb) == ["0.750", "+0.004", "0.92"]


def _doctored(bench: dict, name: str, offsets) -> dict:
    """A copy of the bench in which `name` scores DLRM's AUC plus `offsets` (one per seed)."""
    from recsys_course.modeling.builders import DLRM

    fake = copy.deepcopy(bench)
    runs = fake["models"]["runs"]
    for rec, base, off in zip(runs[name], runs[DLRM], offsets):
        rec["auc"] = base["auc"] + off
    return fake


def test_bench_figures_are_results_json_and_sentences_follow_them():
    from recsys_course.course import benchfigures
    from recsys_course.modeling.builders import DCN_1, DLRM

    bench = benchfigures.load()
    assert bench is not None, "bench/results.json is missing"
    for name, recs in benchfigures.runs(bench).items():
        assert benchfigures.auc(bench, name).mean == pytest.approx(statistics.mean(r["auc"] for r in recs))
        if name != DLRM:
            paired = [a["auc"] - b["auc"] for a, b in zip(recs, benchfigures.runs(bench)[DLRM])]
            assert benchfigures.gain(bench, name, DLRM).mean == pytest.approx(statistics.mean(paired))
    ahead = benchfigures.gain_sentence(_doctored(bench, DCN_1, (0.020, 0.021, 0.019)), DCN_1, DLRM)
    behind = benchfigures.gain_sentence(_doctored(bench, DCN_1, (-0.020, -0.021, -0.019)), DCN_1, DLRM)
    noise = benchfigures.gain_sentence(_doctored(bench, DCN_1, (0.002, -0.002, 0.001)), DCN_1, DLRM)
    assert "+0.0200" in ahead and "ahead of" in ahead
    assert "-0.0200" in behind and "behind" in behind
    assert "within the noise" in noise
    assert "not in bench/results.json" in benchfigures.gain_sentences(bench, ["no such model"], DLRM)[0]


def test_versus_says_who_is_ahead_from_the_numbers():
    from recsys_course.course.benchfigures import versus

    assert versus("A", 0.75, "B", 0.74) == "A beats B by 0.0100 AUC (0.7500 vs 0.7400)"
    assert versus("A", 0.74, "B", 0.75).startswith("B beats A by 0.0100")
    assert "within the noise" in versus("A", 0.7405, "B", 0.74, noise=0.001)


def test_curves_have_whole_epoch_ticks_a_legend_beside_them_and_one_style_per_model():
    from recsys_course.course import plots
    from recsys_course.modeling.training import FitResult

    same = {"val_auc": [0.70, 0.72]}  # two models with identical curves, as DLRM and mm.DLRMModel
    fig = plots.curves([FitResult(n, 0.7, 0.5, 1, dict(same)) for n in ("DLRM", "mm.DLRMModel", "DCN")])
    ax = fig.axes[0]
    fig.canvas.draw()
    low, high = ax.get_xlim()
    assert all(float(t).is_integer() for t in ax.get_xticks() if low <= t <= high)
    assert len({(line.get_marker(), line.get_linestyle()) for line in ax.get_lines()}) == 3
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1  # not over the lines


def test_heatmap_colour_scale_starts_at_zero_so_noise_looks_flat():
    import numpy as np
    import pandas as pd

    from recsys_course.course import plots

    nearly_equal = pd.DataFrame(2.6 + 0.1 * np.random.default_rng(0).random((4, 4)), index=list("abcd"),
                                columns=list("abcd"))
    fig = plots.heatmap(nearly_equal, "noise", hide_diagonal=True)
    low, high = fig.axes[0].images[0].get_clim()
    assert low == 0 and high == pytest.approx(np.nanmax(np.where(np.eye(4, dtype=bool), np.nan, nearly_equal)))


def _texts(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            out.append(o.get("text", "") + o.get("data", {}).get("text/plain", "") + o.get("data", {}).get("text/html", ""))
    return "\n".join(out)


# Notebook 04 on data without a ground truth (said once, no oracle figure, bench lines from results.json) is
# checked on its run on the real-format fixture, not on a second run here: tests/test_real_data.py
# (test_the_course_runs_on_the_fixture).
