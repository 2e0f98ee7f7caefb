"""The fair comparison's protocol (training.fit_early_stopping, bench/fair.py): it stops, restores the best epoch,
chooses on the train stop slice only (never the validation rows), caches and resumes, merges into results.json."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from conftest import REPO
from recsys_course.modeling import builders
from recsys_course.modeling.training import best_epoch, fit_early_stopping

sys.path.insert(0, str(REPO / "bench"))
import fair  # noqa: E402  (bench/fair.py)


def test_best_epoch_waits_patience_epochs_and_ties_do_not_count():
    assert best_epoch([0.6], 1) == (1, False)
    assert best_epoch([0.6, 0.7, 0.65], 1) == (2, True)
    assert best_epoch([0.6, 0.7, 0.65], 2) == (2, False)
    assert best_epoch([0.6, 0.7, 0.7, 0.7], 2) == (2, True)  # equal is not better


class Rows:
    """A stand-in dataset: only its name and size matter to the fake model."""

    def __init__(self, name, num_rows=100):
        self.name, self.num_rows = name, num_rows


class ScriptedModel:
    """A fake Keras model: fitting one epoch moves its 'weights' to that epoch; evaluating a dataset returns the
    scripted AUC of that dataset after that epoch (so a test knows exactly which epoch is best on which rows)."""

    def __init__(self, scores: dict[str, list[float]]):
        self.scores, self.epoch, self.evaluated = scores, 0, []

    def compile(self, **kwargs):
        pass

    def fit(self, rows, callbacks=(), **kwargs):
        assert rows.name == "fit", f"trained on {rows.name}"
        for cb in callbacks:
            cb.on_train_begin()
            cb.on_epoch_begin(self.epoch)
            cb.on_epoch_end(self.epoch)
        self.epoch += 1

    def evaluate(self, rows, **kwargs):
        self.evaluated.append((rows.name, self.epoch))
        return {"auc": self.scores[rows.name][self.epoch - 1], "loss": 0.5}

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.epoch = weights[0]


def test_it_stops_on_the_stop_rows_and_restores_their_best_epoch_whatever_the_watched_rows_say():
    stop = [0.60, 0.66, 0.70, 0.69, 0.68, 0.71, 0.72, 0.73]
    valid = [0.50, 0.51, 0.52, 0.53, 0.90, 0.91, 0.92, 0.93]  # valid would pick a later epoch: it must not matter
    model = ScriptedModel({"stop": stop, "valid": valid})
    out = fit_early_stopping(model, Rows("fit"), Rows("stop"), max_epochs=8, patience=2, watch=Rows("valid"))
    assert (out.stopped_epoch, out.epochs_run) == (3, 5) and model.epoch == 3  # restored to epoch 3
    assert out.stop_auc == stop[:5] and out.watch_auc == valid[:5]
    blind = fit_early_stopping(ScriptedModel({"stop": stop}), Rows("fit"), Rows("stop"), 8, 2)
    assert (blind.stopped_epoch, blind.epochs_run) == (3, 5) and blind.watch_auc == []
    capped = fit_early_stopping(ScriptedModel({"stop": sorted(stop)}), Rows("fit"), Rows("stop"), 4, 1)
    assert (capped.stopped_epoch, capped.epochs_run) == (4, 4)  # still rising: the budget ends it
    with pytest.raises(ValueError, match="patience"):
        fit_early_stopping(ScriptedModel({"stop": stop}), Rows("fit"), Rows("stop"), 4, 0)


def test_the_stop_slice_is_a_fixed_part_of_the_train_rows():
    import pandas as pd

    rows = pd.DataFrame({"i": np.arange(5000)})
    fit_rows, stop_rows = fair.split_train(rows, 0.1)
    assert sorted([*fit_rows["i"], *stop_rows["i"]]) == list(range(5000))  # a partition of the train rows
    assert 400 < len(stop_rows) < 600
    assert fair.split_train(rows, 0.1)[1]["i"].tolist() == stop_rows["i"].tolist()  # the same for every run
    with pytest.raises(ValueError, match="stop_slice"):
        fair.split_train(rows, 1.0)


def test_a_real_model_stops_and_keeps_its_best_epoch(tiny_processed):
    from recsys_course.config import Paths

    protocol = fair.Protocol(batch_size=128, max_epochs=10, patience=1)
    world = fair.load_world("default", Paths("tiny", tiny_processed.parent), protocol)
    assert world.fit.num_rows + world.stop.num_rows == fair.read_rows(world.paths).shape[0]
    model = builders.dlrm(world.schema)
    out = fit_early_stopping(model, world.fit, world.stop, 10, 1, batch_size=128, learning_rate=0.03)
    assert out.epochs_run < 10, f"a rate of 0.03 on ~3,500 rows should overfit within 10 epochs: {out.stop_auc}"
    assert out.stopped_epoch == int(np.argmax(out.stop_auc)) + 1 and out.epochs_run == out.stopped_epoch + 1
    again = model.evaluate(world.stop, batch_size=128, return_dict=True, verbose=0)["auc"]
    assert again == pytest.approx(out.stop_auc[out.stopped_epoch - 1], abs=1e-6)  # the best epoch's weights


def test_the_protocol_caches_resumes_and_merges(tiny_processed, tmp_path, monkeypatch):
    from recsys_course.config import Paths

    protocol = fair.Protocol(batch_size=128, max_epochs=2, patience=1, learning_rates=(0.003, 0.01), edge_rates=(),
                             seeds=(1, 2))
    families = [builders.DLRM, builders.BUILTIN_DLRM, builders.CONCAT_MLP]
    worlds = {"default": lambda: fair.load_world("default", Paths("tiny", tiny_processed.parent), protocol)}
    cache, results = tmp_path / "cache", tmp_path / "results.json"
    results.write_text(json.dumps({"models": {"kept": 1}}))
    merges = []
    fair.run_plan(cache, worlds, families, protocol,
                  after_family=lambda: merges.append(fair.merge(results, cache, protocol, families)))
    r = json.loads(results.read_text())
    assert r["models"] == {"kept": 1} and len(merges) == len(families)  # merged after every family
    world = r["fair"]["worlds"]["default"]
    assert r["fair"]["protocol"]["learning_rates"] == [0.003, 0.01] and world["oracle_auc"] is not None
    dlrm, builtin = world["families"][builders.DLRM], world["families"][builders.BUILTIN_DLRM]
    assert dlrm["chosen_lr"] == float(max(dlrm["lr_sweep"], key=dlrm["lr_sweep"].get))  # chosen on the stop slice
    assert list(builtin["lr_sweep"]) == [f"{dlrm['chosen_lr']:g}"] and builtin["rate_from"].startswith(builders.DLRM)
    for fam in world["families"].values():
        assert [x["seed"] for x in fam["runs"]] == [1, 2]
        for x in fam["runs"]:
            assert x["stopped_epoch"] == int(np.argmax(x["stop_auc"])) + 1 <= x["epochs_run"] <= 2
            assert x["auc"] == pytest.approx(x["val_auc"][x["stopped_epoch"] - 1], abs=1e-6)  # not valid's best
    gains = [a["auc"] - b["auc"] for a, b in zip(world["families"][builders.CONCAT_MLP]["runs"], dlrm["runs"])]
    assert world["paired"][builders.CONCAT_MLP]["mean"] == pytest.approx(float(np.mean(gains)))
    assert builders.DLRM not in world["paired"] and world["paired"][builders.CONCAT_MLP]["n"] == 2

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although every run is cached")

    monkeypatch.setattr(fair, "one_run", no_training)
    fair.run_plan(cache, worlds, families, protocol)  # resumes: everything from the cache
    chosen = dlrm["chosen_lr"]
    fair.cache_file(cache, "default", builders.DLRM, chosen, 2).unlink()  # a partial run: seed 2 not measured yet
    partial = fair.merge(results, cache, protocol, families)["fair"]["worlds"]["default"]
    assert [x["seed"] for x in partial["families"][builders.DLRM]["runs"]] == [1]
    assert partial["paired"][builders.CONCAT_MLP]["n"] == 1
    fair.cache_file(cache, "default", builders.DLRM, 0.003 if chosen == 0.01 else 0.01, 1).unlink()
    gone = fair.merge(results, cache, protocol, families)["fair"]["worlds"]["default"]
    assert builders.DLRM not in gone["families"] and gone["paired"] == {}  # sweep incomplete: not shown at all
    import shutil

    kept = gone["families"][builders.CONCAT_MLP]
    shutil.rmtree(cache / "default" / fair.slug(builders.CONCAT_MLP))  # the cache holds nothing of it any more
    again = fair.merge(results, cache, protocol, families)["fair"]["worlds"]["default"]
    assert again["families"][builders.CONCAT_MLP] == kept  # kept as results.json had it, not erased
    info = cache / "default" / "world.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "oracle_auc": 0.5}))  # other data: not comparable
    other = fair.merge(results, cache, protocol, families)["fair"]["worlds"]["default"]
    assert builders.CONCAT_MLP not in other["families"]
    before = json.loads(results.read_text())["fair"]
    check = fair.merge(results, cache, protocol, families, key="fair_batch")  # the batch check's key, beside it
    assert check["fair"] == before and check["fair_batch"]["worlds"]["default"]["families"] == other["families"]


def test_a_sweep_at_its_top_edge_is_widened_until_it_is_not(tmp_path, monkeypatch):
    """The best rate being the largest tried means the best is not found: the next rate up is tried, in turn, until
    the chosen rate is below the largest tried or the ladder ends (then `rate_at_edge` says so). The other seeds run
    only at the final choice; a built-in given its twin's rate is never widened."""
    best_at = {"a": 0.03, "b": 0.1, "c": 0.003}  # the rate each scripted family does best at on the stop slice
    trained = []

    def scripted_run(build, data, rate, seed, protocol):
        trained.append((build, rate, seed))
        score = 0.8 - abs(np.log10(rate) - np.log10(best_at[build])) / 10
        return {"seed": seed, "learning_rate": rate, "auc": score, "stop_auc": [score], "stopped_epoch": 1,
                "epochs_run": 2, "rows_per_s": 1.0}

    monkeypatch.setattr(fair, "one_run", scripted_run)
    protocol = fair.Protocol(learning_rates=(0.001, 0.003, 0.01), edge_rates=(0.03, 0.1), seeds=(1, 2))
    world = fair.WorldData("w", None, None, None, None, None)
    out = {name: fair.run_family(tmp_path, world, name, name, protocol, log=lambda *a, **k: None) for name in best_at}
    assert [(r, s) for b, r, s in trained if b == "a"] == [(0.001, 1), (0.003, 1), (0.01, 1), (0.03, 1), (0.1, 1),
                                                           (0.03, 2)]
    assert out["a"]["chosen_lr"] == 0.03 and not out["a"]["rate_at_edge"] and list(out["a"]["lr_sweep"]) == [
        "0.001", "0.003", "0.01", "0.03", "0.1"]
    assert out["b"]["chosen_lr"] == 0.1 and out["b"]["rate_at_edge"]  # the ladder ends: said, not hidden
    assert out["c"]["chosen_lr"] == 0.003 and list(out["c"]["lr_sweep"]) == ["0.001", "0.003", "0.01"]  # no widening
    for name, fam in out.items():  # the cache alone gives the same record
        assert fair.family_from_cache(tmp_path, "w", name, protocol) == fam
    fair.cache_file(tmp_path, "w", "b", 0.1, 1).unlink()
    assert fair.family_from_cache(tmp_path, "w", "b", protocol) is None  # the widened sweep is not complete
    trained.clear()
    down = fair.Protocol(learning_rates=(0.001, 0.003, 0.01), edge_rates=(0.03,), low_rates=(0.0001, 0.0003),
                         seeds=(1, 2))
    best_at.update(d=0.0003, e=0.00001)  # below the sweep: widened downwards, one rate at a time
    low = {name: fair.run_family(tmp_path / "down", world, name, name, down, log=lambda *a, **k: None)
           for name in ("d", "e")}
    assert [(r, s) for b, r, s in trained if b == "d"] == [(0.001, 1), (0.003, 1), (0.01, 1), (0.0003, 1),
                                                           (0.0001, 1), (0.0003, 2)]
    assert low["d"]["chosen_lr"] == 0.0003 and not low["d"]["rate_at_low_edge"]
    assert low["e"]["chosen_lr"] == 0.0001 and low["e"]["rate_at_low_edge"]  # the ladder ends below: said
    assert all(fair.family_from_cache(tmp_path / "down", "w", n, down) == low[n] for n in low)
    assert "low_rates" not in fair.Protocol().record() and down.record()["low_rates"] == [0.0001, 0.0003]
    trained.clear()
    twin = fair.run_family(tmp_path, world, "builtin", "b", protocol, rates=[0.01], log=lambda *a, **k: None)
    assert [(r, s) for _, r, s in trained] == [(0.01, 1), (0.01, 2)] and twin["chosen_lr"] == 0.01


def test_the_smooth_world_is_made_once_with_the_term_on(tmp_path):
    from recsys_course.data.oracle import generator_meta

    paths = fair.make_smooth_world(tmp_path / "smooth", size=1.0, scale="tiny")
    assert paths.status() == {"raw": True, "prepared": True, "processed": True}
    assert generator_meta(paths.raw)["planted"]["smooth"] == 1.0
    stamp = (paths.processed / "etl.json").stat().st_mtime_ns
    fair.make_smooth_world(tmp_path / "smooth", size=1.0, scale="tiny")
    assert (paths.processed / "etl.json").stat().st_mtime_ns == stamp  # not made again
