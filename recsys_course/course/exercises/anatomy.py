"""A model's anatomy: its Merlin block tree read as a short list of steps, the same for every way of writing it.

`steps(model)` walks the blocks in the order they run and returns `Step`s: `embeddings`, `continuous`, `mlp`
(consecutive Dense layers merged, so `MLPBlock([64, 32])` and `MLPBlock([64]).connect(MLPBlock([32]))` read the
same), `cross` (one CrossBlock: its depth and rank), `dot`, `hashed_cross`, `filter`, `parallel` (named branches and
an aggregation), `shortcut`, `residual`, `agg`, `task`, `other`. The checks compare these with what an exercise asks;
`describe` prints them for messages ("expected …, got …"). Only public attributes of Merlin Models' blocks are read.
Embedding tables are named by the features they embed (not their keys); a task's `pre` block is read as steps
before the task; `dot` records the axis its vectors were stacked on (1: between features). Parallel and shortcut
steps keep their block objects (`block`, `blocks`) so that a check can run a part on the batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SKIP = {"Debug", "NoOp", "PrepareFeatures", "PrepareListFeatures", "ModelContext", "Dropout", "Activation"}
AGGREGATIONS = {"ConcatFeatures": "concat", "StackFeatures": "stack", "SumResidual": "sum", "ElementwiseSum": "sum"}


@dataclass
class Step:
    """One step of a model: its kind and what identifies it (widths, features, depth, branches…)."""

    kind: str
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.info.get(key)


def _agg(block) -> str | None:
    agg = getattr(block, "aggregation", None)
    return None if agg is None else AGGREGATIONS.get(type(agg).__name__, type(agg).__name__)


def _branches(block) -> dict[str, Any]:
    layers = block.parallel_layers
    return dict(layers.items()) if hasattr(layers, "items") else {str(i): b for i, b in enumerate(layers)}


def _parallel(block) -> list[Step]:
    branches = _branches(block)
    if branches and all(type(b).__name__ == "EmbeddingTable" for b in branches.values()):
        step = _tables(list(branches.values()))
        step.info["keys"] = tuple(sorted(branches))
        return [*_pre(block), step, *_post(block)]
    kind = {"WithShortcut": "shortcut", "ResidualBlock": "residual"}.get(type(block).__name__, "parallel")
    paths = {name: steps(b) for name, b in branches.items()}
    if kind == "parallel":
        return [*_pre(block), Step("parallel", {"branches": paths, "agg": _agg(block), "block": block,
                                                "blocks": branches}), *_post(block)]
    keep = paths.pop("shortcut", [])
    main = next(iter(paths.values()), [])
    return [*_pre(block), Step(kind, {"main": main, "keep": keep, "agg": _agg(block), "block": block}), *_post(block)]


def _tables(tables: list) -> Step:
    """Embedding tables, named by the features they embed (not by the keys they are filed under)."""
    features = {name for t in tables for name in (getattr(t, "features", None) or {t.col_schema.name: None})}
    return Step("embeddings", {"features": tuple(sorted(features)), "dims": tuple(sorted({int(t.dim) for t in tables})),
                               "trainable": all(t.trainable for t in tables)})


def _pre(block) -> list[Step]:
    pre = getattr(block, "pre", None)
    return steps(pre) if pre is not None else []


def _post(block) -> list[Step]:
    post = getattr(block, "post", None)
    return steps(post) if post is not None else []


def _sequential(block) -> list[Step]:
    out: list[Step] = []
    crosses = [layer for layer in block.layers if type(layer).__name__ == "Cross"]
    for layer in block.layers:
        if layer is not (crosses[0] if crosses else None):
            out.extend([] if type(layer).__name__ == "Cross" else steps(layer))
            continue
        ranks = {getattr(c.dense, "low_rank_dim", None) for c in crosses}  # one CrossBlock is one step
        out.append(Step("cross", {"depth": len(crosses), "rank": ranks.pop() if len(ranks) == 1 else sorted(ranks),
                                  "bias": all(getattr(c.dense, "use_bias", True) for c in crosses)}))
    return out


def _leaf(layer) -> list[Step]:
    name = type(layer).__name__
    if name in ("_Dense", "Dense"):
        return [Step("mlp", {"widths": [int(layer.units)]})]
    if name == "ContinuousFeatures":
        return [Step("continuous", {"features": tuple(sorted(layer.schema.column_names))})]
    if name == "Filter":
        names = layer.feature_names
        return [Step("filter", {"names": tuple(names) if isinstance(names, (list, tuple)) else names,
                                "exclude": bool(layer.exclude)})]
    if name == "HashedCross":
        return [Step("hashed_cross", {"features": tuple(sorted(layer.schema.column_names)),
                                      "bins": int(layer.num_bins), "mode": layer.output_mode})]
    if name == "DotProductInteraction":
        return [Step("dot")]
    if name in AGGREGATIONS:
        return [Step("agg", {"agg": AGGREGATIONS[name], "axis": getattr(layer, "axis", None)})]
    if name == "EmbeddingTable":
        return [_tables([layer])]
    if "Task" in name or name.endswith("Output"):  # a task's `pre` block runs before it: a top MLP given as pre=
        target = getattr(layer, "target_name", None) or getattr(layer, "target", None)
        return [*_pre(layer), Step("task", {"type": name, "target": target})]
    return [Step("other", {"type": name})]


def _is_model(layer) -> bool:
    return any(c.__name__ == "Model" and c.__module__.startswith("merlin.") for c in type(layer).__mro__)


def steps(layer) -> list[Step]:
    """The steps a block or model runs, in order (see the module docstring)."""
    name = type(layer).__name__
    if name in SKIP:
        return []
    if _is_model(layer):
        raw = [s for b in layer.blocks for s in steps(b)]
    elif hasattr(layer, "parallel_layers"):
        raw = _parallel(layer)
    elif name == "SequentialBlock":
        raw = _sequential(layer)
    elif name == "TabularBlock":
        agg = _agg(layer)
        raw = [*_pre(layer), *([Step("agg", {"agg": agg})] if agg else []), *_post(layer)]
    else:
        raw = _leaf(layer)
    return _tidy(raw)


def _tidy(raw: list[Step]) -> list[Step]:
    """Merge consecutive Dense layers into one MLP, `stack → dot` into `dot`, `parallel → concat` into the parallel
    (a second concat of one tensor, as `CrossBlock(inputs=…)` adds, changes nothing)."""
    out: list[Step] = []
    for step in raw:
        last = out[-1] if out else None
        if last is not None and step.kind == last.kind == "mlp":
            last.info["widths"] = [*last["widths"], *step["widths"]]
        elif last is not None and step.kind == "dot" and last.kind == "agg" and last["agg"] == "stack":
            out[-1] = Step("dot", {"axis": last["axis"]})  # axis 1: between features; -1: between coordinates
        elif last is not None and step.kind == "agg" and last.kind == "parallel" and last["agg"] in (None, step["agg"]):
            last.info["agg"] = step["agg"]
        else:
            out.append(step)
    return out


def find(path: list[Step], kind: str) -> list[Step]:
    """Every step of `kind` in a path, inside branches too (depth first, in order)."""
    found: list[Step] = []
    for step in path:
        if step.kind == kind:
            found.append(step)
        for sub in _children(step):
            found.extend(find(sub, kind))
    return found


def _children(step: Step) -> list[list[Step]]:
    if step.kind == "parallel":
        return list(step["branches"].values())
    if step.kind in ("shortcut", "residual"):
        return [step["main"], step["keep"]]
    return []


def describe(path: list[Step]) -> str:
    """A path in one line: `ContinuousFeatures(price, relative_price) → MLP[32] → residual(MLP[32])`."""
    return " → ".join(_word(s) for s in path) or "nothing"


def _word(step: Step) -> str:
    k = step.kind
    if k == "embeddings":
        return f"Embeddings({len(step['features'])} features, dim {'/'.join(map(str, step['dims']))})"
    if k == "continuous":
        return f"ContinuousFeatures({', '.join(step['features'])})"
    if k == "mlp":
        return f"MLP{step['widths']}"
    if k == "cross":
        return f"CrossBlock(depth {step['depth']}{', low rank ' + str(step['rank']) if step['rank'] else ''})"
    if k == "hashed_cross":
        return f"HashedCross({' × '.join(step['features'])}, {step['bins']} bins)"
    if k == "filter":
        return f"Filter({step['names']})"
    if k == "dot":
        return "dot products" + (f" (stacked on axis {step['axis']})" if step["axis"] not in (None, 1) else "")
    if k == "parallel":
        inner = "; ".join(f"{n}: {describe(p)}" for n, p in step["branches"].items())
        return f"ParallelBlock{{{inner}}}" + (f" ({step['agg']})" if step["agg"] else "")
    if k in ("shortcut", "residual"):
        return f"{k}({describe(step['main'])} | kept: {describe(step['keep']) if step['keep'] else 'input'}, {step['agg']})"
    if k == "agg":
        return f"({step['agg']})"
    if k == "task":
        return f"{step['type']}({step['target']!r})"
    return str(step["type"])
