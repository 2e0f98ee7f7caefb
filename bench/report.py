"""bench/results.json -> bench/RESULTS.md, auc.png and curves.png. Every goal is computed and marked met or missed.

Nothing here measures: every figure comes from results.json (run `python bench/report.py` to redo the report).
"""
from __future__ import annotations

import statistics as st
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

from recsys_course.course import benchfigures, experiment

from recsys_course.tools import readme
from recsys_course.modeling.builders import (BUILTIN_DCN, BUILTIN_DLRM, CONCAT_MLP, DCN_1, DCN_2, DCN_WITH_DOTS, DLRM,
                                    FAIR_MODELS, NESTED_CROSS, TRIPLE_CROSS, TRIPLE_CROSS_1000, TRIPLE_EMBEDDED)

MET, MISSED, REPORTED, NOT_RUN = "met", "**missed**", "reported", "not measured"


@dataclass(frozen=True)
class Goal:
    """One row of the goals table: what was asked, what was measured, the verdict, and why when missed."""

    goal: str
    measured: str
    status: str
    why: str = ""


def _verdict(ok: bool) -> str:
    return MET if ok else MISSED


def _spread(values: list[float], signed: bool = True) -> str:
    """mean ± sd (min … max) over the seeds."""
    sd = st.stdev(values) if len(values) > 1 else 0.0
    fmt = "+.4f" if signed else ".4f"
    return f"{st.mean(values):{fmt}} ± {sd:.4f} ({min(values):{fmt}} … {max(values):{fmt}})"


def _paired(runs: dict, name: str, base: str = DLRM) -> list[float]:
    """AUC of `name` minus AUC of `base` (plain DLRM unless said), seed by seed."""
    return benchfigures.paired_differences(runs, name, base)


def _speed(runs: dict, name: str) -> float:
    return st.mean(x["rows_per_s"] for x in runs[name])


def _cross_goals(r: dict) -> list[Goal]:
    runs = r["models"]["runs"]
    used = benchfigures.crosses(r) or {}
    triple = " × ".join(used.get("triple", ["?"]))
    bins, combos = used.get("enough_bins", "?"), used.get("triple_combinations", "?")
    right, nested = _paired(runs, TRIPLE_CROSS), _paired(runs, NESTED_CROSS)
    collide = _paired(runs, TRIPLE_CROSS, TRIPLE_CROSS_1000)
    embedded = _speed(runs, TRIPLE_EMBEDDED) / _speed(runs, TRIPLE_CROSS)
    return [
        Goal(f"the right explicit cross (the data's strongest triple, {triple}, {bins} bins) beats DLRM by ≥ 0.010 "
             "AUC", _spread(right), _verdict(st.mean(right) >= 0.010), "see the paired gains in the quality table."),
        Goal(f"the nested 2022 cross ({NESTED_CROSS}) adds < 0.004 AUC", _spread(nested),
             _verdict(st.mean(nested) < 0.004), "cat_1 determines cat_0, yet the wide branch still adds capacity."),
        Goal(f"collisions cost: {bins} bins beat 1000 bins for the triple {triple} ({combos} combinations in the "
             "train rows)",
             _spread(collide), _verdict(st.mean(collide) > 0), "with 1000 bins the collisions did not cost AUC here."),
        Goal(f"the crossed id embedded ({TRIPLE_EMBEDDED}) trains faster than the one-hot cross, AUC measured",
             f"{embedded:.2f}× the rows/s; gain vs DLRM {_spread(_paired(runs, TRIPLE_EMBEDDED))}",
             _verdict(embedded > 1), "see the throughput table."),
    ]


def _model_goals(r: dict) -> list[Goal]:
    runs = r["models"]["runs"]
    dlrm = [x["auc"] for x in runs[DLRM]]
    mean = {name: st.mean(x["auc"] for x in v) for name, v in runs.items()}
    best = max(mean, key=mean.get)
    gap = benchfigures.oracle_auc(r) - mean[best]
    measured, judged = f"{best}: {gap:.4f} below {benchfigures.oracle_auc(r):.4f}", gap
    fair_best = _fair_best(r)
    if fair_best is not None:  # judged on the models trained to their stopping epoch at their own rate
        name, auc, oracle = fair_best
        judged, n = oracle - auc.mean, auc.n
        held = ((r.get("fair") or {}).get("protocol") or {}).get("stop_slice", 0.1)
        measured = (f"fair comparison (each family at its tuned rate, early-stopped, {n} seeds, {held:.0%} of the "
                    "train rows held out to stop on): "
                    f"{name} {judged:.4f} below {oracle:.4f}; 2 epochs at Adam's default rate: {measured}")
    dcn = "; ".join(f"{n} {_spread(_paired(runs, n))}" for n in (DCN_1, DCN_2) if n in runs)
    builtin = _spread(_paired(runs, BUILTIN_DCN, BUILTIN_DLRM)) if {BUILTIN_DCN, BUILTIN_DLRM} <= set(runs) else "-"
    return [
        Goal("plain DLRM's valid AUC within 0.70–0.80", _spread(dlrm, signed=False),
             _verdict(0.70 <= st.mean(dlrm) <= 0.80), "the planted signal sets this level."),
        Goal("best model within 0.025 AUC of the oracle", measured, _verdict(judged <= 0.025),
             "the oracle knows each user's planted effect and user × category affinity, which about a dozen "
             "train rows per user cannot pin down, and each product's effect, which the long tail of products "
             "seen a few times cannot either; no model here closes that part of the gap."),
        Goal("the realistic DCN vs DLRM (paired gain, mean ± sd over seeds; 2 epochs at Adam's default rate, untuned: "
             "not a verdict, the fair rows below are)",
             f"{dcn}; {BUILTIN_DCN} vs {BUILTIN_DLRM} {builtin}", REPORTED),
    ]


def _fair_best(r: dict) -> tuple[str, benchfigures.Spread, float] | None:
    """The fair comparison's best family in the course's data: (name, its valid AUC over seeds, oracle AUC), or None."""
    world = benchfigures.fair_world(r, "default") or {}
    means = {n: benchfigures.fair_auc(r, "default", n) for n in world.get("families", {})}
    means = {n: a for n, a in means.items() if a is not None}
    if not means or world.get("oracle_auc") is None:
        return None
    name = max(means, key=lambda n: means[n].mean)
    return name, means[name], float(world["oracle_auc"])


def _controlled_goal(r: dict) -> Goal:
    cases = r.get("controlled_dcn_runs") or []
    goal = ("the controlled DCN case: the cross layer reaches a clearly better error than an MLP with ≥ 10× its "
            "parameters")
    if not cases:
        return Goal(goal, "recsys_course.course.polynomial was not available to this run", NOT_RUN)
    ratios = [c["error_ratio"] for c in cases if c.get("error_ratio")]
    measured = (f"{cases[0]['cross']} vs {cases[0]['mlp']} ({cases[0]['param_ratio']:.0f}× its parameters): MLP "
                f"RMSE / cross RMSE {min(ratios):.1f}–{max(ratios):.1f} over {len(cases)} seeds "
                "(clearly better: ≥ 5)"
                ) if ratios else "no MLP with ≥ 10× the parameters"
    return Goal(goal, measured, _verdict(all(c.get("clearly_better") for c in cases)),
                "see the controlled case's table: the error ratio is below the 5× the case calls clearly better.")


def _earlier_goals(r: dict) -> list[Goal]:
    gen, runs = r["data"]["generate_all_views"]["events_per_s"], r["models"]["runs"]
    goals = [Goal("generator ≥ 1M raw events/s incl. the write (all views written)", f"{gen / 1e6:.2f}M events/s",
                  _verdict(gen >= 1e6), "the generator simulates every session event by event in numpy over two "
                  "processes, on CPU cores shared with the other work of this machine.")]
    if BUILTIN_DLRM in runs:
        ratio = _speed(runs, DLRM) / _speed(runs, BUILTIN_DLRM)
        goals.append(Goal("from-scratch DLRM trains ≥ 0.9× as fast as mm.DLRMModel", f"{ratio:.2f}×",
                          _verdict(ratio >= 0.9), "see the throughput table (one shared machine: noisy)."))
    return goals


def _fair_families(r: dict) -> list[tuple[str, str, dict]]:
    """(world, family, record) of every family the fair comparison measured."""
    worlds = (r.get("fair") or {}).get("worlds") or {}
    return [(w, n, fam) for w in benchfigures.FAIR_WORLDS for n, fam in (worlds.get(w) or {}).get("families", {}).items()]


def _converged_goal(r: dict) -> Goal:
    goal = "fair: every family trained to its early-stopping epoch, with its learning rate chosen on the train slice"
    p, measured = (r.get("fair") or {}).get("protocol"), _fair_families(r)
    if not p or not measured:
        return Goal(goal, "the fair comparison has not been run yet", NOT_RUN)
    seeds = len(p["seeds"])
    expected = len(benchfigures.FAIR_WORLDS) * len(FAIR_MODELS)
    whole = [(w, n) for w, n, fam in measured if len(fam["runs"]) == seeds]
    capped = [f"{n} ({w}, seed {x['seed']})" for w, n, fam in measured for x in fam["runs"]
              if x["stopped_epoch"] == p["max_epochs"]]
    ends = (min([*p["learning_rates"], *p.get("low_rates", [])]), max([*p["learning_rates"], *p.get("edge_rates", [])]))
    edge = [f"{n} ({w}: {fam['chosen_lr']:g})" for w, n, fam in measured if fam.get("rate_from") == "sweep"
            and fam["chosen_lr"] in ends]
    runs = sum(len(fam["runs"]) for _, _, fam in measured)
    said = (f"{len(whole)} of {expected} (world, family) measured with all {seeds} seeds ({runs} runs kept); "
            f"best epoch at the budget of {p['max_epochs']} (still improving): {', '.join(capped) or 'none'}")
    why = [f"not measured yet: {expected - len(whole)} (world, family) of {expected}"] if len(whole) < expected else []
    why += [f"stopped by the budget, not by patience: {', '.join(capped)}"] if capped else []
    if edge:
        said += f"; rate chosen at an end of the sweep: {', '.join(edge)}"
        why.append(f"a rate at an end of the sweep ({ends[0]:g} or {ends[1]:g}, the widened ladder's ends) may not "
                   "be the best one")
    status = MISSED if capped else MET if len(whole) == expected else f"{NOT_RUN} yet (partial run)"
    return Goal(goal, said, status, "; ".join(why) + ".")


def _confound_goal(r: dict) -> Goal:
    goal = (f"fair: the confound separated — {DCN_WITH_DOTS} and {CONCAT_MLP} rows present (course's data, paired "
            "gain vs DLRM)")
    said = "; ".join(benchfigures.fair_sentence(r, "default", n) for n in (DCN_2, DCN_WITH_DOTS, CONCAT_MLP))
    seeds = len(((r.get("fair") or {}).get("protocol") or {}).get("seeds", [1, 2, 3]))
    present = all((a := benchfigures.fair_auc(r, "default", n)) is not None and a.n == seeds
                  for n in (DLRM, DCN_WITH_DOTS, CONCAT_MLP))
    return Goal(goal, said, MET if present else f"{NOT_RUN} yet",
                "not every seed of these rows is measured yet (see the fair table).")


def _smooth_goal(r: dict) -> Goal:
    goal = "fair, smooth term on: the best cross-layer model beats DLRM by ≥ 0.005 AUC"
    best = benchfigures.best_cross_layer(r, "smooth")
    if best is None or benchfigures.fair_family(r, "smooth", DLRM) is None:
        return Goal(goal, "the smooth world's DLRM and cross-layer rows are not measured yet", f"{NOT_RUN} yet")
    name, g = best
    said = "; ".join([benchfigures.fair_sentence(r, "smooth", name),
                      *(benchfigures.fair_sentence(r, "smooth", n) for n in (TRIPLE_EMBEDDED, TRIPLE_CROSS))])
    why = (f"the best cross-layer model, {name}, gains {g.mean:+.4f} over DLRM with the smooth term on: DLRM's "
           "dot products and top MLP already capture most of it, or the cross layers do not learn it within the "
           "budget" if g.mean < 0.005 else "")
    if g.n < 2:
        return Goal(goal, said, f"{NOT_RUN} yet (one seed so far)")
    return Goal(goal, said, _verdict(g.mean >= 0.005), why)


# Lab 05's contenders beside the fair comparison's families of the same architecture.
LAB05_TWINS = {experiment.DCN: DCN_2, experiment.TRIPLE: TRIPLE_CROSS}


class Direction(NamedTuple):
    """One lab 05 contender against DLRM in one world: the quick run's side and gain, and the bench's side (+1 ahead,
    -1 behind, 0 within the noise; the bench's from `benchfigures.fair_side`) at the batch `batch` it is read at."""

    world: str
    name: str
    mine: int
    bench: int | None
    gain: float
    batch: int | None = None


def _margins(r: dict, world: str, twin: str) -> dict:
    """{batch: the bench's paired gain of `twin` over DLRM in `world`} at each batch that measured it."""
    both = benchfigures.batches(r) or ((((r.get("fair") or {}).get("protocol") or {}).get("batch_size"), r),)
    return {b: g for b, x in both if (g := benchfigures.fair_gain(x, world, twin, DLRM)) is not None}


def _same_architecture(r: dict, world: str, name: str) -> bool:
    """Whether lab 05's contender and its bench twin are the same model in `world`: lab 05 crosses the triple the
    generator planted, the bench the data's strongest triple, which in the smooth world is another one."""
    if name != experiment.TRIPLE:
        return True
    w = benchfigures.fair_world(r, world) or {}
    return set((w.get("crosses") or {}).get("triple") or ()) == set((w.get("planted") or {}).get("cross_triple") or ())


def _lab05_directions(r: dict) -> list[Direction]:
    """Every (world, contender) that both lab 05's quick run and the bench measured, as the same model."""
    lab = r.get("lab05") or {}
    out = []
    for world in ("default", "smooth"):
        mine = (lab.get(world) or {}).get("runs") or {}
        if experiment.DLRM not in mine:
            continue
        for name, twin in LAB05_TWINS.items():
            if name in mine and _same_architecture(r, world, name):
                gain = mine[name]["auc"] - mine[experiment.DLRM]["auc"]
                bench, batch = benchfigures.gain_at_batch(r, world, twin, (lab.get("quick") or {}).get("batch_size"), DLRM)
                out.append(Direction(world, name, experiment._side(gain, lab[world]["noise"]),
                                     benchfigures.fair_side(bench), gain, batch))
    return out


def _lab05_goal(r: dict) -> Goal:
    goal = "lab 05 reproduces the direction of the bench's fair verdicts at its quick size (vs DLRM)"
    rows = [d for d in _lab05_directions(r) if d.bench is not None]
    if not rows:
        return Goal(goal, "lab 05's quick run or the fair rows it is set beside are not measured yet "
                          "(`python bench/run.py --lab05-only`)", f"{NOT_RUN} yet")
    words = benchfigures.SIDE_WORDS
    lab = r["lab05"]
    said = "; ".join(f"world `{d.world}`: {d.name} {d.gain:+.4f} ({words[d.mine]}, noise ±{lab[d.world]['noise']:.4f}; "
                     f"bench {words[d.bench]} at batch {d.batch})" for d in rows)
    said += (f" — one seed, {lab[rows[0].world]['train_rows']:,} train rows (quick size "
             f"`{lab['quick']['label']}`, batch {lab['quick']['batch_size']}, rate {lab['quick']['learning_rate']:g})")
    wrong = [_lab05_why(r, d, lab[d.world]["noise"]) for d in rows if d.mine != d.bench]
    return Goal(goal, said, _verdict(not wrong), "; ".join(wrong))


def _lab05_why(r: dict, d: Direction, noise: float) -> str:
    """Why one quick run does not show the bench's direction, from the figures: the bench's margin at the batch it
    is read at (`benchfigures.gain_at_batch`), and at the other batch when both were measured, against the run's
    noise."""
    margins = _margins(r, d.world, LAB05_TWINS[d.name])
    g = margins[d.batch]
    also = "".join(f" (at batch {b}: {x.mean:+.4f} ± {x.sd:.4f})" for b, x in margins.items() if b != d.batch)
    run = (f"{d.name} in `{d.world}`: the quick run's {d.gain:+.4f} (±{noise:.4f}, one seed, batch "
           f"{r['lab05']['quick']['batch_size']})")
    bench = f"the bench's margin at batch {d.batch}, {g.mean:+.4f} ± {g.sd:.4f} over {g.n} seeds{also},"
    if d.bench == 0:
        return (f"{run} is beyond its noise, but {bench} is within the noise of its seeds: the bench has no direction "
                "there for one run to reproduce")
    ratio = abs(g.mean) / noise
    return (f"{run} is {'within its noise' if d.mine == 0 else 'the other way'}; {bench} is {ratio:.1f}× that noise"
            + (", too small for one quick run to resolve" if ratio < 2 else
               ", so the quick run's fewer rows, not only its noise, differ from the bench"))


def fair_goals(r: dict) -> list[Goal]:
    """Issue 18's goals (the fair comparison), each computed from results.json's "fair" and "lab05" keys."""
    return [_converged_goal(r), _confound_goal(r), _smooth_goal(r), _lab05_goal(r)]


def goals(r: dict) -> list[Goal]:
    """Issue 10's goals, then the earlier ones, then issue 18's, each computed from results.json."""
    return [*_cross_goals(r), *_model_goals(r), _controlled_goal(r), *_earlier_goals(r), *fair_goals(r)]


def _header(r: dict) -> list[str]:
    m, s = r["machine"], r["settings"]
    return ["# Measured results", "",
            f"Generated by `make bench` on {m['date']}: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, device "
            f"{m['device']}; Python {m['python']}, TensorFlow {m['tensorflow']}, merlin-models {m['merlin_models']}, "
            f"NVTabular {m['nvtabular']}. Models: {len(s['seeds'])} seeds at `small`, {s['epochs']} epochs, batch "
            f"{s['batch_size']}; a gain is the paired difference to plain DLRM with the same seed. {_others(r)}", ""]


def _others(r: dict) -> str:
    """What other work on the machine took during each step (measured by bench/run.py), and what that affects."""
    shares = r.get("others_cpu_share")
    if not shares:
        return "Whether other work shared the cores was not measured: throughputs may be noisy (AUCs are not affected)."
    said = ", ".join(f"{step} {share:.0%}" for step, share in shares.items())
    worst = max(shares.values())
    verdict = ("the machine was otherwise nearly idle" if worst < 0.1 else
               "throughputs of the steps with a large share are lower than on an idle machine")
    return (f"Share of the machine's CPU used by other work during each step (the bench's own processes excluded): "
            f"{said} — {verdict}; AUCs are not affected.")


def _goals_table(gs: list[Goal]) -> list[str]:
    return ["## Goals", "", "| goal | measured (mean ± sd, min … max over seeds) | |", "|---|---|---|",
            *[f"| {g.goal} | {g.measured} | {g.status} |" for g in gs]]


def _quality(r: dict) -> list[str]:
    runs, oracle, d = r["models"]["runs"], benchfigures.oracle_auc(r), r["data"]["prepare_local"]["oracle"]["valid"]
    lines = ["", "## Quality at `small` scale", "",
             f"Train {r['models']['train_rows']:,} rows, valid {r['models']['valid_rows']:,} rows. Oracle (the "
             f"generator's true probabilities) on valid: AUC **{oracle:.4f}**, log-loss {d['logloss']:.4f}. "
             f"{benchfigures.crosses_sentence(r)}", "",
             "| model | params | valid AUC mean ± sd | min – max | gain vs DLRM ± sd | gap to oracle | log-loss |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, v in runs.items():
        a = [x["auc"] for x in v]
        g = _paired(runs, name)
        sd = (st.stdev(a), st.stdev(g)) if len(a) > 1 else (0.0, 0.0)
        lines.append(f"| {name} | {v[0]['params']:,} | {st.mean(a):.4f} ± {sd[0]:.4f} | {min(a):.4f} – {max(a):.4f} "
                     f"| {st.mean(g):+.4f} ± {sd[1]:.4f} | {oracle - st.mean(a):.4f} | "
                     f"{st.mean(x['logloss'] for x in v):.4f} |")
    return lines + ["", "![validation AUC](auc.png)", "",
                    "Validation AUC per epoch (first seed): ![curves](curves.png)",
                    "", "What the depth-1 CrossBlock learned (first seed): norms of the 64 × 64 blocks of its kernel, "
                    "one per pair of input vectors. ![cross kernel](cross_kernel.png)"]


def _fair_row(r: dict, world: str, name: str, p: dict) -> str:
    fam = ((r["fair"]["worlds"].get(world) or {}).get("families") or {}).get(name)
    if not fam:
        return f"| {name} | not measured yet | | | | | |"
    runs = fam["runs"]
    a = benchfigures.Spread.of([x["auc"] for x in runs])
    g = benchfigures.fair_gain(r, world, name)
    gain = "" if name == DLRM or g is None else f"{g.mean:+.4f} ± {g.sd:.4f} ({benchfigures.fair_verdict(g, 'DLRM')})"
    sweep = ", ".join(f"{k}: {v:.4f}" for k, v in fam["lr_sweep"].items())
    chosen = f"{fam['chosen_lr']:g} ({'sweep ' + sweep if fam.get('rate_from') == 'sweep' else fam['rate_from']})"
    chosen += " — the ladder's end, a larger rate not tried" if fam.get("rate_at_edge") else ""
    chosen += " — the ladder's smallest rate, a smaller one not tried" if fam.get("rate_at_low_edge") else ""
    epochs = ", ".join(f"{x['stopped_epoch']}/{x['epochs_run']}" for x in runs)
    missing = len(p["seeds"]) - len(runs)
    seeds = f"{len(runs)}" + (f" ({missing} not measured yet)" if missing else "")
    return (f"| {name} | {runs[0]['params']:,} | {chosen} | {a.mean:.4f} ± {a.sd:.4f} ({min(x['auc'] for x in runs):.4f}"
            f" – {max(x['auc'] for x in runs):.4f}) | {gain} | {epochs} | {seeds}, "
            f"{st.mean(x['rows_per_s'] for x in runs):,.0f} rows/s |")


def _fair(r: dict) -> list[str]:
    """The fair comparison's tables, one per world; a family not measured yet says so."""
    if not r.get("fair"):
        return ["", "## The fair comparison (issue 18)", "", "Not run yet: `python bench/run.py --fair-only`."]
    p = r["fair"]["protocol"]
    lines = ["", "## The fair comparison (issue 18)", "",
             f"Measured by `python bench/run.py --fair-only` (cache merged {r['fair'].get('merged', '?')}) on 2-core "
             "machines, not always the one in the header (the runs are cached and resumed, family by family), shared "
             "with other work: speeds are noisy and differ between machines; AUCs are not affected.",
             "", benchfigures.fair_protocol(r), "",
             "Epochs: the epoch kept (the best on the stop slice) / the epochs run, per seed. The valid AUC is the "
             "kept epoch's; a gain is paired with DLRM on the same seeds (within the noise: the mean gain's 95% "
             "interval over the seeds, Student's t, holds 0)."]
    for world, what in benchfigures.FAIR_WORLDS.items():
        w = r["fair"]["worlds"].get(world)
        if not w:
            lines += ["", f"### World `{world}` ({what})", "", "Not measured yet."]
            continue
        smooth = w["planted"].get("smooth", 0.0)
        c = w.get("crosses") or {}
        lines += ["", f"### World `{world}` ({what})", "",
                  f"Planted smooth term {smooth:g}; oracle valid AUC {w['oracle_auc']:.4f}; {w['fit_rows']:,} rows "
                  f"trained on, {w['stop_rows']:,} in the stop slice, {w['valid_rows']:,} valid. The data's cross: "
                  f"{' × '.join(c.get('triple', []))}, {c.get('enough_bins', 0):,} bins.", "",
                  "| family | params | rate (stop-slice AUC per rate) | valid AUC mean ± sd (min – max) | gain vs DLRM "
                  "± sd | epochs kept/run | seeds, speed |", "|---|---:|---|---:|---:|---|---|",
                  *[_fair_row(r, world, n, p) for n in FAIR_MODELS]]
    return lines


def _markdown(frame) -> list[str]:
    """A DataFrame as a markdown table (its index levels first)."""
    flat = frame.reset_index()
    return ["| " + " | ".join(flat.columns) + " |", "|" + "---|" * len(flat.columns),
            *("| " + " | ".join(str(v) for v in row) + " |" for row in flat.itertuples(index=False))]


def _batch(r: dict) -> list[str]:
    """The batch check beside the fair comparison: what a 4× smaller batch changes, family by family."""
    table = benchfigures.batch_table(r)
    if table is None:
        return []
    p = r[benchfigures.BATCH_KEY]["protocol"]
    return ["", f"### The batch check: the same protocol at batch {p['batch_size']}", "",
            f"Measured by `python bench/run.py --batch-check-only` (cache merged {r[benchfigures.BATCH_KEY]['merged']}): "
            f"the fair protocol again with batch {p['batch_size']} instead of {r['fair']['protocol']['batch_size']}, "
            f"{_protocol_difference(r)}, {len(p['seeds'])} seeds, for the families "
            "lab 05 and notebook 04 compare.", "",
            *benchfigures.batch_findings(r), "", *_markdown(table)]


def _protocol_difference(r: dict) -> str:
    """What differs between the fair comparison's protocol and the batch check's, in words."""
    a, c = r["fair"]["protocol"], r[benchfigures.BATCH_KEY]["protocol"]
    other = sorted(k for k in {*a, *c} if k not in ("batch_size", "low_rates") and a.get(k) != c.get(k))
    said = [f"{k} {a.get(k)} vs {c.get(k)}" for k in other]
    if c.get("low_rates") and c.get("low_rates") != a.get("low_rates"):
        said.insert(0, "its sweep may also go down to " + ", ".join(f"{x:g}" for x in sorted(c["low_rates"],
                                                                                            reverse=True)))
    return "nothing else differs" if not said else "; ".join(said)


def _interactions(r: dict) -> list[str]:
    found = r.get("interactions")
    if not found:
        return []
    lines = ["", "## What the data says (train rows, `analysis.interaction_strengths`, held out, × 1000)", "",
             "| order | features | interaction |", "|---|---|---:|"]
    for order, key in ((2, "pairs"), (3, "triples")):
        lines += [f"| {order} | {' × '.join(x['features'])} | {x['interaction']:.2f} |" for x in found[key]]
    return lines


def _controlled(r: dict) -> list[str]:
    cases = r.get("controlled_dcn_runs") or []
    if not cases:
        return []
    names = list(cases[0]["models"])
    lines = ["", f"## The controlled DCN case ({cases[0]['formula']})", "",
             "| model | params | test RMSE per seed |", "|---|---:|---|"]
    for n in names:
        lines.append(f"| {n} | {cases[0]['models'][n]['params']:,} | "
                     + ", ".join(f"{c['models'][n]['rmse']:.4f}" for c in cases) + " |")
    return lines + ["", f"The 3-way term alone has a standard deviation of {cases[0]['triple_rmse']:.4f}."]


def _throughput(r: dict) -> list[str]:
    runs = r["models"]["runs"]
    base = BUILTIN_DLRM if BUILTIN_DLRM in runs else DLRM
    return ["", f"## Training throughput (batch {r['settings']['batch_size']}, last epoch, validation excluded)", "",
            f"| model | rows/s | ratio to {base} |", "|---|---:|---:|",
            *[f"| {n} | {_speed(runs, n):,.0f} | {_speed(runs, n) / _speed(runs, base):.2f}× |" for n in runs]]


def _pipeline(r: dict) -> list[str]:
    d = r["data"]
    g, gc, pl, p2, e = (d["generate_all_views"], d["generate_course"], d["prepare_local"], d["prepare_2_workers"],
                        d["etl"])
    funnel = (f" Funnel: view → cart {g['view_to_cart']:.2%}, cart → purchase {g['cart_to_purchase']:.1%}."
              if "view_to_cart" in g else "")
    return ["", "## Data pipeline at `small` scale", "", "| step | time | throughput | peak memory |",
            "|---|---:|---:|---:|",
            f"| generate, all views written | {g['seconds']:.1f} s | {g['events_per_s'] / 1e6:.2f}M events/s "
            f"({g['events']:,} events) | |",
            f"| generate, course default (views thinned to {gc['view_fraction']:.0%}) | {gc['seconds']:.1f} s | "
            f"{gc['events_per_s'] / 1e6:.2f}M written events/s ({gc['events']:,} events) | |",
            f"| prepare, local cluster (1 worker, threads) | {pl['seconds']:.1f} s | {pl['events_per_s'] / 1e3:,.0f}k "
            f"raw events/s | {pl['peak_rss_gb']:.2f} GB |",
            f"| prepare, LocalCluster of 2 worker processes | {p2['seconds']:.1f} s | {p2['events_per_s'] / 1e3:,.0f}k"
            f" raw events/s | {p2['peak_rss_gb']:.2f} GB |",
            f"| NVTabular fit + transform | {e['seconds']:.1f} s | {e['rows_per_s'] / 1e3:,.0f}k rows/s | "
            f"{e['peak_rss_gb']:.2f} GB |", "",
            f"The 2-worker run wrote {'byte-identical' if p2['identical_output'] else '**different**'} output. "
            f"Labelled: {gc['labelled_pairs']:,} cart pairs → {pl['train_rows']:,} train and {pl['valid_rows']:,} "
            f"valid rows.{funnel}"]


def _real_month(folder: Path) -> list[str]:
    """One month at the real Kaggle size, prepared on this machine (bench/real_month.py -> real_month.json)."""
    path = folder / "real_month.json"
    if not path.exists():
        return ["", "## A real-size month", "", "Not measured: run `bench/real_month.py`."]
    import json
    import sys

    sys.path.insert(0, str(folder))
    from real_month import readme_paragraph

    m = json.loads(path.read_text())
    return ["", f"## A real-size month (`bench/real_month.py`, {m['date']})", "", readme_paragraph(m)]


def _wall_times(r: dict) -> list[str]:
    course = r.get("course")
    lines = ["", "## Wall time of the notebooks at `small` scale", ""]
    if not course:
        return lines + ["Not measured in this run (`--skip-notebooks`)."]
    if r.get("course_measured"):
        lines += [f"Measured on {r['course_measured']} (this run did not re-time them):", ""]
    lines += ["| notebook | minutes |", "|---|---:|"]
    lines += [f"| {name} | {'failed' if s is None else f'{s / 60:.1f}'} |" for name, s in course.items()]
    if "make_test_seconds" in r:
        lines += ["", f"`make test` (installed environment) takes **{r['make_test_seconds'] / 60:.1f} min**."]
    return lines


def write_report(r: dict, folder: Path) -> None:
    """RESULTS.md (goals first, then every table) and the pictures, all from the results of one bench run."""
    gs = goals(r)
    missed = [f"- {g.goal}: {g.why}" for g in gs if g.status == MISSED]
    lines = [*_header(r), *_goals_table(gs), *_fair(r), *_batch(r), *_quality(r), *_interactions(r), *_controlled(r),
             *_throughput(r), *_pipeline(r), *_real_month(folder), *prepare_speed_lines(folder), *_wall_times(r), "",
             "## Goals missed, and why", "", *(missed or ["None."])]
    (folder / "RESULTS.md").write_text("\n".join(lines) + "\n")
    _plots(r, folder)
    readme.update_readme(results=r)  # the README's bench block, rendered from the same results


def _plots(r: dict, folder: Path) -> None:
    """auc.png (mean ± sd per model against the oracle) and curves.png (first seed's validation AUC per epoch)."""
    from recsys_course.course import plots

    runs, oracle = r["models"]["runs"], benchfigures.oracle_auc(r)
    names = list(runs)
    means = [st.mean(x["auc"] for x in runs[n]) for n in names]
    sds = [st.stdev(x["auc"] for x in runs[n]) if len(runs[n]) > 1 else 0 for n in names]
    fig, ax = plots._plt().subplots(figsize=(7.5, 4.2))
    ax.barh(names[::-1], means[::-1], xerr=sds[::-1], color="#76b900")
    ax.axvline(oracle, color="#333333", linestyle="--", label=f"oracle {oracle:.3f}")
    ax.set_xlim(min(means) - 0.03, oracle + 0.01)
    ax.set_xlabel("validation AUC (mean ± sd over seeds)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "auc.png", dpi=110)
    first = [SimpleNamespace(name=n, history={"val_auc": runs[n][0]["val_auc"]}) for n in names]
    plots.curves(first).savefig(folder / "curves.png", dpi=110)




# ---- the preparation's speed (issue 20): prepare_peer.json, prepare_profile.json, real_month.json, seven_months.json

def _load(folder: Path, name: str) -> dict | None:
    import json

    path = folder / name
    return json.loads(path.read_text()) if path.exists() else None


def _peer_goal(peer: dict | None, case: str, label: str) -> tuple[str, str, str]:
    c = (peer or {}).get(case)
    goal = f"`prepare` ≤ 1.5× the Polars peer's wall time, {label}, same rows"
    if not c:
        return goal, "not measured (`bench/peer_polars.py compare`)", "**missed** (not measured)"
    same = all(v["same"] for v in c["same_rows"].values())
    ok = c["ratio"] <= 1.5 and same
    cpu = (statistics_median([t["cpu_seconds"] for t in c["course"]]),
           statistics_median([t["cpu_seconds"] for t in c["peer"]]))
    measured = (f"{c['ratio']:.2f}× ({c['course_median_s']:.1f} s vs {c['peer_median_s']:.1f} s, median of "
                f"{c['rounds']} alternating runs; CPU {cpu[0]:.1f} s vs {cpu[1]:.1f} s; other work used "
                f"{c['others_cpu_share']:.0%} of the machine); rows {'the same' if same else 'DIFFER'}")
    load = (f"; other work took {c['others_cpu_share']:.0%} of the machine during the run, so re-run "
            f"`bench/speed.py` on an idle machine" if c["others_cpu_share"] > 0.2 else "")
    why = (f"**missed** — `prepare` used {cpu[0] / cpu[1]:.1f}× the peer's CPU time (it also checks every row of the "
           f"raw text and starts a Dask cluster){load}" if same else "**missed** — the rows differ")
    return goal, measured, "met" if ok else why


def _peer_month(peer: dict | None) -> dict | None:
    """The real-size month's figures from the side-by-side run (`bench/speed.py`): the course's median run."""
    c = (peer or {}).get("real_month")
    if not c:
        return None
    runs = sorted(c["course"], key=lambda t: t["seconds"])
    run = runs[len(runs) // 2]
    return {"events": c["events"], "seconds": run["seconds"], "events_per_s": c["events"] / run["seconds"],
            "max_rss_gb": max(t["max_rss_gb"] for t in c["course"]), "cpu_seconds": run["cpu_seconds"],
            "cpu_percent": round(100 * run["cpu_seconds"] / run["seconds"]), "others": c["others_cpu_share"]}


def _seven_why(seven: dict) -> str:
    """Why the seven-month goal is missed, from the figures: the growth of the peak with the number of months, and
    the months' size against the real one."""
    why, peak = [], seven.get("peak_rss_tree_gb", seven["max_rss_gb"])
    if peak > 4.0:
        by = seven.get("by_months", {})
        growth = ", ".join(f"{n} → {by[n]['peak_rss_tree_gb']:.2f} GB" for n in sorted(by, key=int))
        why.append(f"peak {peak:.2f} GB; by number of months: {growth} (the events are held a month "
                   f"at a time, but the last labelled cart per (user, product) and the output grow with the months)"
                   if growth else f"peak {peak:.2f} GB")
    per_month = seven["events"] / seven["months"]
    if per_month < 42_000_000:
        why.append(f"months of {per_month / 1e6:.0f}M events, below the real October's 42.4M (the largest that "
                   f"fits 35 GB of disk for seven)")
    return "; ".join(why) or "see the figures"


def statistics_median(values: list[float]) -> float:
    return st.median(values) if values else float("nan")


def _month_why(month: dict) -> str:
    if month["max_rss_gb"] > 4.0:
        return f"**missed** — peak {month['max_rss_gb']:.2f} GB"
    per_cpu_s = month["events"] / month["cpu_seconds"] if month.get("cpu_seconds") else float("nan")
    two = ("two free cores kept busy would clear 1M/s" if 2 * per_cpu_s >= 1e6 else
           "even two free cores kept busy would not reach 1M/s")
    return (f"**missed** — the run got {month['cpu_percent']}% of one core on the shared machine; it did "
            f"{per_cpu_s / 1e6:.2f}M events per CPU-second: {two}")


def _make_test_figure(m: dict) -> str:
    """bench/clean_clone.py's run: the wall time with the install, pytest's share, the tests, the slowest one."""
    counts = ", ".join(f"{n} {k}" for k, n in m["counts"].items())
    top = m["slowest"][0] if m.get("slowest") else None
    slowest = f"; slowest: {top['test']} ({top['phase']}) {top['seconds']:.0f} s" if top else ""
    return (f"{m['seconds'] / 60:.1f} min (pytest {m['pytest_seconds'] / 60:.1f} min: {counts}; at "
            f"{m['commit'][:7]}, other work took {m['others_cpu_share']:.0%} of the machine{slowest}; "
            "`bench/clean_clone.py`)")


def prepare_speed_goals(folder: Path) -> list[tuple[str, str, str]]:
    """(goal, measured, met/missed) of issue 20, each from the json its script wrote."""
    peer, month = _load(folder, "prepare_peer.json"), _load(folder, "real_month.json")
    seven, make_test = _load(folder, "seven_months.json"), _load(folder, "make_test.json")
    rows = [_peer_goal(peer, "small", "at `small`"), _peer_goal(peer, "real_month", "on a real-size month")]
    month = _peer_month(peer) or month  # the side-by-side run's, when there is one
    if month:
        ok = month["events_per_s"] >= 1_000_000 and month["max_rss_gb"] <= 4.0
        others = f"; other work took {month['others']:.0%} of the machine" if "others" in month else ""
        rows.append(("a real-size month at ≥ 1M raw events/s on 2 cores, peak ≤ 4 GB",
                     f"{month['events'] / 1e6:.1f}M events in {month['seconds']:.0f} s: "
                     f"{month['events_per_s'] / 1e6:.2f}M events/s ({month['cpu_percent']}% of one core{others}), "
                     f"peak {month['max_rss_gb']:.2f} GB", "met" if ok else _month_why(month)))
    if seven:
        peak = seven.get("peak_rss_tree_gb", seven["max_rss_gb"])
        ok = peak <= 4.0 and seven["months"] == 7 and seven["events"] / 7 >= 42_000_000
        rows.append(("seven real-size months, peak ≤ 4 GB, measured",
                     f"{seven['months']} generated months, {seven['events'] / 1e6:.0f}M events "
                     f"({seven['csv_gb']:.1f} GB of CSV) in {seven['seconds'] / 60:.1f} min "
                     f"({seven['events_per_s'] / 1e6:.2f}M events/s; other work took "
                     f"{seven.get('others_cpu_share', float('nan')):.0%} of the machine), peak "
                     f"{seven.get('peak_rss_tree_gb', seven['max_rss_gb']):.2f} GB (process tree)",
                     "met" if ok else f"**missed** — {_seven_why(seven)}"))
    else:
        rows.append(("seven real-size months, peak ≤ 4 GB, measured", "not measured", "**missed** (not measured)"))
    if make_test:
        rows.append(("clean-clone `make test` ≤ 10 min (2 cores, install included)", _make_test_figure(make_test),
                     "met" if make_test["seconds"] <= 600 else "**missed**"))
    else:
        rows.append(("clean-clone `make test` ≤ 10 min (2 cores, install included)", "not measured here",
                     "**missed** (not measured)"))
    return rows


def prepare_speed_lines(folder: Path) -> list[str]:
    """RESULTS.md's section on the preparation's speed: the goals, the peer runs, the profile before and after."""
    lines = ["", "## Preparation speed (`bench/peer_polars.py`, `bench/profile_prepare.py`, issue 20)", "",
             "| goal | measured | status |", "|---|---|---|"]
    lines += [f"| {g} | {m} | {s} |" for g, m, s in prepare_speed_goals(folder)]
    if not _load(folder, "seven_months.json"):
        lines += ["", "Seven real-size months are not measured yet: `bench/real_month.py generate --out DIR --month "
                      "YYYY-MM` writes each month (6.2 GB), `bench/real_month.py measure-months --raw DIR` prepares "
                      "them all under GNU time and writes `bench/seven_months.json`, which this table then quotes."]
    profile = _load(folder, "prepare_profile.json") or {}
    if profile.get("before") and profile.get("after"):
        b, a = profile["before"], profile["after"]
        lines += ["", f"CPU seconds per stage at `small` (one process, Dask's synchronous scheduler; before: "
                      f"revision {b['rev']}, after: {a['rev']}; both through the all-months path "
                      f"`_label_split_filter`, which `prepare` now takes only as its fallback: its month-by-month path "
                      f"overlaps reading and labelling, so its stages cannot be timed apart this way):", "",
                  "| stage | before | after |", "|---|---:|---:|"]
        lines += [f"| {k} | {b['cpu_seconds'].get(k, float('nan')):.2f} | {a['cpu_seconds'].get(k, float('nan')):.2f} |"
                  for k in a["cpu_seconds"]]
        lines += [f"| total | {b['total_cpu_seconds']:.2f} | {a['total_cpu_seconds']:.2f} |"]
    return lines


def prepare_speed_paragraph(folder: Path) -> str:
    """The README's sentences on `prepare` beside the Polars peer (a test holds the README equal to them)."""
    peer = _load(folder, "prepare_peer.json") or {}
    parts = []
    for case, label in (("small", "at `small`"), ("real_month", "on the real-size month")):
        c = peer.get(case)
        if c:
            share = c.get("others_cpu_share")
            others = "" if share is None else f", other work {share:.0%} of the machine"
            parts.append(f"{label} {c['course_median_s']:.1f} s against {c['peer_median_s']:.1f} s "
                         f"({c['ratio']:.2f}×, {c['events'] / 1e6:.1f}M raw events{others})")
    if not parts:
        return ""
    return ("**Beside the tool a CPU user would pick.** A plain single-process Polars script of the same labelling "
            "(`bench/peer_polars.py`, same rows) and `prepare` (which also checks every row and runs on Dask), timed "
            "alternately as whole processes in one run on this 2-core machine: " + "; ".join(parts) + ".")


if __name__ == "__main__":  # at the end: every function above is defined by then
    import json

    here = Path(__file__).resolve().parent
    write_report(json.loads((here / "results.json").read_text()), here)
