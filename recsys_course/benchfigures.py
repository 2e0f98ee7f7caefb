"""Figures the notebooks quote, never typed by hand: read from bench/results.json, quoted from published sources,
and sentences built from numbers ("X beats Y by …").

`make bench` writes bench/results.json (3 seeds at `small`); the notebooks render their bench tables and sentences
from it at run time, so a new bench run changes the notebooks' words with it.
"""
from __future__ import annotations

import json
import statistics as st
from dataclasses import dataclass
from pathlib import Path

from recsys_course.config import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results.json"


@dataclass(frozen=True)
class Spread:
    """A mean over seeds, its standard deviation and the number of seeds."""

    mean: float
    sd: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.sd:.4f}"

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        return cls(st.mean(values), st.stdev(values) if len(values) > 1 else 0.0, len(values))


@dataclass(frozen=True)
class Published:
    """AUCs someone else published, quoted with their source, and the comparisons (a, b) worth reading in them."""

    source: str
    setting: str
    auc: dict
    pairs: tuple = ()


PUBLISHED = (
    Published("NVIDIA Merlin's 2022 workshop notebooks, saved outputs (notebook 03; DLRMModel and DCNModel from "
              "notebook 02)", "real REES46, one seed, 2 epochs",
              {"DLRM": 0.6311, "DLRM + HashedCross cat_0×cat_1": 0.6350, "DCN CrossBlock": 0.6394,
               "mm.DLRMModel": 0.6286, "mm.DCNModel": 0.6379},
              (("DLRM + HashedCross cat_0×cat_1", "DLRM"), ("DCN CrossBlock", "DLRM"), ("mm.DCNModel", "mm.DLRMModel"))),
    Published("reczoo BARS CTR leaderboard (github.com/reczoo/BARS), tuned models", "Criteo_x1",
              {"DLRM": 0.8138, "DCN-V2": 0.8142}, (("DCN-V2", "DLRM"),)),
    Published("reczoo BARS CTR leaderboard (github.com/reczoo/BARS), tuned models", "MovieLensLatest_x1",
              {"DLRM": 0.9691, "DCN-V2": 0.9691}, (("DCN-V2", "DLRM"),)),
)


def load(path: str | Path = RESULTS) -> dict | None:
    """bench/results.json, or None when the bench has not been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def runs(results: dict) -> dict[str, list[dict]]:
    """Model name -> one record per seed (auc, logloss, params, …)."""
    return results["models"]["runs"]


def auc(results: dict, name: str) -> Spread:
    """A model's validation AUC over the bench's seeds."""
    return Spread.of([r["auc"] for r in runs(results)[name]])


def paired_differences(model_runs: dict[str, list[dict]], name: str, base: str) -> list[float]:
    """AUC of `name` minus AUC of `base`, seed by seed (`model_runs` as `runs(results)` gives it)."""
    return [a["auc"] - b["auc"] for a, b in zip(model_runs[name], model_runs[base])]


def gain(results: dict, name: str, base: str) -> Spread:
    """Paired gain of `name` over `base`: AUC difference with the same seed, over the seeds."""
    return Spread.of(paired_differences(runs(results), name, base))


def oracle_auc(results: dict) -> float | None:
    """The oracle's validation AUC at the bench's scale (None when the bench ran on data without ground truth)."""
    oracle = results.get("data", {}).get("prepare_local", {}).get("oracle")
    return float(oracle["valid"]["auc"]) if oracle else None


def setting(results: dict) -> str:
    """How the bench measured, in words: seeds, scale, epochs, batch size, date."""
    s = results["settings"]
    return (f"{len(s['seeds'])} seeds at `{s.get('scale', 'small')}` scale, {s['epochs']} epochs, batch "
            f"{s['batch_size']}, measured {results['machine']['date']} on {results['machine']['cores']} CPU cores")


def table(results: dict, base: str):
    """One row per bench model: parameters, valid AUC mean ± sd, paired gain over `base` ± sd, gap to the oracle."""
    import pandas as pd

    oracle = oracle_auc(results)
    rows = []
    for name, recs in runs(results).items():
        a = auc(results, name)
        g = gain(results, name, base)
        row = {"model": name, "params": recs[0]["params"], "valid AUC": str(a),
               f"gain vs {base}": "" if name == base else f"{g.mean:+.4f} ± {g.sd:.4f}"}
        if oracle is not None:
            row["gap to the bench's oracle"] = round(oracle - a.mean, 4)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def controlled_case(results: dict) -> dict | None:
    """The controlled DCN case (recsys_course.polynomial) as the bench recorded it, if it did."""
    for key in ("controlled_dcn", "controlled_dcn_case", "polynomial"):
        if key in results:
            return results[key]
    return results.get("models", {}).get("controlled_dcn")


def published_table():
    """The published figures, one row per (source, setting, model)."""
    import pandas as pd

    return pd.DataFrame([{"source": p.source, "setting": p.setting, "model": m, "AUC": a}
                         for p in PUBLISHED for m, a in p.auc.items()]).set_index(["setting", "model"])


def versus(a_name: str, a: float, b_name: str, b: float, noise: float = 0.0, what: str = "AUC") -> str:
    """A sentence comparing two figures: who is ahead and by how much, or that the difference is within `noise`."""
    d = a - b
    if d == 0:
        return f"{a_name} and {b_name} tie ({what} {a:.4f})"
    if abs(d) <= noise:
        return f"{a_name} and {b_name} are within the noise ({what} {a:.4f} vs {b:.4f}; noise ±{noise:.4f})"
    ahead, behind = (a_name, b_name) if d > 0 else (b_name, a_name)
    return f"{ahead} beats {behind} by {abs(d):.4f} {what} ({max(a, b):.4f} vs {min(a, b):.4f})"


def gain_sentence(results: dict, name: str, base: str) -> str:
    """The bench's paired gain of `name` over `base` in words: ahead, behind, or within the noise (the mean gain
    within two standard errors of 0)."""
    g = gain(results, name, base)
    noise = 2 * g.sd / g.n ** 0.5
    if abs(g.mean) <= noise or g.n < 2:
        verdict = f"within the noise of {base}" if g.n > 1 else f"one seed only, against {base}"
    else:
        verdict = f"{'ahead of' if g.mean > 0 else 'behind'} {base}"
    return f"{name}: {g.mean:+.4f} ± {g.sd:.4f} AUC over {g.n} seeds (paired) — {verdict}"


def gain_sentences(results: dict, names, base: str) -> list[str]:
    """`gain_sentence` for each of `names` the bench measured (names it did not measure are said so)."""
    measured = runs(results)
    return [gain_sentence(results, n, base) if n in measured and base in measured
            else f"{n}: not in bench/results.json (re-run `make bench`)" for n in names]


def published_sentences() -> list[str]:
    """One line per published comparison, built from the quoted figures."""
    lines = []
    for p in PUBLISHED:
        for a, b in p.pairs:
            lines.append(f"{p.setting} — {versus(a, p.auc[a], b, p.auc[b])}. Source: {p.source}.")
    return lines


def controlled_sentences(results: dict) -> list[str]:
    """The bench's controlled DCN case over its seeds: the error ratio and the parameter ratio, in words."""
    cases = results.get("controlled_dcn_runs") or ([controlled_case(results)] if controlled_case(results) else [])
    cases = [c for c in cases if c and c.get("mlp")]
    if not cases:
        return ["The bench did not record the controlled DCN case (re-run `make bench`)."]
    from recsys_course.polynomial import error_words

    ratios = [c["error_ratio"] for c in cases]
    better = sum(bool(c["clearly_better"]) for c in cases)
    first = cases[0]
    return [f"Controlled case, {len(cases)} seed(s): {first['cross']} has an error {error_words(min(ratios))} to "
            f"{error_words(max(ratios))} than {first['mlp']}, which has {first['param_ratio']:.0f}× its parameters; "
            f"clearly better (error at least 5× smaller) in {better} of {len(cases)} seeds."]


def crosses(results: dict) -> dict | None:
    """The features the bench's cross models crossed and the bins: {"pair", "triple", "triple_combinations",
    "enough_bins"} (None for a results.json written before the bench recorded them)."""
    return results.get("models", {}).get("crosses")


def crosses_sentence(results: dict) -> str:
    """Which features the bench's "strongest pair" and "strongest triple" models crossed, in words."""
    from recsys_course import builders

    used = crosses(results)
    if not used:
        return "The bench did not record which features its cross models crossed (re-run `make bench`)."
    return (f"The bench's cross models crossed the strongest pair and triple of its train rows: {builders.PAIR_CROSS} "
            f"= {' × '.join(used['pair'])} (1000 bins); {builders.TRIPLE_CROSS} = {' × '.join(used['triple'])}, "
            f"{used['enough_bins']:,} bins for its {used['triple_combinations']:,} combinations.")


def same_crosses_sentence(results: dict, pair, triple) -> str:
    """Whether a run crossed the same pair and triple as the bench (each measured on its own train rows)."""
    used = crosses(results)
    if not used:
        return crosses_sentence(results)
    differ = [f"strongest {k} {' × '.join(mine)} (the bench: {' × '.join(used[k])})"
              for k, mine in (("pair", pair), ("triple", triple)) if set(mine) != set(used[k])]
    if not differ:
        return "This run crossed the same pair and triple as the bench."
    return ("This run crossed other features than the bench — its " + "; its ".join(differ)
            + ": each is measured on its own train rows.")


def strongest_interactions(results: dict) -> list[str]:
    """The strongest pair and triple the bench measured on the `small` train rows, in words."""
    found = results.get("interactions") or {}
    lines = []
    for key in ("pairs", "triples"):
        if found.get(key):
            top = found[key][0]
            lines.append(f"strongest {key[:-1]} at `small`: {' × '.join(top['features'])} "
                         f"({top['interaction']:.3f})")
    return lines


# ---- the fair comparison (bench/fair.py): results.json's "fair" key, looked up by world and display name ----
FAIR_WORLDS = {"default": "the course's data", "smooth": "the same data with the smooth 3-way term on"}


def fair_world(results: dict, world: str) -> dict | None:
    """One world of the fair comparison ({"planted", "oracle_auc", "families", "paired", …}), None if not measured."""
    return ((results or {}).get("fair") or {}).get("worlds", {}).get(world)


def fair_runs(results: dict, world: str, name: str) -> list[dict]:
    """The seeds measured for one family in one world (empty when not measured yet)."""
    fam = ((fair_world(results, world) or {}).get("families") or {}).get(name)
    return fam["runs"] if fam else []


def fair_auc(results: dict, world: str, name: str) -> Spread | None:
    runs = fair_runs(results, world, name)
    return Spread.of([r["auc"] for r in runs]) if runs else None


def fair_gain(results: dict, world: str, name: str, base: str | None = None) -> Spread | None:
    """Paired gain of `name` over `base` (DLRM by default) in one world, over the seeds both have (None if none)."""
    from recsys_course.builders import DLRM

    base_auc = {r["seed"]: r["auc"] for r in fair_runs(results, world, base or DLRM)}
    diffs = [r["auc"] - base_auc[r["seed"]] for r in fair_runs(results, world, name) if r["seed"] in base_auc]
    return Spread.of(diffs) if diffs else None


def noise_verdict(g: Spread, base: str) -> str:
    """"ahead of / behind / within the noise of" `base` for a paired gain: the noise is two standard errors."""
    if g.n < 2:
        return f"one seed only, against {base}"
    if abs(g.mean) <= 2 * g.sd / g.n ** 0.5:
        return f"within the noise of {base}"
    return f"{'ahead of' if g.mean > 0 else 'behind'} {base}"


def fair_sentence(results: dict, world: str, name: str, base: str | None = None) -> str:
    """One family's fair paired gain over `base` in words, or that it is not measured yet."""
    from recsys_course.builders import DLRM

    base = base or DLRM
    g = fair_gain(results, world, name, base)
    if g is None:
        return f"{name}: not measured yet in this world"
    return f"{name}: {g.mean:+.4f} ± {g.sd:.4f} AUC over {g.n} seed(s) (paired) — {noise_verdict(g, base)}"


def best_cross_layer(results: dict, world: str) -> tuple[str, Spread] | None:
    """The cross-layer family with the largest mean paired gain over DLRM in `world` (None if none measured)."""
    from recsys_course.builders import CROSS_LAYER_MODELS

    gains = {n: g for n in CROSS_LAYER_MODELS if (g := fair_gain(results, world, n)) is not None}
    return max(gains.items(), key=lambda kv: kv[1].mean) if gains else None


def fair_protocol_sentence(results: dict) -> str:
    """How the fair comparison trained, in words (from results.json's protocol record)."""
    p = ((results or {}).get("fair") or {}).get("protocol")
    if not p:
        return "The fair comparison has not been run yet (`python bench/run.py --fair-only`)."
    return (f"Fair protocol: each family trained to its early-stopping epoch (at most {p['max_epochs']} epochs, "
            f"patience {p['patience']}, best epoch restored), stopping on a {p['stop_slice']:.0%} slice of the train "
            f"rows held out of training (never the validation rows); learning rate chosen among "
            f"{', '.join(f'{x:g}' for x in p['learning_rates'])} by {p['selection']} with seed "
            f"{p['seeds'][0]} (the built-ins take {p['builtin_rate']}); {len(p['seeds'])} seeds, batch "
            f"{p['batch_size']}; gains paired with DLRM on the same seeds.")


def fair_findings(results: dict) -> list[str]:
    """The README's fair verdicts: per world, the oracle, then each family against DLRM, ahead / behind / noise."""
    from recsys_course.builders import DLRM, FAIR_MODELS

    lines = [fair_protocol_sentence(results)]
    fams = [(f, x) for w in FAIR_WORLDS for f in ((fair_world(results, w) or {}).get("families") or {}).values()
            for x in f["runs"]]
    if fams:
        rates = (results["fair"]["protocol"]["learning_rates"])
        top = sum(f["chosen_lr"] == max(rates) for f, x in fams if f.get("rate_from") == "sweep" and x["seed"] == 1)
        swept = sum(f.get("rate_from") == "sweep" and x["seed"] == 1 for f, x in fams)
        first = sum(x["stopped_epoch"] == 1 for _, x in fams)
        lines += ["", f"Rate chosen at the top of the sweep ({max(rates):g}) for {top} of {swept} swept families "
                  f"(a larger rate was not tried); {first} of {len(fams)} runs kept their first epoch."]
    for world, what in FAIR_WORLDS.items():
        w = fair_world(results, world)
        if not w or not w.get("families"):
            lines += ["", f"**{world}** ({what}): not measured yet."]
            continue
        base = fair_auc(results, world, DLRM)
        oracle = f"oracle AUC {w['oracle_auc']:.4f}" if w.get("oracle_auc") is not None else "no oracle"
        lines += ["", f"**{world}** ({what}; {oracle}; {DLRM} {base if base else 'not measured yet'}):", ""]
        lines += [f"- {fair_sentence(results, world, n)}" for n in FAIR_MODELS if n != DLRM]
    return lines


# ---- the README's figures: rendered between markers, never typed (tests/test_readme_figures.py holds them equal) ----
README = REPO_ROOT / "README.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def readme_findings(results: dict) -> str:
    """The README's "What the course finds" table and its verdict lines, from the bench results."""
    from recsys_course import builders

    oracle = oracle_auc(results)
    lines = [f"Measured by `make bench`: {setting(results)}. {crosses_sentence(results)}", "",
             "| model | valid AUC (mean ± sd) | paired gain vs DLRM |", "|---|---:|---:|"]
    if oracle is not None:
        lines.append(f"| oracle (the generator's true probabilities) | {oracle:.4f} | |")
    for name in runs(results):
        g = gain(results, name, builders.DLRM)
        lines.append(f"| {name} | {auc(results, name)} | "
                     f"{'' if name == builders.DLRM else f'{g.mean:+.4f} ± {g.sd:.4f}'} |")
    lines += ["", *(f"- {s}" for s in gain_sentences(results, [builders.NESTED_CROSS, builders.TRIPLE_CROSS,
                                                                 builders.DCN_1, builders.DCN_2], builders.DLRM))]
    lines += [f"- {s}" for s in controlled_sentences(results)]
    lines += ["", "The fair comparison (issue 18; bench/RESULTS.md has the tables, epochs and rates):", "",
              *fair_findings(results)]
    return "\n".join(lines)


def readme_data(results: dict) -> str:
    """The generated `small` data as the bench measured it: funnel rates, rows, oracle, pipeline times."""
    d = results["data"]
    views, prep, gen, etl = d["generate_all_views"], d["prepare_local"], d["generate_course"], d["etl"]
    oracle = oracle_auc(results)
    minutes = (gen["seconds"] + prep["seconds"] + etl["seconds"]) / 60
    return (f"Measured by `make bench` at `small` ({results['machine']['date']}): view → cart "
            f"{views['view_to_cart']:.1%}, cart → purchase {views['cart_to_purchase']:.1%}; "
            f"{prep['train_rows']:,} train and {prep['valid_rows']:,} valid rows"
            + (f"; the oracle's valid AUC is {oracle:.4f}" if oracle is not None else "")
            + f". Generating, preparing and encoding them took {minutes:.1f} min on {results['machine']['cores']} "
              f"cores ({others_sentence(results, 'data')}).")


def others_sentence(results: dict, step: str) -> str:
    """How much of the machine other work used during a bench step (bench/run.py measures it), in words."""
    share = (results.get("others_cpu_share") or {}).get(step)
    if share is None:
        return "whether other work shared the cores was not measured"
    return f"other work used {share:.0%} of the machine's CPU meanwhile"


def readme_runtimes(results: dict) -> str:
    """Wall time of each walkthrough notebook at `small`, as the bench last measured it."""
    course = results.get("course") or {}
    if not course:
        return "Not measured yet: `make bench` times the notebooks."
    rows = [f"| {name.removesuffix('.ipynb')} | {sec / 60:.1f} min |" for name, sec in course.items()]
    when = results.get("course_measured", results["machine"]["date"])
    stale = ("" if when == results["machine"]["date"] else
             f" — an earlier bench than the figures below ({results['machine']['date']}); the notebooks have changed "
             "since, `make bench` without `--skip-notebooks` re-times them")
    steps = results.get("step_seconds") or {}
    bench = ["", f"`make bench` itself took {sum(steps.values()) / 60:.0f} min in that run."] if steps else []
    return "\n".join([f"Measured at `small` on {results['machine']['cores']} CPU cores ({when}{stale}):", "",
                      "| notebook | wall time |", "|---|---:|", *rows, *bench])


BLOCKS = {"findings": readme_findings, "data": readme_data, "runtimes": readme_runtimes}


def render_readme(text: str, results: dict) -> str:
    """`text` (the README) with each `<!-- bench:NAME -->` block replaced by its rendering from `results`."""
    for name, render in BLOCKS.items():
        start, end = _markers(name)
        if start not in text:
            continue
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{render(results)}\n{end}{tail}"
    return text


def update_readme(path: str | Path = README, results: dict | None = None) -> None:
    """Rewrite the README's bench blocks from bench/results.json (called by bench/report.py)."""
    path = Path(path)
    path.write_text(render_readme(path.read_text(), results if results is not None else load()))
