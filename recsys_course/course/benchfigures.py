"""Figures the notebooks quote, never typed by hand: read from bench/results.json or quoted from published sources,
shown as tables (notebook 04: one per world of the fair comparison) and as sentences built from numbers ("X beats Y
by …") where a verdict is drawn.

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

    short: str
    source: str
    setting: str
    auc: dict
    pairs: tuple = ()


PUBLISHED = (
    Published("2022 workshop", "NVIDIA Merlin's 2022 workshop notebooks, saved outputs (notebook 03; DLRMModel and DCNModel from "
              "notebook 02)", "real REES46, one seed, 2 epochs",
              {"DLRM": 0.6311, "DLRM + HashedCross cat_0×cat_1": 0.6350, "DCN CrossBlock": 0.6394,
               "mm.DLRMModel": 0.6286, "mm.DCNModel": 0.6379},
              (("DLRM + HashedCross cat_0×cat_1", "DLRM"), ("DCN CrossBlock", "DLRM"), ("mm.DCNModel", "mm.DLRMModel"))),
    Published("BARS", "reczoo BARS CTR leaderboard (github.com/reczoo/BARS), tuned models", "Criteo_x1",
              {"DLRM": 0.8138, "DCN-V2": 0.8142}, (("DCN-V2", "DLRM"),)),
    Published("BARS", "reczoo BARS CTR leaderboard (github.com/reczoo/BARS), tuned models", "MovieLensLatest_x1",
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
    """The controlled DCN case (recsys_course.course.polynomial) as the bench recorded it, if it did."""
    for key in ("controlled_dcn", "controlled_dcn_case", "polynomial"):
        if key in results:
            return results[key]
    return results.get("models", {}).get("controlled_dcn")


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
    """The bench's paired gain of `name` over `base` in words: ahead, behind, or within the noise (`fair_side`)."""
    g = gain(results, name, base)
    return f"{name}: {g.mean:+.4f} ± {g.sd:.4f} AUC over {g.n} seeds (paired) — {fair_verdict(g, base)}"


def gain_sentences(results: dict, names, base: str) -> list[str]:
    """`gain_sentence` for each of `names` the bench measured (names it did not measure are said so)."""
    measured = runs(results)
    return [gain_sentence(results, n, base) if n in measured and base in measured
            else f"{n}: not in bench/results.json (re-run `make bench`)" for n in names]


def published_table():
    """The published AUCs the course quotes (not measured here): one row per source, setting and model."""
    import pandas as pd

    rows = [{"source": p.short, "setting": p.setting, "model": m, "AUC": a} for p in PUBLISHED for m, a in p.auc.items()]
    return pd.DataFrame(rows).set_index(["source", "setting", "model"])


def published_sources() -> str:
    """Where each published figure comes from, in one line."""
    return "Sources: " + "; ".join(dict.fromkeys(f"{p.short}: {p.source}" for p in PUBLISHED)) + "."


def controlled_sentences(results: dict) -> list[str]:
    """The bench's controlled DCN case over its seeds: the error ratio and the parameter ratio, in words."""
    cases = results.get("controlled_dcn_runs") or ([controlled_case(results)] if controlled_case(results) else [])
    cases = [c for c in cases if c and c.get("mlp")]
    if not cases:
        return ["The bench did not record the controlled DCN case (re-run `make bench`)."]
    from recsys_course.course.polynomial import error_words

    ratios = [c["error_ratio"] for c in cases]
    better = sum(bool(c["clearly_better"]) for c in cases)
    first = cases[0]
    return [f"Controlled case, {len(cases)} seed(s): {first['cross']} has an error {error_words(min(ratios))} to "
            f"{error_words(max(ratios))} than {first['mlp']}, which has {first['param_ratio']:.0f}× its parameters; "
            f"clearly better (error at least 5× smaller) in {better} of {len(cases)} seeds."]


def controlled_table(results: dict | None, mine: dict | None = None):
    """The controlled DCN case seed by seed: this notebook's run (`mine`, in the bench's record format: "seed",
    "cross", "mlp" and "models" {name: {"rmse", …}}) and the bench's seeds. Each row: the best cross model and the
    large MLP, their test RMSE, the ratio of the two errors, and whether that is clearly better (at least 5×)."""
    import pandas as pd

    cases = [("this notebook", mine)] if mine and mine.get("mlp") else []
    cases += [("the bench", c) for c in (results or {}).get("controlled_dcn_runs") or [] if c and c.get("mlp")]
    rows = []
    for who, c in cases:
        cross, mlp = c["models"][c["cross"]]["rmse"], c["models"][c["mlp"]]["rmse"]
        rows.append({"run": who, "seed": c["seed"], "cross model": c["cross"], "its RMSE": round(cross, 5),
                     "MLP": c["mlp"], "MLP RMSE": round(mlp, 5), "MLP error / cross error": round(mlp / cross, 1),
                     "clearly better (≥ 5×)": mlp / cross >= 5})
    return pd.DataFrame(rows).set_index(["run", "seed"]) if rows else None


def crosses(results: dict) -> dict | None:
    """The features the bench's cross models crossed and the bins: {"pair", "triple", "triple_combinations",
    "enough_bins"} (None for a results.json written before the bench recorded them)."""
    return results.get("models", {}).get("crosses")


def crosses_sentence(results: dict) -> str:
    """Which features the bench's "strongest pair" and "strongest triple" models crossed, in words."""
    from recsys_course.modeling import builders

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


# ---- the fair comparison (bench/results.json's "fair" key): each family at its own tuned rate, early-stopped ----
# Shape (bench/run.py writes it): {"protocol": {...}, "worlds": {world: {"planted", "oracle_auc",
# "families": {name: {"lr_sweep", "chosen_lr", "runs": [{"seed", "auc", "stopped_epoch", "params", ...}]}},
# "paired": {name: {"mean", "sd", "n"}}}}}. Every lookup returns None (or says "not measured yet") when a key is absent.
NOT_MEASURED = "not measured yet"


def fair(results: dict | None) -> dict | None:
    """The bench's fair comparison, or None when results.json has none (a bench run before it existed)."""
    found = (results or {}).get("fair")
    return found if isinstance(found, dict) and found.get("worlds") else None


def fair_world(results: dict | None, world: str = "default") -> dict | None:
    """One world of the fair comparison ("default": the course's data; "smooth": data with the smooth term on)."""
    found = fair(results)
    return (found["worlds"].get(world) or None) if found else None


def fair_family(results: dict | None, world: str, name: str) -> dict | None:
    """One family (display name) in one world, or None when the bench did not measure it there."""
    w = fair_world(results, world)
    family = (w or {}).get("families", {}).get(name)
    return family if family and family.get("runs") else None


def fair_auc(results: dict | None, world: str, name: str) -> Spread | None:
    """A family's validation AUC over the fair comparison's seeds (None when not measured)."""
    family = fair_family(results, world, name)
    return Spread.of([r["auc"] for r in family["runs"]]) if family else None


def fair_gain(results: dict | None, world: str, name: str, base: str | None = None) -> Spread | None:
    """The paired gain of `name` over `base` in `world` (same seeds): the bench's "paired" figure when it is the gain
    over `base`, else computed seed by seed from the runs. None when either was not measured."""
    from recsys_course.modeling import builders

    base = base or builders.DLRM
    a, b = fair_family(results, world, name), fair_family(results, world, base)
    if not a or not b:
        return None

    stored = (fair_world(results, world).get("paired") or {}).get(name)
    if base == builders.DLRM and stored:
        return Spread(float(stored["mean"]), float(stored["sd"]), int(stored["n"]))
    by_seed = {r["seed"]: r["auc"] for r in b["runs"]}
    return Spread.of([r["auc"] - by_seed[r["seed"]] for r in a["runs"] if r["seed"] in by_seed])


# A side of the base, in one word (`fair_side`'s values; None: one seed only).
SIDE_WORDS = {1: "ahead", -1: "behind", 0: "within the noise", None: "one seed only"}


def seeds_noise(gain: Spread) -> float:
    """How far a mean paired gain over `gain.n` seeds may lie from 0 by chance: the half-width of its 95% interval,
    Student's t with n − 1 degrees of freedom times the standard error (with 3 seeds, 4.3 standard errors: two would
    be an 82% interval there)."""
    from scipy.stats import t

    return float(t.ppf(0.975, gain.n - 1)) * gain.sd / gain.n ** 0.5


def fair_side(gain: Spread | None) -> int | None:
    """+1 ahead, -1 behind, 0 within the noise (the mean gain's 95% interval over the seeds holds 0: `seeds_noise`);
    None when not measured or measured with one seed only (no spread to judge the noise by)."""
    if gain is None or gain.n < 2:
        return None
    if abs(gain.mean) <= seeds_noise(gain):
        return 0
    return 1 if gain.mean > 0 else -1


def fair_verdict(gain: Spread | None, base: str) -> str:
    """ahead of / behind / within the noise of `base`, in words (`fair_side` decides)."""
    if gain is None:
        return NOT_MEASURED
    side = fair_side(gain)
    if side is None:
        return f"one seed only, against {base}"
    return {1: f"ahead of {base}", -1: f"behind {base}", 0: f"within the noise of {base}"}[side]


def fair_rate(results: dict | None, name: str, world: str = "default") -> float | None:
    """The learning rate the fair comparison chose for a family (None when it did not measure it)."""
    family = fair_family(results, world, name)
    return float(family["chosen_lr"]) if family and family.get("chosen_lr") is not None else None


def fair_protocol(results: dict | None) -> str:
    """How the fair comparison trained, in words (every figure read from its protocol)."""
    found = fair(results)
    if not found:
        return ("The bench's fair comparison (each model at its own tuned rate, early-stopped): "
                f"{NOT_MEASURED} — run `make bench`.")
    p = found["protocol"]
    rates = ", ".join(f"{lr:g}" for lr in p["learning_rates"])
    wider = ", ".join(f"{lr:g}" for lr in p.get("edge_rates", []))
    rates += f" (then {wider} in turn while the best rate is the largest tried)" if wider else ""
    return (f"The bench's fair comparison: {len(p['seeds'])} seeds, batch {p['batch_size']}; each family's rate "
            f"chosen among {rates} by {p['selection']}; up to {p['max_epochs']} epochs, stopped when the AUC on a "
            f"{p['stop_slice']:.0%} slice of the train rows (never the validation rows) had not improved for "
            f"{p['patience']} epoch(s), the best epoch's weights kept"
            + (f"; the built-ins take {p['builtin_rate']}." if p.get("builtin_rate") else "."))


def _stopped(family: dict) -> str:
    epochs = [r.get("stopped_epoch") for r in family["runs"]]
    return ", ".join(str(e) for e in epochs) if all(e is not None for e in epochs) else ""


def fair_table(results: dict | None, world: str, names, base: str):
    """ONE table of a world of the fair comparison: the oracle first (when the world has one), then a row per family
    the bench measured there (in `names` order): its parameters, the rate chosen, its valid AUC (mean ± sd over the
    seeds), its paired gain over `base` (± sd), the verdict computed from the gain — ahead, behind or within the
    noise (`fair_side`: the mean gain's 95% interval over the seeds holds 0) — and the epoch each seed kept (of the cap). None when the
    bench did not measure the world."""
    import pandas as pd

    w = fair_world(results, world)
    if not w:
        return None
    short, cap = base.split(" (")[0], results["fair"]["protocol"]["max_epochs"]
    kept = f"best epoch per seed (cap {cap})"
    rows = []
    if w.get("oracle_auc") is not None:
        rows.append({"model": "oracle (the generator's true probabilities)", "valid AUC": f"{w['oracle_auc']:.4f}"})
    for name in names:
        family = fair_family(results, world, name)
        if not family:
            continue
        g = None if name == base else fair_gain(results, world, name, base)
        params = family["runs"][0].get("params")
        rows.append({"model": name, "params": "" if params is None else f"{params:,}", "rate": f"{family['chosen_lr']:g}",
                     "valid AUC": str(fair_auc(results, world, name)), kept: _stopped(family),
                     f"gain vs {short}": "" if g is None else f"{g.mean:+.4f} ± {g.sd:.4f}",
                     f"verdict vs {short}": "" if g is None else SIDE_WORDS[fair_side(g)]})
    if len(rows) == (w.get("oracle_auc") is not None):
        return None
    columns = ["params", "rate", "valid AUC", f"gain vs {short}", f"verdict vs {short}", kept]
    return pd.DataFrame(rows).set_index("model").reindex(columns=columns).fillna("")


# The fair comparison's display names are builders' constants (one definition).
from recsys_course.modeling.builders import CONCAT_MLP, DCN_PARALLEL, DCN_WITH_DOTS  # noqa: E402


def fair_sentence(results: dict | None, world: str, name: str, base: str | None = None) -> str:
    """`name` against `base` (default DLRM) in `world`, paired over the seeds, in words; "not measured yet" when either
    is absent. The one sentence builder of the fair comparison (the README and RESULTS.md use it)."""
    from recsys_course.modeling.builders import DLRM

    base = base or DLRM
    g = fair_gain(results, world, name, base)
    if g is None:
        return f"{name} vs {base}: {NOT_MEASURED}"
    return (f"{name} vs {base}: {g.mean:+.4f} ± {g.sd:.4f} AUC over {g.n} seed{'s' if g.n != 1 else ''} (paired) — "
            f"{fair_verdict(g, base)}")


def _side(results: dict | None, world: str, name: str, base: str) -> int | None:
    """+1 ahead of `base`, -1 behind, 0 within the noise, None not measured or one seed (`fair_side`)."""
    return fair_side(fair_gain(results, world, name, base))


def fair_story(results: dict | None, world: str = "default") -> list[str]:
    """Why the stacked DCN wins or loses in `world`, in two sentences computed from the fair figures: its two changes
    told apart (the hybrid keeps DLRM's dot products and adds the cross layers), then its cross layers against no
    interaction at all (concat → MLP)."""
    from recsys_course.modeling import builders

    dlrm, dcn = builders.DLRM, builders.DCN_2
    if not fair_world(results, world):
        return [f"world `{world}`: {NOT_MEASURED}"]
    lines = []
    dcn_side, hybrid_side = _side(results, world, dcn, dlrm), _side(results, world, DCN_WITH_DOTS, dlrm)
    if dcn_side is not None and hybrid_side is not None:
        if dcn_side < 0 and hybrid_side >= 0:
            lines.append(f"The stacked DCN's loss comes from what it drops — DLRM's dot products — not from the "
                         f"cross layers it adds: with the dot products kept, the cross layers are "
                         f"{'within the noise of' if hybrid_side == 0 else 'ahead of'} DLRM.")
        elif hybrid_side < 0:
            lines.append("The cross layers cost AUC even beside DLRM's dot products (the hybrid is behind DLRM).")
        elif hybrid_side > 0:
            lines.append("The cross layers add AUC on top of DLRM's dot products (the hybrid is ahead of DLRM).")
        else:
            lines.append("Neither the stacked DCN nor the hybrid differs from DLRM by more than the noise here.")
    g = fair_gain(results, world, dcn, CONCAT_MLP)
    mlp_side = _side(results, world, dcn, CONCAT_MLP)
    if mlp_side is not None:
        said = {0: "add nothing measurable", 1: "add AUC", -1: "lose AUC"}[mlp_side]
        lines.append(f"Against no interaction at all ({CONCAT_MLP.split(' (')[0]}), the stacked DCN's cross layers {said}: "
                     f"{g.mean:+.4f} ± {g.sd:.4f} AUC over {g.n} seeds (paired).")
    return lines


def dcn_vs_dlrm_table(results: dict | None):
    """DCN − DLRM wherever it was measured: the published figures (one run in 2022; BARS, tuned), then this bench's
    fair comparison in each world (mean ± sd over its seeds, the verdict, and how far one seed's difference moves)."""
    import pandas as pd

    from recsys_course.modeling import builders

    rows = [{"source": p.short, "setting": p.setting, "comparison": f"{a} − {b}",
             "AUC difference": f"{p.auc[a] - p.auc[b]:+.4f}"} for p in PUBLISHED for a, b in p.pairs if "DCN" in a]
    for world, what in FAIR_WORLDS.items():
        g = fair_gain(results, world, builders.DCN_2, builders.DLRM)
        if g is not None:
            rows.append({"source": "this bench", "setting": f"world `{world}`: {what}; tuned, early-stopped",
                         "comparison": f"{builders.DCN_2} − {builders.DLRM}", "AUC difference": f"{g.mean:+.4f} ± {g.sd:.4f}",
                         "seeds": str(g.n), "verdict": SIDE_WORDS[fair_side(g)],
                         "one seed's difference moves by": f"±{2 * g.sd:.4f}"})
    return pd.DataFrame(rows).set_index(["source", "setting"]).fillna("")


FAIR_WORLDS = {"default": "the course's data", "smooth": "the same data with the smooth 3-way term on"}
BATCH_KEY = "fair_batch"  # results.json's key for the batch check: the fair protocol again at a smaller batch


def batch_check(results: dict | None) -> dict | None:
    """The batch check (the fair protocol at lab 05's batch for a few families), as `fair` reads it: None if absent."""
    found = (results or {}).get(BATCH_KEY)
    return {"fair": found} if isinstance(found, dict) and found.get("worlds") else None


def batches(results: dict | None) -> tuple[tuple[int, dict], tuple[int, dict]] | None:
    """((the fair comparison's batch, results), (the batch check's batch, the check as `fair` reads it)), or None
    when either has not run."""
    small = batch_check(results)
    if small is None or fair(results) is None:
        return None
    return ((results["fair"]["protocol"].get("batch_size"), results),
            (small["fair"]["protocol"].get("batch_size"), small))


def gain_at_batch(results: dict | None, world: str, name: str, batch: int | None, base: str | None = None):
    """(the bench's paired gain of `name` over `base` in `world`, the batch it was measured at) that a run trained at
    `batch` is judged against: the batch check's when it ran at that batch and has a spread over seeds (like for
    like), else the fair comparison's. (None, None) when the fair comparison has not run."""
    both = batches(results)
    if both is not None and both[1][0] == batch:
        g = fair_gain(both[1][1], world, name, base)
        if fair_side(g) is not None:
            return g, batch
    found = fair(results)
    return fair_gain(results, world, name, base), (found["protocol"].get("batch_size") if found else None)


def rate_said(family: dict) -> str:
    """A family's chosen rate, marked when it is an end of the sweep's ladder (the best rate may lie beyond it)."""
    rate = family["chosen_lr"]
    if family.get("rate_at_edge"):
        return f"{rate:g} (the ladder's largest)"
    return f"{rate:g} (the ladder's smallest)" if family.get("rate_at_low_edge") else f"{rate:g}"


def batch_table(results: dict | None):
    """Each family the batch check measured, at the fair comparison's batch and at the check's: the rate each
    chose, the valid AUC (mean ± sd over seeds), what the smaller batch changed, and the paired gain over DLRM with
    its verdict at each batch. None when the batch check has not run."""
    import pandas as pd

    from recsys_course.modeling.builders import DLRM

    both = batches(results)
    if both is None:
        return None
    (big_b, _), (small_b, small) = both
    rows = []
    for world in FAIR_WORLDS:
        for name in ((fair_world(small, world) or {}).get("families") or {}):
            at = dict(both)
            if not all(fair_family(r, world, name) for r in at.values()):
                continue
            row = {"world": world, "model": name}
            for b, r in at.items():
                gain = fair_gain(r, world, name)
                row[f"rate at {b}"] = rate_said(fair_family(r, world, name))
                row[f"valid AUC at {b}"] = str(fair_auc(r, world, name))
                row[f"gain vs DLRM at {b}"] = "" if name == DLRM or gain is None else (
                    f"{gain.mean:+.4f} ± {gain.sd:.4f} ({SIDE_WORDS[fair_side(gain)]})")
            moved = fair_auc(small, world, name).mean - fair_auc(results, world, name).mean
            row[f"AUC change, {small_b} vs {big_b}"] = f"{moved:+.4f}"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["world", "model"]) if rows else None


def batch_findings(results: dict | None) -> list[str]:
    """Sentences computed from the batch check: steps per epoch and epochs kept at each batch, how much every
    family's AUC moved, and each verdict against DLRM at both batches (the same or changed)."""
    import math

    from recsys_course.modeling.builders import DLRM

    both = batches(results)
    if both is None:
        return []
    small = both[1][1]
    measured = [(w, n) for w in FAIR_WORLDS for n in ((fair_world(small, w) or {}).get("families") or {})
                if all(fair_family(r, w, n) for _, r in both)]
    if not measured:
        return []
    steps, kept = [], []
    for b, r in both:
        rows = {fair_world(r, w)["fit_rows"] for w, _ in measured}
        runs = [x for w, n in measured for x in fair_family(r, w, n)["runs"]]
        steps.append(f"{'/'.join(f'{math.ceil(x / b):,}' for x in sorted(rows))} steps at batch {b}")
        kept.append(f"{sum(x['stopped_epoch'] == 1 for x in runs)} of {len(runs)} runs at {b}")
    moved = [fair_auc(small, w, n).mean - fair_auc(results, w, n).mean for w, n in measured]
    lines = [f"One epoch is {' and '.join(steps)}; runs that kept their first epoch: {', '.join(kept)}. At batch "
             f"{both[1][0]} every family's mean valid AUC moved by {min(moved):+.4f} to {max(moved):+.4f} against "
             f"batch {both[0][0]} (same protocol, same seeds)."]
    for w, n in measured:
        if n == DLRM:
            continue
        gains = [(b, fair_gain(r, w, n)) for b, r in both]
        if any(g is None for _, g in gains):  # DLRM of that world not measured (yet) at one of the batches
            continue
        said = ", ".join(f"{g.mean:+.4f} ± {g.sd:.4f} ({SIDE_WORDS[fair_side(g)]}) at {b}" for b, g in gains)
        same = fair_side(gains[0][1]) == fair_side(gains[1][1])
        lines.append(f"- `{w}`, {n} vs {DLRM}: {said} — {'the same verdict' if same else 'the verdict changes'}.")
    return lines + _crosses_against_cross_layers(both, measured)


def _crosses_against_cross_layers(both, measured) -> list[str]:
    """Per world, the hand-picked cross (embedded) against the cross-layer family that scores best at the smaller
    batch, paired seed by seed, at both batches: does "hand-picked beats learned" survive the budget?"""
    from recsys_course.modeling.builders import CROSS_LAYER_MODELS, TRIPLE_EMBEDDED

    lines = []
    for w in FAIR_WORLDS:
        here = {n for world, n in measured if world == w}
        layers = [n for n in CROSS_LAYER_MODELS if n in here]
        if TRIPLE_EMBEDDED not in here or not layers:
            continue
        best = max(layers, key=lambda n: fair_auc(both[1][1], w, n).mean)
        gains = [(b, fair_gain(r, w, TRIPLE_EMBEDDED, best)) for b, r in both]
        said = ", ".join(f"{g.mean:+.4f} ± {g.sd:.4f} ({SIDE_WORDS[fair_side(g)]}) at {b}" for b, g in gains)
        same = fair_side(gains[0][1]) == fair_side(gains[1][1])
        lines.append(f"- `{w}`, the hand-picked cross against the best cross layer at {both[1][0]}: {TRIPLE_EMBEDDED} "
                     f"vs {best}: {said} — {'the same verdict' if same else 'the verdict changes'}.")
    return lines


def best_cross_layer(results: dict, world: str) -> tuple[str, Spread] | None:
    """The cross-layer family with the largest mean paired gain over DLRM in `world` (None if none measured)."""
    from recsys_course.modeling.builders import CROSS_LAYER_MODELS

    gains = {n: g for n in CROSS_LAYER_MODELS if (g := fair_gain(results, world, n)) is not None}
    return max(gains.items(), key=lambda kv: kv[1].mean) if gains else None


def fair_findings(results: dict) -> list[str]:
    """The README's fair verdicts: per world, the oracle, then each family against DLRM, ahead / behind / noise."""
    from recsys_course.modeling.builders import DLRM, FAIR_MODELS

    lines = [fair_protocol(results)]
    families = [f for w in FAIR_WORLDS for f in ((fair_world(results, w) or {}).get("families") or {}).values()]
    runs = [x for f in families for x in f["runs"]]
    if families:
        p = results["fair"]["protocol"]
        first_sweep, top = p["learning_rates"], max([*p["learning_rates"], *p.get("edge_rates", [])])
        swept = [f for f in families if f.get("rate_from") == "sweep"]
        widened = sum(len(f["lr_sweep"]) > len(first_sweep) for f in swept)
        at_top = sum(f["chosen_lr"] == top for f in swept)
        lines += ["", f"Of {len(swept)} swept families, {widened} chose the sweep's largest rate "
                  f"({max(first_sweep):g}) and were tried higher; {at_top} chose {top:g}, the ladder's end (a larger "
                  f"rate was not tried). {sum(x['stopped_epoch'] == 1 for x in runs)} of {len(runs)} runs kept "
                  "their first epoch."]
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


# ---- notebook 06: the hybrid "DCN + dot products" and the embedded crossed id, quoted only when the bench has them ----
HYBRID = "DCN + dot products (hybrid)"  # the bench's display name (builders.DCN_WITH_DOTS once the bench measures it)


def rows_per_second(results: dict, name: str) -> float:
    """A bench model's training speed (rows per second of its last epoch), averaged over the seeds."""
    return st.mean(r["rows_per_s"] for r in runs(results)[name])


def _hybrid_sources(results: dict | None, base: str) -> list[tuple[str, list[dict], list[dict]]]:
    """Where the bench measured the hybrid beside `base`: (how, the hybrid's runs, the base's runs) — the classic bench
    (`models.runs`) and each world of the fair comparison (`fair.worlds.<world>.families`), when they hold both."""
    found = []
    if results is None:
        return found
    classic = results.get("models", {}).get("runs", {})
    if classic.get(HYBRID) and classic.get(base):
        found.append((f"the bench ({setting(results)})", classic[HYBRID], classic[base]))
    for world, w in ((results.get("fair") or {}).get("worlds") or {}).items():
        families = (w or {}).get("families") or {}
        mine, theirs = (families.get(HYBRID) or {}).get("runs"), (families.get(base) or {}).get("runs")
        if mine and theirs:
            found.append((f"the fair comparison, world `{world}` (each model at its own tuned rate, early-stopped)",
                          mine, theirs))
    return found


def _paired_gain(runs_a: list[dict], runs_b: list[dict]) -> Spread:
    """AUC of a minus AUC of b, seed by seed (matched by their `seed` when the records carry one)."""
    by_seed = {r.get("seed", i): r["auc"] for i, r in enumerate(runs_b)}
    return Spread.of([r["auc"] - by_seed[r.get("seed", i)] for i, r in enumerate(runs_a) if r.get("seed", i) in by_seed])


def hybrid_sentences(results: dict | None, base: str | None = None) -> list[str]:
    """The bench's measurement of the hybrid (AUC ± sd over seeds, paired gain vs DLRM) wherever it has one, or one
    line saying it has none (no figure then, so nothing to mistake for a measurement).

    The bench builds the hybrid with `mm.CrossBlock(2)`; notebook 06 proves its own cross layer computes exactly what
    a CrossBlock computes, so the row measures the notebook's architecture."""
    from recsys_course.modeling import builders

    base = base or builders.DLRM
    sources = _hybrid_sources(results, base)
    if not sources:
        return [f"bench/results.json has no row {HYBRID!r} yet: `make bench` measures it once the bench includes "
                "it. Until then, only this notebook's own run above speaks, and one seed at one scale decides nothing."]
    lines = []
    for how, mine, theirs in sources:
        g = _paired_gain(mine, theirs)
        verdict = fair_verdict(g, base)
        lines.append(f"{HYBRID} in {how}: valid AUC {Spread.of([r['auc'] for r in mine])}, {mine[0]['params']:,} "
                     f"parameters; paired gain over {base} {g.mean:+.4f} ± {g.sd:.4f} over {g.n} seeds — {verdict}.")
    return lines + ["The bench builds it with mm.CrossBlock(2), which this notebook proved computes what MyCross "
                    "computes: these figures measure the architecture you wrote."]


def embedded_id_sentences(results: dict | None) -> list[str]:
    """The embedded crossed id as the bench measured it: its AUC and paired gain, and its speed against the one-hot
    cross of the same triple in the same bins."""
    from recsys_course.modeling import builders

    names = (builders.TRIPLE_EMBEDDED, builders.TRIPLE_CROSS, builders.DLRM)
    if results is None or any(n not in runs(results) for n in names):
        return ["bench/results.json has no embedded-id row: run `make bench` to measure it."]
    embedded, one_hot = rows_per_second(results, builders.TRIPLE_EMBEDDED), rows_per_second(results, builders.TRIPLE_CROSS)
    return [f"{builders.TRIPLE_EMBEDDED}: valid AUC {auc(results, builders.TRIPLE_EMBEDDED)} ({setting(results)}).",
            gain_sentence(results, builders.TRIPLE_EMBEDDED, builders.DLRM),
            gain_sentence(results, builders.TRIPLE_EMBEDDED, builders.TRIPLE_CROSS),
            f"training speed: {embedded:,.0f} rows/s embedded vs {one_hot:,.0f} rows/s for the one-hot cross "
            f"({embedded / one_hot:.1f}× {'faster' if embedded >= one_hot else 'the speed'}), mean over the seeds."]
