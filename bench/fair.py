"""The fair comparison of issue 18, in code once: every family trained to its early-stopping epoch, its learning rate
chosen on a slice of the TRAIN rows, the same budget for all, several seeds, paired gains against DLRM.

Protocol (`Protocol`): a fixed random `stop_slice` of the train rows is held out of training (the same rows for
every family, world and seed); each run trains on the rest one epoch at a time and stops once the AUC on that slice
has not improved for `patience` epochs (at most `max_epochs`), with the best epoch's weights restored
(`training.fit_early_stopping`). The learning-rate sweep trains each rate of `learning_rates` (0.001, 0.003, 0.01,
0.03) with the first seed and keeps the one with the best stop-slice AUC; the other seeds train at that rate (the
first seed's run of it is reused). A sweep whose best rate is the largest it tried has not found the best rate: it
then tries the next rate of `edge_rates` (0.1), one at a time, until the chosen rate is not the largest tried or the
ladder ends at 0.1 (bounded: beyond that Adam diverges on these models; a family still choosing 0.1 is recorded with
`rate_at_edge` true, and RESULTS.md says so). `low_rates` widens a sweep downwards the same way while its best rate is
the smallest it tried (none in the fair comparison: its families never chose 0.001; the batch check has 0.0003); a
family choosing the ladder's smallest rate is recorded with `rate_at_low_edge`. The built-in models take the rate chosen for their from-blocks twin (`builders.TWINS`: the same
architecture), to save time. The validation rows are only scored: the final AUC and log-loss, and the curve per
epoch; they choose nothing.

Every run is cached as one JSON file per (world, family, rate, seed) under `bench/out/fair/`, so a stopped run
resumes where it was; `merge` gathers the cache into bench/results.json's "fair" key (`bench/run.py --fair-only`
runs it, `--render-only` merges what the cache holds and renders RESULTS.md and the README).
"""
from __future__ import annotations

import json
import re
import statistics as st
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

HERE = Path(__file__).resolve().parent
CACHE = HERE / "out" / "fair"
SMOOTH_SIZE = 1.0  # Planted.smooth in the "smooth" world (sd of the term on the logit, as the cross term's 0.9)
WORLDS = ("default", "smooth")


@dataclass(frozen=True)
class Protocol:
    """The same budget rule for every family."""

    stop_slice: float = 0.1
    max_epochs: int = 8
    patience: int = 2
    learning_rates: tuple = (0.001, 0.003, 0.01, 0.03)
    edge_rates: tuple = (0.1,)  # tried in turn while the chosen rate is the largest tried (the sweep's top edge)
    low_rates: tuple = ()  # tried in turn, downwards, while the chosen rate is the smallest tried (the bottom edge)
    batch_size: int = 4096
    seeds: tuple = (1, 2, 3)
    selection: str = "AUC on the train stop slice"
    builtin_rate: str = "the rate chosen for the from-blocks twin (same architecture)"

    def record(self) -> dict:
        """The protocol as results.json stores it (`low_rates` only when there are any: records made before it
        existed stay equal)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if not (k == "low_rates" and not v)}

    def ladder(self, rates: Sequence[float] | None = None) -> list[float]:
        """Every rate a sweep may try, smallest first: `rates` alone when given (a twin's), else the protocol's."""
        return sorted(rates) if rates else sorted({*self.low_rates, *self.learning_rates, *self.edge_rates})


def split_train(rows, fraction: float, seed: int = 0):
    """(fit rows, stop rows): a fixed random `fraction` of the train rows held out for early stopping."""
    import numpy as np

    if not 0 < fraction < 1:
        raise ValueError(f"stop_slice must be in (0, 1), got {fraction}")
    held = np.random.default_rng(seed).random(len(rows)) < fraction
    return rows[~held].reset_index(drop=True), rows[held].reset_index(drop=True)


@dataclass
class WorldData:
    """One world's data as the runs read it: fit, stop and valid Merlin datasets and the schema."""

    name: str
    paths: object
    fit: object
    stop: object
    valid: object
    schema: object
    crosses: object = field(default=None, repr=False)


def read_rows(paths, schema=None):
    """The processed train rows (the model's columns) as one pandas frame."""
    from recsys_course.data import load, read_processed

    schema = schema if schema is not None else load(paths)[2]
    return read_processed(paths.train, columns=schema.column_names)


def load_world(name: str, paths, protocol: Protocol) -> WorldData:
    """Read the processed train rows, split off the stop slice, and measure the crosses on the train rows."""
    import pandas as pd
    from merlin.io import Dataset

    from recsys_course.modeling import builders
    from recsys_course.data import load
    from recsys_course.data.formats import CROSS_CANDIDATES, TARGET

    _, valid, schema = load(paths)
    rows = read_rows(paths, schema)
    fit, stop = (Dataset(part, schema=schema) for part in split_train(rows, protocol.stop_slice))
    fit.schema = stop.schema = schema
    crosses = builders.strongest_crosses(pd.read_parquet(paths.prepared / "train",
                                                         columns=[*CROSS_CANDIDATES, TARGET]), CROSS_CANDIDATES)
    return WorldData(name, paths, fit, stop, valid, schema, crosses)


def make_smooth_world(root: Path, size: float = SMOOTH_SIZE, scale: str = "small", seed: int = 42):
    """The `small` data again with `Planted.smooth = size` (everything else as shipped), made once into `root`."""
    import shutil

    from recsys_course.config import Paths
    from recsys_course.data.etl import run_etl
    from recsys_course.files import atomic_output
    from recsys_course.data.generate import generate
    from recsys_course.data.prepare import prepare

    from recsys_course.data.oracle import generator_meta

    paths = Paths(scale, Path(root))
    made = paths.status()["processed"] and (generator_meta(paths.raw) or {}).get("planted", {}).get("smooth") == size
    if not made:
        shutil.rmtree(root, ignore_errors=True)
        with atomic_output(root) as tmp:
            generate(tmp / "raw", scale, seed=seed, planted={"smooth": size}, progress=False)
            prepare(tmp / "raw", tmp / "prepared")
            run_etl(tmp / "prepared", tmp / "processed_nvt")
    return paths


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cache_file(cache: Path, world: str, family: str, rate: float, seed: int) -> Path:
    return Path(cache) / world / slug(family) / f"lr{rate:g}-seed{seed}.json"


def cache_for(protocol: Protocol, root: Path = CACHE) -> Path:
    """The cache folder of one budget rule: runs made with another max_epochs, patience, slice or batch never mix."""
    p = protocol
    return Path(root) / f"e{p.max_epochs}-p{p.patience}-slice{p.stop_slice:g}-b{p.batch_size}"


def one_run(build: Callable, data: WorldData, rate: float, seed: int, protocol: Protocol) -> dict:
    """Train one model (seeded) to its early-stopping epoch; score it on the validation rows."""
    from recsys_course.modeling.training import set_seeds
    from recsys_course.modeling.training import fit_early_stopping

    set_seeds(seed)
    model = build()
    fitted = fit_early_stopping(model, data.fit, data.stop, protocol.max_epochs, protocol.patience,
                                protocol.batch_size, rate, watch=data.valid)
    scores = model.evaluate(data.valid, batch_size=protocol.batch_size, return_dict=True, verbose=0)
    return {"seed": seed, "learning_rate": rate, "auc": float(scores["auc"]), "logloss": float(scores["loss"]),
            "stopped_epoch": fitted.stopped_epoch, "epochs_run": fitted.epochs_run,
            "params": int(model.count_params()), "rows_per_s": fitted.rows_per_second,
            "stop_auc": fitted.stop_auc, "val_auc": fitted.watch_auc}


def cached_run(cache: Path, world: WorldData, family: str, build: Callable, rate: float, seed: int,
               protocol: Protocol, log: Callable = print) -> dict:
    """The run from the cache, or trained now and cached (written whole or not at all)."""
    path = cache_file(cache, world.name, family, rate, seed)
    if path.exists():
        return json.loads(path.read_text())
    run = one_run(build, world, rate, seed, protocol)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(run, indent=1) + "\n")
    tmp.replace(path)
    log(f"  {world.name} | {family} | lr {rate:g} seed {seed}: valid AUC {run['auc']:.4f}, stopped at epoch "
        f"{run['stopped_epoch']}/{run['epochs_run']}, {run['rows_per_s']:,.0f} rows/s", flush=True)
    return run


def run_family(cache: Path, world: WorldData, family: str, build: Callable, protocol: Protocol,
               rates: Sequence[float] | None = None, log: Callable = print) -> dict:
    """The sweep with the first seed over `rates` (default the protocol's, widened past its top edge by
    `edge_rates` and past its bottom edge by `low_rates`), then the other seeds at the chosen rate. Given `rates` (a
    built-in's twin's rate) is not widened."""
    first, *others = protocol.seeds
    ladder = protocol.ladder(rates)
    tried = ladder if rates else list(protocol.learning_rates)
    sweep = {rate: cached_run(cache, world, family, build, rate, first, protocol, log) for rate in tried}
    while (nxt := next_rate(sweep, ladder)) is not None:
        sweep[nxt] = cached_run(cache, world, family, build, nxt, first, protocol, log)
    chosen = choose_rate(sweep)
    runs = [sweep[chosen], *(cached_run(cache, world, family, build, chosen, s, protocol, log) for s in others)]
    return family_record(sweep, chosen, runs, ladder)


def next_rate(sweep: dict, ladder: Sequence[float]) -> float | None:
    """The next rate up the ladder when the chosen rate is the largest tried (the sweep's top edge), the next one
    down when it is the smallest tried (its bottom edge), else None."""
    chosen = choose_rate(sweep)
    higher, lower = [r for r in ladder if r > max(sweep)], [r for r in ladder if r < min(sweep)]
    if chosen == max(sweep) and higher:
        return min(higher)
    return max(lower) if chosen == min(sweep) and lower else None


def family_record(sweep: dict, chosen: float, runs: list, ladder: Sequence[float]) -> dict:
    widened = len(sweep) > 1
    return {"lr_sweep": {f"{r:g}": max(run["stop_auc"]) for r, run in sorted(sweep.items())}, "chosen_lr": chosen,
            "rate_at_edge": widened and chosen == max(ladder), "rate_at_low_edge": widened and chosen == min(ladder),
            "runs": runs}


def choose_rate(sweep: dict) -> float:
    """The rate whose first-seed run reached the best AUC on the stop slice (the smaller rate on a tie)."""
    return max(sorted(sweep), key=lambda r: (max(sweep[r]["stop_auc"]), -r))


def family_from_cache(cache: Path, world: str, family: str, protocol: Protocol,
                      rates: Sequence[float] | None = None) -> dict | None:
    """A family's record from the cache alone: None until the sweep is complete (widened past its edges as
    `run_family` does); the seeds cached so far."""
    first, *others = protocol.seeds
    ladder = protocol.ladder(rates)
    tried = ladder if rates else list(protocol.learning_rates)
    paths = {r: cache_file(cache, world, family, r, first) for r in tried}
    if not all(p.exists() for p in paths.values()):
        return None
    sweep = {r: json.loads(p.read_text()) for r, p in paths.items()}
    while (nxt := next_rate(sweep, ladder)) is not None:
        if not (p := cache_file(cache, world, family, nxt, first)).exists():
            return None
        sweep[nxt] = json.loads(p.read_text())
    chosen = choose_rate(sweep)
    runs = [sweep[chosen]] + [json.loads(p.read_text()) for s in others
                              if (p := cache_file(cache, world, family, chosen, s)).exists()]
    return family_record(sweep, chosen, runs, ladder)


def paired(families: dict, base: str) -> dict:
    """Paired gain of every family over `base`: AUC difference with the same seed, over the seeds both have."""
    out = {}
    if base not in families:
        return out
    base_auc = {r["seed"]: r["auc"] for r in families[base]["runs"]}
    for name, fam in families.items():
        diffs = [r["auc"] - base_auc[r["seed"]] for r in fam["runs"] if r["seed"] in base_auc]
        if name != base and diffs:
            out[name] = {"mean": st.mean(diffs), "sd": st.stdev(diffs) if len(diffs) > 1 else 0.0, "n": len(diffs)}
    return out


def world_record(cache: Path, world: str, families: Sequence[str], protocol: Protocol, info: dict,
                 before: dict | None = None) -> dict:
    """One world's "fair" record from the cache: planted effects, oracle, each family measured so far, paired gains.

    `before`: the world's families as results.json held them (same protocol). A family the cache holds no run of
    (the cache was made on another machine, or cleared) keeps that record, so that measuring one family adds it
    beside the others instead of erasing them; a family the cache holds part of is the cache's (or not shown)."""
    from recsys_course.modeling.builders import DLRM, TWINS

    measured: dict = {}
    for name in families:
        twin = family_from_cache(cache, world, TWINS.get(name, ""), protocol)
        rates = [twin["chosen_lr"]] if twin else None
        fam = family_from_cache(cache, world, name, protocol, rates)
        if fam is not None:
            fam["rate_from"] = f"{TWINS[name]} (its twin)" if rates else "sweep"
            measured[name] = fam
        elif name in (before or {}) and not (Path(cache) / world / slug(name)).exists():
            measured[name] = before[name]
    return {**info, "families": measured, "paired": paired(measured, DLRM)}


def world_info(world: WorldData) -> dict:
    """What a world is: its planted effects (no tables), oracle AUC, rows, and the crosses its cross model used."""
    from recsys_course.data.oracle import generator_meta, valid_auc

    meta = generator_meta(world.paths.raw) or {}
    planted = {k: v for k, v in (meta.get("planted") or {}).items() if "matrix" not in k and k != "hour_bands"}
    root = Path(world.paths.root).absolute()  # data/small may be a link: keep its name in the repository
    where = root.relative_to(HERE.parent) if root.is_relative_to(HERE.parent) else root
    return {"planted": planted, "oracle_auc": valid_auc(world.paths.prepared), "data": str(where),
            "fit_rows": world.fit.num_rows, "stop_rows": world.stop.num_rows, "valid_rows": world.valid.num_rows,
            "crosses": world.crosses.record()}


def merge(results_path: Path, cache: Path, protocol: Protocol, families: Sequence[str], key: str = "fair") -> dict:
    """bench/results.json with its "fair" key (or `key`: the batch check's) rebuilt from the cache (other keys
    untouched); written atomically.
    What the cache holds nothing of (a world, a family) stays as results.json had it, when the protocol and the
    world's data (its rows, oracle and crosses) are the same."""
    results = json.loads(Path(results_path).read_text()) if Path(results_path).exists() else {}
    previous = results.get(key) or {}
    same_rule = previous.get("protocol") == protocol.record()
    worlds = {}
    for world in WORLDS:
        info_path = Path(cache) / world / "world.json"
        before = (previous.get("worlds") or {}).get(world) if same_rule else None
        if info_path.exists():
            info = json.loads(info_path.read_text())
            same_data = before is not None and {k: before.get(k) for k in info} == info  # same rows, oracle, crosses
            worlds[world] = world_record(cache, world, families, protocol, info,
                                         before["families"] if same_data else None)
        elif before:  # this cache holds nothing of the world: results.json keeps it as it was
            worlds[world] = before
    if not any((Path(cache) / w / "world.json").exists() for w in WORLDS) and previous.get("worlds"):
        # no cache here (a fresh clone: bench/out is not committed): keep what results.json holds, never erase it
        raise SystemExit(f"no fair-comparison cache in {cache}: results.json keeps its {key!r} key as it is")
    import datetime as dt

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results[key] = {"protocol": protocol.record(), "families": list(families), "worlds": worlds, "merged": stamp}
    tmp = Path(results_path).with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=float) + "\n")
    tmp.replace(results_path)
    return results


def plan(families: Sequence[str]) -> list[tuple[str, str]]:
    """(world, family) in the order the bench trains them, most telling first, so that a partial run (the machine is
    shared and slow) holds the comparisons the issue asks about: DLRM and the stacked DCN in the course's data,
    concat -> MLP, DLRM and the stacked DCN in the smooth world, DCN + dot products in both; then the data's cross
    and DCN parallel in both, concat -> MLP in the smooth world; then the rest. The order changes no result (every
    run is seeded and cached on its own)."""
    from recsys_course.modeling import builders as b

    first = [("default", b.DLRM), ("default", b.DCN_2), ("default", b.CONCAT_MLP), ("smooth", b.DLRM),
             ("smooth", b.DCN_2), ("smooth", b.TRIPLE_EMBEDDED), ("default", b.DCN_WITH_DOTS),
             ("smooth", b.DCN_WITH_DOTS), ("default", b.TRIPLE_EMBEDDED), ("default", b.TRIPLE_CROSS),
             ("default", b.DCN_PARALLEL), ("smooth", b.DCN_PARALLEL), ("smooth", b.CONCAT_MLP)]
    last = [("smooth", b.TRIPLE_CROSS)]  # its one-hot cross is ~40k bins wide there: the slowest run of all
    first = [pair for pair in first if pair[1] in families]
    return first + [(w, f) for w in WORLDS for f in families if (w, f) not in first + last] + [
        pair for pair in last if pair[1] in families]


def run_plan(cache: Path, worlds: dict[str, Callable[[], WorldData]], families: Sequence[str],
             protocol: Protocol, after_family: Callable = lambda: None, log: Callable = print) -> None:
    """Train every (world, family) of `plan(families)`, cached run by run; `after_family` (the merge) after each.

    `worlds` maps a world's name to a function that loads it (called once, when its first family comes).
    """
    from recsys_course.modeling import builders

    loaded: dict[str, WorldData] = {}
    for name, family in plan(families):
        if name not in worlds:
            continue
        if name not in loaded:
            loaded[name] = world = worlds[name]()
            info = Path(cache) / name / "world.json"
            info.parent.mkdir(parents=True, exist_ok=True)
            info.write_text(json.dumps(world_info(world), indent=1, default=float) + "\n")
        world, c = loaded[name], loaded[name].crosses
        build = builders.standard_models(world.schema, names=[family], pair=c.pair, triple=c.triple,
                                         enough_bins=c.enough_bins)[family]
        twin = family_from_cache(cache, name, builders.TWINS.get(family, ""), protocol)
        rates = [twin["chosen_lr"]] if twin else None
        fam = run_family(cache, world, family, build, protocol, rates, log)
        log(f"{name} | {family}: rate {fam['chosen_lr']:g} (sweep {fam['lr_sweep']}), valid AUC "
            + ", ".join(f"{r['auc']:.4f}" for r in fam["runs"]), flush=True)
        after_family()
