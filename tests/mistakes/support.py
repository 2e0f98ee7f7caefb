"""Fixtures and small builders shared by the exercise tests and the mistakes catalogue.

The builders are the vocabulary of tests/mistakes/catalogue.py: each case is one line of code written with them
(`interaction = shortcut(inputs(bottom=(64, 16)))`), run in the namespace `lab_namespace` returns.
"""
from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def lab_namespace(tiny_processed, tiny_prepared) -> dict:
    """What a lab notebook has in scope (schema, batch, rows, mm, Tags…) plus the catalogue's builders."""
    import merlin.models.tf as mm
    import numpy as np
    from merlin.io import Dataset
    from merlin.models.tf.blocks.dlrm import DotProductInteractionBlock
    from merlin.schema import Tags

    from recsys_course.modeling import analysis, builders
    from recsys_course.course.exercises.lab03 import strength_table
    from recsys_course.data.formats import CROSS_CANDIDATES, EXTRA_COLUMNS

    train = Dataset(str(tiny_processed / "train"), engine="parquet")
    schema = train.schema.without(EXTRA_COLUMNS)
    train.schema = schema
    rows = pd.read_parquet(tiny_prepared / "train")
    ns = {"mm": mm, "np": np, "pd": pd, "Tags": Tags, "schema": schema, "rows": rows, "analysis": analysis,
          "builders": builders, "DotProductInteractionBlock": DotProductInteractionBlock,
          "CANDIDATES": list(CROSS_CANDIDATES), "batch": mm.sample_batch(train, batch_size=5, include_targets=False)}
    table = strength_table(rows)
    ns["top"] = tuple(table.loc[0, "features"])
    ns["second"] = next(tuple(f) for f in table["features"][1:]
                        if set(f) != set(ns["top"]) and not any(analysis.nested_pair(rows, a, b)
                                                                for i, a in enumerate(f) for b in f[i + 1:]))
    ns["combos"] = rows.groupby(list(ns["top"])).ngroups
    ns.update(_builders(ns))
    ns.update(_lab05_names())
    ns.update(_lab04_names(tiny_processed))
    ns.update(_lab06_names(ns))
    return ns


def dcn_runs(deep: float, low: float, losses=(0.6, 0.6)) -> list:
    """Lab 04's measurement with these validation AUCs (DCN depth 3, the low-rank DCN), as `training.compare` lists it."""
    from recsys_course.course.exercises.lab04 import DEEP, LOW
    from recsys_course.modeling.training import FitResult

    return [FitResult(DEEP, deep, losses[0], 1), FitResult(LOW, low, losses[1], 1)]


def _lab04_names(tiny_processed) -> dict:
    """What lab 04 has in scope for Q4: the validation labels, `metrics`, and `dcn_runs(deep, low)`."""
    from recsys_course import metrics
    from recsys_course.data import read_processed

    valid_target = read_processed(tiny_processed / "valid", columns=["target"])["target"]
    return {"metrics": metrics, "valid_target": valid_target, "dcn_runs": dcn_runs,
            "noise_of": lambda runs: metrics.auc_noise(valid_target, min(r.auc for r in runs))}


def runs_of(dlrm: float, pair: float, triple: float, losses=(0.6, 0.6, 0.6, 0.6), dcn: float | None = None) -> list:
    """A lab 05 measurement with these validation AUCs (DLRM, the pair cross, the 3-way cross, and the DCN), in the
    order the Measure cell lists its runs. The DCN's AUC, unless given, lies halfway between the lowest and the
    highest of the others: it is neither the best nor the worst run."""
    import math

    from recsys_course.course import experiment
    from recsys_course.modeling.training import FitResult

    if dcn is None:
        known = [a for a in (dlrm, pair, triple) if isinstance(a, float) and math.isfinite(a)]
        dcn = (min(known) + max(known)) / 2

    losses = (*losses, *(0.6,) * (4 - len(losses)))
    given = {n: FitResult(n, a, loss, 1) for n, a, loss in
             zip((experiment.DLRM, experiment.PAIR, experiment.TRIPLE, experiment.DCN), (dlrm, pair, triple, dcn),
                 losses)}
    return [given[n] for n in experiment.CONTENDERS]


def _lab05_names() -> dict:
    """What lab 05 has in scope, and `runs_of(dlrm, pair, triple)`: a measurement with those validation AUCs."""
    from recsys_course.course import experiment
    from recsys_course.data.generate import PLANTED, PLANTED_NAMES, Planted
    from recsys_course.modeling.training import FitResult

    return {"experiment": experiment, "PLANTED": PLANTED, "PLANTED_NAMES": PLANTED_NAMES, "Planted": Planted,
            "FitResult": FitResult, "CONTENDERS": experiment.CONTENDERS, "runs_of": runs_of}


@pytest.fixture(scope="module")
def labs(lab_namespace):
    from recsys_course.course.exercises import lab01, lab02, lab03, lab04, lab05, lab06

    ns = lab_namespace
    return {"lab01": lab01(ns["rows"], ns["schema"]), "lab02": lab02(ns["schema"], ns["batch"]),
            "lab03": lab03(ns["schema"], ns["batch"], ns["rows"]), "lab04": lab04(ns["schema"], ns["batch"], ns["valid_target"]),
            "lab05": lab05(), "lab06": lab06(ns["schema"], ns["batch"])}


def _builders(ns: dict) -> dict:
    """Short builders for the catalogue; every call makes new blocks."""
    mm, Tags, schema = ns["mm"], ns["Tags"], ns["schema"]

    def emb(dim=32, tag="CATEGORICAL"):
        return mm.Embeddings(schema.select_by_tag(getattr(Tags, tag)), dim=dim)

    def cont(names=None):
        return mm.ContinuousFeatures.from_schema(
            schema.select_by_name(names) if names else schema.select_by_tag(Tags.CONTINUOUS))

    def res_bottom():
        return cont().connect(mm.MLPBlock([32])).connect_with_residual(mm.MLPBlock([32]))

    def inputs(dim=32, bottom=(64, 32), agg=None, names=("embeddings", "bottom_block"), cont_names=None, tag="CATEGORICAL"):
        return mm.ParallelBlock({names[0]: emb(dim, tag), names[1]: cont(cont_names).connect(mm.MLPBlock(list(bottom)))},
                                aggregation=agg)

    def shortcut(block, keep="bottom_block", agg="concat", exclude=False, dot=None):
        return block.connect_with_shortcut(dot or ns["DotProductInteractionBlock"](),
                                           shortcut_filter=mm.Filter(keep, exclude=exclude) if keep else None,
                                           aggregation=agg)

    def task(target="target"):
        return mm.BinaryClassificationTask(target)

    def model(*blocks, t=None, schema_arg=True):
        return mm.Model(*blocks, t or task(), **({"schema": schema} if schema_arg else {}))

    def hashed(features, bins, mode="one_hot"):
        s = schema.select_by_name(list(features))
        return mm.ParallelBlock(mm.TabularBlock.from_schema(schema=s, pre=mm.HashedCross(s, num_bins=bins, output_mode=mode)),
                                is_input=True, aggregation="concat")

    def xmodel(features=None, bins=None, deep=None, top_mlp=(64,), agg="concat", mode="one_hot", wide=None, **kw):
        cross = hashed(features or ns["top"], bins or 2 * ns["combos"], mode)
        body = mm.ParallelBlock({"dlrm": deep or shortcut(inputs()), "cross": wide(cross) if wide else cross},
                                aggregation=agg)
        return model(body.connect(mm.MLPBlock(list(top_mlp))) if top_mlp else body, **kw)

    def dcn_inputs(dim=64, bottom=(128, 64), names=("embeddings", "bottom_block")):
        return inputs(dim, bottom, "concat", names)

    def dcn(depth=3, rank=None, top_mlp=(64,), inp=None, **kw):
        blocks = [mm.CrossBlock(depth, low_rank_dim=rank), *([mm.MLPBlock(list(top_mlp))] if top_mlp else [])]
        return model((inp or dcn_inputs()).connect(*blocks), **kw)

    return {f.__name__: f for f in (emb, cont, res_bottom, inputs, shortcut, task, model, hashed, xmodel, dcn_inputs, dcn)}


def _lab06_names(ns: dict) -> dict:
    """What lab 06 has in scope: tf, the official `MyCross` (registered under its own package, so that the cases'
    classes registered as "course>MyCross" never replace it), `mine_dcn()` (a fresh DCN with it), `saved_dcn()` (one
    such model, saved once as a SavedModel: (model, folder)) and `scratch`, a temporary folder."""
    import functools
    import tempfile

    import tensorflow as tf

    from recsys_course.course.exercises.core import solution_text
    from recsys_course.course.exercises.lab06 import REGISTER_LINE

    scope = {"tf": tf}
    exec(REGISTER_LINE.replace("course>", "catalogue_reference>")  # noqa: S102 - the lab's own solution text
         + "\n" + solution_text("06", 1).replace('package="course"', 'package="catalogue_reference"'), scope)
    mm, schema, cls = ns["mm"], ns["schema"], scope["MyCross"]

    def mine_dcn():
        model = mm.Model(ns["dcn_inputs"]().connect(cls(), mm.MLPBlock([64])), mm.BinaryClassificationTask("target"),
                         schema=schema)
        model(ns["batch"])
        return model

    scratch = tempfile.mkdtemp(prefix="lab06_catalogue_")

    @functools.lru_cache(maxsize=1)
    def saved_dcn():
        model = mine_dcn()
        folder = f"{scratch}/saved_dcn"
        tf.keras.models.save_model(model, folder)
        return model, folder

    from pathlib import Path
    from types import SimpleNamespace

    params = SimpleNamespace(paths=SimpleNamespace(root=Path(scratch)))  # the lab's `params.paths.root`
    return {"tf": tf, "MyCross": cls, "mine_dcn": mine_dcn, "saved_dcn": saved_dcn, "scratch": scratch, "params": params}
