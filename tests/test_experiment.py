"""Lab 05's experiments (recsys_course/course/experiment.py): data with a changed ground truth, made once, and the computed
sentences about a measurement."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mistakes.support import runs_of
from recsys_course.course import experiment
from recsys_course.data.generate import PLANTED, PLANTED_NAMES, Planted, planted_from
from recsys_course.metrics import auc, auc_noise, auc_standard_error


def test_folder_names_say_the_size_what_changed_and_the_seed():
    quick = experiment.quick_for("small")
    assert experiment.folder_name(planted_from({"cross": 0, "triple": 1}), quick, 42) == "small2400k-cross0-triple1-seed42"
    assert experiment.folder_name(PLANTED, experiment.quick_for("tiny"), 7) == "tiny-as-shipped-seed7"
    assert experiment.changes(PLANTED.with_values(cross=0.9, user=0.0)) == {"user": 0.0}  # 0.9 is as shipped
    assert experiment.changes(PLANTED.with_values(intercept=0.1 + 0.05)) == {}  # float rounding is no change
    nearly = planted_from({"cross": 0, "triple": 1.0000001})
    assert experiment.folder_name(nearly, quick, 42) == "small2400k-cross0-triple1.0000001-seed42"  # not triple=1's
    moved = Planted(cross_pair=("brand", "ts_hour"))
    assert experiment.folder_name(moved, quick, 42) == "small2400k-cross_pair-brand-ts_hour-seed42"


def test_make_records_the_ground_truth_once_and_refuses_a_bad_one_before_writing(tmp_path, monkeypatch):
    paths = experiment.make({"cross": 0, "triple": 1.0}, "tiny", seed=3, root=tmp_path)
    meta = json.loads((paths.raw / "_generator.json").read_text())
    assert (meta["planted"]["cross"], meta["planted"]["triple"]) == (0.0, 1.0)
    assert paths.status() == {"raw": True, "prepared": True, "processed": True}
    stamp = (paths.processed / "etl.json").stat().st_mtime_ns
    assert experiment.make("cross = 0, triple = 1", "tiny", seed=3, root=tmp_path) == paths  # found, not made again
    assert (paths.processed / "etl.json").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="unknown planted effect 'pair'"):
        experiment.make({"pair": 0}, "tiny", seed=3, root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [paths.root.name]
    assert experiment.describe(paths, "tiny").startswith("quick size: the 'tiny' catalogue and users, its sessions")
    # what the lab's own cells build their crosses from: the planted features, two bins per combination of values
    import pandas as pd

    pair, triple = experiment.planted_features(paths)
    assert (pair, triple) == (PLANTED.cross_pair, PLANTED.cross_triple)
    rows = pd.read_parquet(paths.prepared / "train")
    assert experiment.enough_bins(paths, triple) == 2 * rows.groupby(list(triple), dropna=False).ngroups
    assert list(experiment.crossed(paths)) == list(experiment.CONTENDERS)
    # a lab copy from before the contenders were cells calls measure(paths, scale): the course's builders, same names
    seen = []
    monkeypatch.setattr(experiment, "fit_until_stopped", lambda name, build, fit, stop, valid, quick, seed, rate:
                        seen.append((name, build, fit.num_rows, stop.num_rows, quick, seed, rate)) or name)
    assert experiment.measure(paths, "tiny", seed=3) == list(experiment.CONTENDERS)
    assert all(callable(s[1]) for s in seen) and {s[5] for s in seen} == {3}
    fit, stop = seen[0][2], seen[0][3]  # a tenth of the train rows held out to stop on, the rest fitted
    assert fit + stop == len(rows) and stop == int(0.1 * len(rows))
    assert seen[0][4] == experiment.quick_for("tiny") and seen[0][6] == experiment.quick_for("tiny").learning_rate
    _the_labs_split_holds_out_a_tenth_of_the_train_rows(paths, len(rows))
    # every contender of the lab trains at the rate the bench's fair sweep chose for DLRM and the stacked DCN in the
    # course's data (bench/results.json): a new bench run that chooses otherwise makes this fail
    from recsys_course.course import benchfigures
    from recsys_course.modeling import builders

    bench = benchfigures.load()
    assert {benchfigures.fair_rate(bench, n) for n in (builders.DLRM, builders.DCN_2)} == {
        experiment.quick_for("small").learning_rate}


def _lab_cell(start: str) -> str:
    import nbformat

    from conftest import REPO

    nb = nbformat.read(REPO / "solutions" / "05_ground_truth_solution.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(start))


def _the_labs_split_holds_out_a_tenth_of_the_train_rows(paths, train_rows: int) -> None:
    """Lab 05's own split cell: the stop slice is a tenth of the TRAIN rows, apart from the rows fitted; the
    validation rows are returned whole, untouched."""
    from types import SimpleNamespace

    import numpy as np
    from merlin.io import Dataset

    from recsys_course import data

    ns = {"np": np, "Dataset": Dataset, "data": data, "experiment": experiment,
          "params": SimpleNamespace(scale="tiny", seed=3)}
    exec(_lab_cell("quick = experiment.quick_for"), ns)  # noqa: S102 - the lab's own cell
    fit, stop, valid = ns["split_rows"](paths)
    fit_rows, stop_rows = fit.to_ddf().compute(), stop.to_ddf().compute()
    assert len(fit_rows) + len(stop_rows) == train_rows and len(stop_rows) == int(0.1 * train_rows)
    assert valid.num_rows == data.load(paths)[1].num_rows
    assert ns["quick"] == experiment.quick_for("tiny")


def test_the_learner_may_change_the_interactions_the_generator_has():
    """cross, triple, affinity — and smooth once the generator plants it — read from PLANTED_NAMES."""
    assert experiment.CHANGEABLE == tuple(n for n in ("cross", "triple", "smooth", "affinity") if n in PLANTED_NAMES)
    assert {"cross", "triple", "affinity"} <= set(experiment.CHANGEABLE)
    assert ("smooth" in experiment.CHANGEABLE) == ("smooth" in PLANTED_NAMES)
    assert experiment.DCN in experiment.CONTENDERS and len(experiment.CONTENDERS) == 4


def test_measure_for_older_lab_copies_refuses_what_is_not_contenders():
    """Older copies of lab 05 call experiment.measure; a wrong argument gets a message that names it."""
    with pytest.raises(TypeError, match="should be a dict"):
        experiment.measure("paths", [lambda: None], "tiny", seed=3)
    with pytest.raises(TypeError, match="say the course's scale"):
        experiment.measure("paths", {experiment.DLRM: lambda: None}, seed=3)


def test_the_auc_standard_error_matches_a_simulation():
    """Hanley & McNeil's formula against the spread of AUCs over many simulated validation sets."""
    rng = np.random.default_rng(0)
    pos, neg = 300, 200
    labels = np.r_[np.ones(pos), np.zeros(neg)]
    aucs = [auc(labels, np.r_[rng.normal(0.95, 1, pos), rng.normal(0, 1, neg)]) for _ in range(1500)]
    formula = auc_standard_error(float(np.mean(aucs)), pos, neg)
    assert 0.85 < formula / np.std(aucs) < 1.15, (formula, np.std(aucs))
    assert auc_noise(labels, float(np.mean(aucs))) == 2 * formula  # what the labs print as their noise
    with pytest.raises(ValueError):
        auc_standard_error(0.7, 0, 10)


def test_the_expected_winner_is_never_an_end_of_the_runs_or_of_the_names():
    """So that picking a run by position or by name instead of by AUC is caught by lab 05's Q3."""
    order = list(experiment.CONTENDERS)
    assert experiment.TRIPLE not in (order[0], order[-1], min(order), max(order))


def test_the_verdict_is_computed_from_the_runs_and_the_noise():
    clear = experiment.verdict(experiment.TRIPLE, runs_of(0.62, 0.61, 0.68), noise=0.02)
    assert clear[0] == f"this run's winner: {experiment.TRIPLE} (valid AUC 0.6800)"
    assert "held in this run, by more than the noise" in clear[-1]
    close = experiment.verdict(experiment.TRIPLE, runs_of(0.67, 0.61, 0.68), noise=0.02)
    assert "within the noise" in close[1] and "not by more than the noise" in close[-1]
    wrong = experiment.verdict(experiment.DLRM, runs_of(0.62, 0.61, 0.68), noise=0.02)
    assert f"did not hold: {experiment.TRIPLE} won" in wrong[-1]
    dcn = experiment.verdict(experiment.DCN, runs_of(0.62, 0.61, 0.60, dcn=0.70), noise=0.02)
    assert dcn[0] == f"this run's winner: {experiment.DCN} (valid AUC 0.7000)" and "held in this run" in dcn[-1]
    unrecorded = experiment.verdict(None, runs_of(0.62, 0.61, 0.68), noise=0.02)
    assert unrecorded[0] == clear[0] and "no prediction was recorded before this measurement" in unrecorded[-1]


def test_the_quick_run_is_set_beside_the_benchs_fair_rows_computed(tmp_path):
    """DCN − DLRM in the learner's run beside the bench's fair gain in each world; the direction is judged only where
    the bench measured the same ground truth (as shipped, or the smooth term alone at the bench's size)."""
    from recsys_course.course import benchfigures as bf
    from recsys_course.modeling import builders
    from recsys_course.config import Paths

    paths = Paths("tiny", tmp_path)
    paths.prepared.mkdir(parents=True)
    (paths.prepared / "prepare.json").write_text(json.dumps({"train": {"rows": 17843}, "valid": {"rows": 2402}}))

    def family(aucs):
        return {"chosen_lr": 0.01, "runs": [{"seed": s, "auc": a} for s, a in zip((1, 2, 3), aucs)]}

    def world(dlrm, dcn, smooth):
        return {"planted": {"smooth": smooth}, "fit_rows": 259537, "paired": {},
                "families": {builders.DLRM: family(dlrm), builders.DCN_2: family(dcn)}}

    bench = {"fair": {"protocol": {}, "worlds": {
        "default": world((0.747, 0.745, 0.746), (0.752, 0.752, 0.746), 0.0),  # DCN ahead (+0.004 ± 0.003)
        "smooth": world((0.784, 0.783, 0.783), (0.789, 0.790, 0.789), 1.0)}}}
    behind = runs_of(0.70, 0.69, 0.73, dcn=0.66)  # DCN 0.04 behind DLRM, beyond the noise
    g = bf.fair_gain(bench, "smooth", builders.DCN_2, builders.DLRM)
    said = experiment.beside_bench(paths, behind, {"smooth": 1.0}, bench, noise=0.01)
    assert said[0].startswith(f"your run (quick size: 17,843 train rows") and "= -0.0400 AUC, behind DLRM" in said[0]
    assert f"{g.mean:+.4f} ± {g.sd:.4f} — ahead of {builders.DLRM}" in said[2]
    assert "does NOT reproduce the bench's direction" in said[-1] and "the bench on 259,537 (15×)" in said[-1]
    ahead = runs_of(0.70, 0.69, 0.73, dcn=0.72)
    assert experiment.beside_bench(paths, ahead, {"smooth": 1.0}, bench, noise=0.01)[-1].endswith(
        "reproduces the bench's direction (ahead of DLRM).")
    within = runs_of(0.70, 0.69, 0.73, dcn=0.705)  # inside the noise, the bench's sign: neither confirmed nor not
    assert "points the bench's way (DCN CrossBlock depth 2 +0.0050) but within one run's noise" in (
        experiment.beside_bench(paths, within, {"smooth": 1.0}, bench, noise=0.01)[-1])
    against = runs_of(0.70, 0.69, 0.73, dcn=0.695)  # inside the noise, the other sign: not the bench's direction
    assert "does NOT reproduce" in experiment.beside_bench(paths, against, {"smooth": 1.0}, bench, noise=0.01)[-1]
    # another ground truth (or the smooth term at another size): the bench cannot confirm or contradict it
    for other in ({"cross": 0.0, "triple": 1.0}, {"smooth": 2.0}, {"smooth": 1.0, "cross": 0.0}):
        assert experiment.bench_world(other, bench) is None
        last = experiment.beside_bench(paths, behind, other, bench, noise=0.01)[-1]
        assert "did not measure your ground truth" in last and '{"smooth": 1}' in last
    assert experiment.bench_world({}, bench) == "default" and experiment.bench_world({"smooth": 1.0}, bench) == "smooth"
    assert "not measured here" in experiment.beside_bench(paths, behind, {"smooth": 1.0}, None)[-1]
    # one seed of a world: a gain with no spread is no direction (it was once read as "behind")
    one_seed = {"fair": {"protocol": {}, "worlds": {"smooth": world((0.784,), (0.789,), 1.0)}}}
    for mine in (behind, ahead):
        said = experiment.beside_bench(paths, mine, {"smooth": 1.0}, one_seed, noise=0.01)
        assert "one seed only" in said[1] and "no direction to reproduce yet" in said[-1]
        assert not any("reproduces" in line or "NOT reproduce" in line for line in said)
    assert bf.fair_side(bf.Spread(0.005, 0.0, 1)) is None and bf.fair_side(None) is None
    # the bench's batch check (the same protocol at the lab's batch) is set beside it, world by world
    bench["fair_batch"] = {"protocol": {"batch_size": 1024}, "worlds": {
        "smooth": world((0.791, 0.790, 0.789), (0.790, 0.792, 0.789), 1.0)}}  # DCN level with DLRM there
    said = experiment.beside_bench(paths, ahead, {"smooth": 1.0}, bench, noise=0.01)
    small = [line for line in said if "batch 1024" in line]
    assert small == [f"  the same protocol at batch 1024 (the bench's batch check): +0.0003 ± 0.0015 — within the "
                     f"noise of {builders.DLRM}."]
    assert said.index(small[0]) == 3  # right after the smooth world's line it qualifies
    assert said[-1].endswith("reproduces the bench's direction (ahead of DLRM).")  # judged at 4096: tiny's batch differs
    at_1024 = Paths("small", tmp_path)  # the quick size's batch is the check's: judged like for like
    said = experiment.beside_bench(at_1024, ahead, {"smooth": 1.0}, bench, noise=0.01)
    assert "this lab's batch: your run is judged against this line" in said[3]
    assert "does NOT reproduce the bench's direction" in said[-1] and "in the bench within the noise" in said[-1]
    assert bf.fair_side(bf.Spread(0.005, 0.001, 3)) == 1 and bf.fair_side(bf.Spread(-0.005, 0.001, 3)) == -1
    assert bf.fair_side(bf.Spread(0.001, 0.003, 3)) == 0
