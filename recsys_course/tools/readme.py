"""The README's bench figures: rendered between `<!-- bench:NAME -->` markers from bench/results.json, never typed.

(tests/test_readme_figures.py holds the README equal to its rendering; bench/report.py rewrites it.)
"""
from __future__ import annotations

from pathlib import Path

from recsys_course.config import REPO_ROOT
from recsys_course.course.benchfigures import (BATCH_KEY, auc, batch_findings, controlled_sentences, crosses_sentence,
                                               fair_findings, gain, gain_sentences, load, oracle_auc, runs, setting)

README = REPO_ROOT / "README.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def readme_findings(results: dict) -> str:
    """The README's "What the course finds" table and its verdict lines, from the bench results."""
    from recsys_course.modeling import builders

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
    lines += ["", "The table above trains every model for 2 epochs at Adam's default rate, as the 2022 tutorial did, "
              "untuned. The fair comparison below trains each model to its early-stopping epoch at its own tuned rate; where "
              "the two disagree, the fair one is the verdict (bench/RESULTS.md has its tables, epochs and rates):", "",
              *fair_findings(results)]
    batch = batch_findings(results)
    if batch:
        check = results[BATCH_KEY]
        lines += ["", "Where runs keep their first epoch, the batch size sets how far that one epoch trains: the bench's "
                  f"batch check runs the same protocol at batch {check['protocol']['batch_size']} for "
                  f"{len(check['families'])} families (notebook 04 and bench/RESULTS.md have its table):", "", *batch]
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


def readme_make_test(results: dict, path: Path = REPO_ROOT / "bench" / "make_test.json") -> str:
    """How long `make test` took on a clean clone (bench/clean_clone.py), install included."""
    import json

    if not path.exists():
        return "How long `make test` takes on a clean clone is not measured yet: `python bench/clean_clone.py`."
    m = json.loads(path.read_text())
    return (f"On a clean clone, `make test` took **{m['seconds'] / 60:.1f} min** on {m['cores']} CPU cores, the "
            f"install included (its tests {m['pytest_seconds'] / 60:.1f} min; `bench/clean_clone.py`, {m['date']}); "
            "later runs skip the install.")


BLOCKS = {"findings": readme_findings, "data": readme_data, "runtimes": readme_runtimes, "make_test": readme_make_test}


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
