"""Every exercise: its official solution passes, a blank is 'not attempted', and planted mistakes get their message."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from recsys_course.exercises import ____, lab01, lab02, lab03, lab04
from recsys_course.exercises.core import CORRECT, INCORRECT, NOT_ATTEMPTED, RAISED


@pytest.fixture(scope="module")
def ctx(tiny_processed, tiny_prepared):
    import merlin.models.tf as mm
    from merlin.io import Dataset
    from merlin.models.tf.blocks.dlrm import DotProductInteractionBlock
    from merlin.schema import Tags

    from recsys_course import analysis
    from recsys_course.formats import EXTRA_COLUMNS

    train = Dataset(str(tiny_processed / "train"), engine="parquet")
    schema = train.schema.without(EXTRA_COLUMNS)
    train.schema = schema
    rows = pd.read_parquet(tiny_prepared / "train")
    batch = mm.sample_batch(train, batch_size=5, include_targets=False)
    return {"mm": mm, "Tags": Tags, "schema": schema, "batch": batch, "rows": rows, "analysis": analysis,
            "DotProductInteractionBlock": DotProductInteractionBlock,
            "CANDIDATES": ["ts_weekday", "ts_hour", "cat_0", "cat_1", "cat_2", "brand"]}


def _solve(exercise, namespace: dict) -> dict:
    """Run the exact code `.solution()` shows, in a namespace like the lab's."""
    code = re.sub(r"^```python\n|\n```$", "", exercise.solution().text)
    ns = dict(namespace)
    exec(code, ns)  # noqa: S102 - our own solution text
    return {n: ns[n] for n in exercise.names}


def _expect(outcome, status, pattern=""):
    assert outcome.status == status, str(outcome)
    assert re.search(pattern, outcome.message), str(outcome)


@pytest.fixture(scope="module")
def labs(ctx):
    qs = {"lab01": lab01(ctx["rows"], ctx["schema"]), "lab02": lab02(ctx["schema"], ctx["batch"]),
          "lab03": lab03(ctx["schema"], ctx["batch"], ctx["rows"]), "lab04": lab04(ctx["schema"], ctx["batch"])}
    return qs


def test_every_official_solution_passes_and_every_blank_is_not_attempted(labs, ctx):
    ns = dict(ctx)
    for exercises in labs.values():
        for q in exercises:
            _expect(q.check(**{n: ____ for n in q.names}), NOT_ATTEMPTED, r"replace `____`")
            values = _solve(q, ns)
            ns.update(values)  # later exercises build on earlier answers, as in the lab
            _expect(q.check(**values), CORRECT)


def test_check_reads_the_notebooks_variables(labs):
    q1 = labs["lab01"][0]
    conversion_rate = ____  # noqa: F841 - read by check() from this frame
    _expect(q1.check(), NOT_ATTEMPTED)
    conversion_rate = 0.1234  # noqa: F841
    _expect(q1.check(), INCORRECT, "not the share")


def test_hints_are_tiered_and_end_in_the_solution(labs):
    q = labs["lab03"][2]
    assert q.hint().text != q.hint(2).text
    assert "hint(2)" in q.hint(1).text and "last hint" in q.hint(99).text
    assert "interaction_strengths" in q.solution().text
    with pytest.raises(ValueError):
        q.hint(0)


# ---- lab 01 ----------------------------------------------------------------------------------------------

def test_lab01_mistakes(labs, ctx):
    q1, q2, q3 = labs["lab01"]
    rate = ctx["rows"]["target"].mean()
    _expect(q1.check(conversion_rate=100 * rate), INCORRECT, "percentage")
    _expect(q1.check(conversion_rate=1 - rate), INCORRECT, r"\*not\* bought")
    _expect(q1.check(conversion_rate="0.5"), INCORRECT, "should be a number")

    _expect(q2.check(is_nested=lambda rows, child, parent: bool(rows.groupby(parent)[child].nunique().max() <= 1)),
            INCORRECT, "direction is reversed")
    _expect(q2.check(is_nested=lambda rows, child, parent: bool(rows[child].nunique() >= rows[parent].nunique())),
            INCORRECT, "distinct values")
    _expect(q2.check(is_nested=True), INCORRECT, "should be a function")

    from merlin.schema import Tags

    cats = ctx["schema"].select_by_tag(Tags.CATEGORICAL)
    distinct = sum(ctx["rows"][c].nunique() for c in cats.column_names)
    _expect(q3.check(embedding_params=distinct * 64), INCORRECT, "adds 3 rows")
    _expect(q3.check(embedding_params=sum(c.int_domain.max + 1 for c in cats)), INCORRECT, "number of table rows")


# ---- lab 02 ----------------------------------------------------------------------------------------------

def _continuous(ctx):
    return ctx["mm"].ContinuousFeatures.from_schema(ctx["schema"].select_by_tag(ctx["Tags"].CONTINUOUS))


def test_lab02_mistakes(labs, ctx):
    mm, Tags, schema = ctx["mm"], ctx["Tags"], ctx["schema"]
    q1, q2, q3 = labs["lab02"]
    _expect(q1.check(bottom=_continuous(ctx).connect(mm.MLPBlock([32])).connect_with_shortcut(mm.MLPBlock([32]))),
            INCORRECT, "beside.*adds")
    _expect(q1.check(bottom=_continuous(ctx).connect(mm.MLPBlock([64])).connect_with_residual(mm.MLPBlock([64]))),
            INCORRECT, r"expected \(batch, 32\)")
    _expect(q1.check(bottom=_continuous(ctx).connect(mm.MLPBlock([32]), mm.MLPBlock([32]))), INCORRECT,
            "no residual connection")

    _expect(q2.check(item_embeddings=mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=32)), INCORRECT,
            "tagged ITEM.*extra: \\['ts_hour', 'ts_weekday', 'user_id'\\]")
    _expect(q2.check(item_embeddings=mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=16)), INCORRECT, "dim=32")
    _expect(q2.check(item_embeddings=mm.Embeddings(schema.select_by_tag(Tags.USER), dim=32)), INCORRECT,
            "missing: \\['brand', 'cat_0', 'cat_1', 'cat_2', 'product_id'\\]")

    def bottom():
        return _continuous(ctx).connect(mm.MLPBlock([32])).connect_with_residual(mm.MLPBlock([32]))

    _expect(q3.check(item_tower=mm.ParallelBlock({"items": mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=32),
                                                  "continuous": bottom()})), INCORRECT, "aggregation=\"concat\"")
    _expect(q3.check(item_tower=mm.ParallelBlock({"items": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=32),
                                                  "continuous": bottom()}, aggregation="concat")),
            INCORRECT, "288 wide")


# ---- lab 03 ----------------------------------------------------------------------------------------------

def _dlrm_inputs(ctx, dim=32, bottom_width=32, is_input=False):
    mm, Tags, schema = ctx["mm"], ctx["Tags"], ctx["schema"]
    return mm.ParallelBlock({
        "embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=dim),
        "bottom_block": _continuous(ctx).connect(mm.MLPBlock([64, bottom_width])),
    }, is_input=is_input)


def _interaction(ctx, **kw):
    return _dlrm_inputs(ctx, **kw).connect_with_shortcut(
        ctx["DotProductInteractionBlock"](), shortcut_filter=ctx["mm"].Filter("bottom_block"), aggregation="concat")


def test_lab03_mistakes(labs, ctx):
    mm = ctx["mm"]
    q1, q2, q3, q4 = labs["lab03"]
    _expect(q1.check(interaction=_dlrm_inputs(ctx).connect(ctx["DotProductInteractionBlock"]())), INCORRECT,
            "bottom MLP's own vector is missing")
    _expect(q1.check(interaction=_interaction(ctx, bottom_width=16)), RAISED, r"at `")  # 16 != 32: shapes clash
    _expect(q1.check(interaction=mm.ParallelBlock({"e": mm.Embeddings(ctx["schema"].select_by_tag(ctx["Tags"].CATEGORICAL), dim=32)},
                                                  aggregation="concat")), INCORRECT, "no dot products")

    task = mm.BinaryClassificationTask("target")
    _expect(q2.check(dlrm_model=mm.Model(_interaction(ctx).connect(mm.MLPBlock([64])), task)), INCORRECT,
            r"reads only \['price', 'relative_price'\].*silently drops")
    _expect(q2.check(dlrm_model=_interaction(ctx)), INCORRECT, "should be an `mm.Model")

    _expect(q3.check(cross_pair=("cat_0", "cat_1")), INCORRECT, "nested")
    _expect(q3.check(cross_pair=("cat_0", "brand")), INCORRECT, "not the pair the data rewards")
    _expect(q3.check(cross_pair="cat_0"), INCORRECT, "pair of column names")
    _expect(q3.check(cross_pair=("cat_0", "price")), INCORRECT, "not one of the categorical")

    def cross_model(pair, schema_arg=True):
        schema = ctx["schema"]
        s = schema.select_by_name(list(pair))
        cross = mm.ParallelBlock(mm.TabularBlock.from_schema(schema=s, pre=mm.HashedCross(s, num_bins=1000)),
                                 is_input=True, aggregation="concat")
        body = mm.ParallelBlock({"dlrm": _interaction(ctx), "cross": cross}, aggregation="concat").connect(mm.MLPBlock([64]))
        return mm.Model(body, mm.BinaryClassificationTask("target"), **({"schema": schema} if schema_arg else {}))

    _expect(q4.check(cross_model=cross_model(["cat_0", "cat_1"])), INCORRECT, "2022 notebook's cat_0 × cat_1")
    _expect(q4.check(cross_model=cross_model(["cat_0", "ts_hour"], schema_arg=False)), INCORRECT, "silently drops")
    _expect(q4.check(cross_model=mm.Model(_interaction(ctx).connect(mm.MLPBlock([64])), mm.BinaryClassificationTask("target"),
                                          schema=ctx["schema"])), INCORRECT, "no HashedCross")


# ---- lab 04 ----------------------------------------------------------------------------------------------

def _dcn(ctx, depth, schema_arg=True, **kw):
    mm, Tags, schema = ctx["mm"], ctx["Tags"], ctx["schema"]
    inputs = mm.ParallelBlock({"embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=64),
                               "bottom_block": _continuous(ctx).connect(mm.MLPBlock([128, 64]))}, aggregation="concat")
    return mm.Model(inputs.connect(mm.CrossBlock(depth, **kw), mm.MLPBlock([64])), mm.BinaryClassificationTask("target"),
                    **({"schema": schema} if schema_arg else {}))


def test_lab04_mistakes(labs, ctx):
    q1, q2, q3 = labs["lab04"]
    _expect(q1.check(dcn3=_dcn(ctx, 2)), INCORRECT, "has 2 cross layer")
    _expect(q1.check(dcn3=_dcn(ctx, 3, schema_arg=False)), INCORRECT, "silently drops")
    from recsys_course import models

    _expect(q1.check(dcn3=models.dlrm(ctx["schema"])), INCORRECT, "no CrossBlock")

    _expect(q2.check(dcn_low_rank=_dcn(ctx, 2)), INCORRECT, "full 576 × 576")
    _expect(q2.check(dcn_low_rank=_dcn(ctx, 2, low_rank_dim=32)), INCORRECT, r"rank \[32\]")

    full, low = 576 * 576 + 576, 2 * 576 * 16 + 576
    _expect(q3.check(cross_layer_params=576 * 576, low_rank_params=low), INCORRECT, "bias")
    _expect(q3.check(cross_layer_params=64 * 64 + 64, low_rank_params=low), INCORRECT, "concatenation")
    _expect(q3.check(cross_layer_params=full, low_rank_params=576 * 16 + 576), INCORRECT, "count both")


def test_the_pair_finder_finds_the_planted_pair(ctx):
    from recsys_course.generate import PLANTED

    strengths = ctx["analysis"].interaction_strengths(ctx["rows"], ctx["CANDIDATES"])
    top, second = strengths.loc[0, "pair"], strengths.loc[1, "pair"]
    assert set(top.split(" × ")) == set(PLANTED.cross_pair)
    assert set(second.split(" × ")) == {"ts_hour", "cat_1"}  # the nested refinement inherits it, with more noise
    assert strengths.set_index("pair").loc["cat_0 × cat_1", "interaction"] < 0.1 * strengths.loc[0, "interaction"]


def test_lab02_shortcut_with_concat_is_named_too(labs, ctx):
    mm = ctx["mm"]
    q1 = labs["lab02"][0]
    bottom = _continuous(ctx).connect(mm.MLPBlock([32])).connect_with_shortcut(mm.MLPBlock([32]), aggregation="concat")
    _expect(q1.check(bottom=bottom), INCORRECT, "connect_with_residual")


def test_each_solution_text_is_the_solution_notebooks_answer(labs):
    """`.solution()` (package) and the solution notebook's region (nbval) must be the same answer."""
    import nbformat

    from conftest import REPO

    def norm(text):
        return re.sub(r"\s+", " ", text).strip()

    for lab, exercises in labs.items():
        nb = nbformat.read(next((REPO / "solutions").glob(f"{lab[3:]}_*_solution.ipynb")), as_version=4)
        regions = [re.search(r"# BEGIN SOLUTION\n(.*)\n# END SOLUTION", c.source, re.S).group(1)
                   for c in nb.cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]
        assert len(regions) == len(exercises), lab
        for q, region in zip(exercises, regions):
            shown = re.sub(r"^```python\n|\n```$", "", q.solution().text)
            assert norm(shown) == norm(region), f"{lab} {q.label}: .solution() and the solution notebook differ"
