"""Lab 03's last section: what it says about hash collisions holds, and it stays gated behind Q3.

The section crosses the strongest triple of the candidates (where combinations can outnumber bins), counts its
collisions with Merlin's HashedCross beside the birthday formula, picks "too few" bins by a stated rule (1000, or
half the combinations below 2000), and says that the embedded crossed id (HashedCross output_mode="int") collides
exactly like the one-hot cross with as many bins. These tests hold those statements to Merlin's hash and run the
section's counting cells on synthetic rows; the notebook's figures come from its own run.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import nbformat
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SOLUTION = REPO / "solutions" / "03_dlrm_cross_solution.ipynb"
SECTION = "## What hash collisions merge"
GATE = "if q3.ready():"
SIZES = {"a": 40, "b": 24, "c": 7}  # like cat_0 × ts_hour × ts_weekday: 6,720 combinations


def _combinations():
    values = np.array(list(itertools.product(*(range(n) for n in SIZES.values()))), dtype=np.int64)
    return {name: values[:, [i]] for i, name in enumerate(SIZES)}


def _hashed(num_bins: int, mode: str) -> np.ndarray:
    import merlin.models.tf as mm
    from merlin.schema import ColumnSchema, Schema, Tags

    schema = Schema([ColumnSchema(n, tags=[Tags.CATEGORICAL], dtype="int64",
                                  properties={"domain": {"min": 0, "max": size - 1, "name": n}})
                     for n, size in SIZES.items()])
    out = mm.HashedCross(schema, num_bins=num_bins, output_mode=mode, output_name="bin")(_combinations())["bin"]
    return np.asarray(out)


def test_the_embedded_id_collides_exactly_like_the_one_hot_cross():
    ids = _hashed(1000, "int").reshape(-1)
    one_hot = _hashed(1000, "one_hot")
    assert one_hot.shape == (ids.size, 1000) and (one_hot.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(one_hot.argmax(axis=1), ids)


@pytest.mark.parametrize("bins_per_combination", [0.15, 0.5, 2, 10])
def test_merlin_hash_collides_as_the_birthday_formula_says(bins_per_combination):
    n = int(np.prod(list(SIZES.values())))
    num_bins = int(bins_per_combination * n)
    bins = _hashed(num_bins, "int").reshape(-1)
    _, inverse, counts = np.unique(bins, return_inverse=True, return_counts=True)
    counted = float((counts[inverse] > 1).mean())
    expected = 1 - (1 - 1 / num_bins) ** (n - 1)
    assert abs(counted - expected) < 0.03, (num_bins, counted, expected)


def _section():
    nb = nbformat.read(SOLUTION, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith(SECTION))
    end = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## What you built"))
    return nb, nb.cells[start:end]


def test_the_section_trains_only_once_q3_is_correct_and_keeps_four_exercises():
    nb, section = _section()
    setup = next(c.source for c in nb.cells if c.cell_type == "code" and "lab03(" in c.source)
    assert "q1, q2, q3, q4 = lab03(schema, batch, rows)" in setup  # learners' copies depend on this line
    code = [c.source for c in section if c.cell_type == "code"]
    for source in code:
        assert source.startswith((GATE, "def ")), source.splitlines()[0]
        assert ".check()" not in source and "# BEGIN SOLUTION" not in source
    assert any("analysis.interaction_strengths(rows, CANDIDATES, order=3)" in s for s in code)


def test_the_section_trains_the_strongest_triple_not_q3s_answer():
    _, section = _section()
    training = [c.source for c in section if c.cell_type == "code" and "training.compare(" in c.source]
    assert len(training) == 1 and "embed_cross=True" in training[0]
    assert training[0].count("cross=triple") == 3 and "cross_features" not in training[0]


class _Ready:
    def ready(self):
        return True


def _rows(sizes: dict, n: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = pd.DataFrame({name: rng.integers(0, size, n) for name, size in sizes.items()})
    rows["target"] = rng.integers(0, 2, n)
    return rows


def _run_counting_cells(sizes: dict, n: int, cross_features) -> tuple[str, list]:
    """The section's cells up to the collision table, run on synthetic rows of `sizes` (no training)."""
    import contextlib
    import io
    from types import SimpleNamespace

    import merlin.models.tf as mm
    import pandas as pd
    from merlin.schema import ColumnSchema, Schema, Tags

    from recsys_course.modeling import analysis

    rows = _rows(sizes, n)
    schema = Schema([ColumnSchema(c, tags=[Tags.CATEGORICAL], dtype="int64",
                                  properties={"domain": {"min": 0, "max": s - 1, "name": c}}) for c, s in sizes.items()])
    shown = []
    scope = {"q3": _Ready(), "q4": _Ready(), "rows": rows, "CANDIDATES": list(sizes), "analysis": analysis,
             "cross_features": cross_features, "pd": pd, "mm": mm, "schema": schema, "display": shown.append,
             "params": SimpleNamespace(paths=SimpleNamespace(train="train")),
             "data": SimpleNamespace(read_processed=lambda path, columns: rows[columns])}
    _, section = _section()
    cells = [c.source for c in section if c.cell_type == "code"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for source in cells[:next(i for i, s in enumerate(cells) if "collision_counts(cross_combos" in s) + 1]:
            exec(source, scope)
    return out.getvalue(), shown


def test_many_combinations_get_the_2022_notebooks_1000_bins():
    printed, shown = _run_counting_cells(SIZES, 40_000, ("a", "b"))
    n = _rows(SIZES, 40_000).groupby(list(SIZES)).ngroups
    assert n >= 2000
    assert f"strongest triple: a × b × c, {n:,} combinations" in printed
    assert "your Q3 answer: a × b, 960 combinations" in printed and "is that triple" not in printed
    assert f"{n:,} combinations of a × b × c" in printed and "1000 bins" in printed
    assert list(shown[-1].index) == [1000, 2 * n, 10 * n]
    assert shown[-1]["share"].iloc[0] > 0.8  # about 1 − e^(−n/1000) of them collide


def test_fewer_than_2000_combinations_get_half_as_many_bins_and_collide():
    sizes = {"a": 10, "b": 12, "c": 7}
    printed, shown = _run_counting_cells(sizes, 20_000, ("c", "a", "b"))
    n = _rows(sizes, 20_000).groupby(list(sizes)).ngroups
    assert "your Q3 answer is that triple" in printed
    assert f"fewer than 2000, so too few = half of them, {n // 2} bins" in printed
    assert list(shown[-1].index) == [n // 2, 2 * n, 10 * n]
    assert shown[-1]["share"].iloc[0] >= 0.5  # n combinations in n / 2 bins: at least half share one


def test_lab03_types_no_measured_figure_into_its_markdown():
    from test_notebooks import typed_figures

    assert typed_figures(nbformat.read(SOLUTION, as_version=4)) == []
