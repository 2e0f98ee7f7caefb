"""Everything the checks read from Merlin Models' internals: no other module of `exercises/` imports merlin.

A model's anatomy: `steps(model)` walks its block tree in the order the blocks run and returns `Step`s:
`embeddings`, `continuous`, `mlp` (consecutive Dense layers merged, so `MLPBlock([64, 32])` and
`MLPBlock([64]).connect(MLPBlock([32]))` read the same), `cross` (one CrossBlock: its depth and rank, read from
`Cross.dense.low_rank_dim`), `dot`, `hashed_cross`, `filter`, `parallel` (named branches and an aggregation),
`shortcut`, `residual`, `agg`, `task`, `other`; `describe` prints them for messages ("expected …, got …").
Embedding tables are named by the features they embed (not their keys); a task's `pre` block is read as steps
before the task; `dot` records the axis its vectors were stacked on (1: between features). Parallel and shortcut
steps keep their block objects (`block`, `blocks`) so that a check can run a part on the batch. Also here: the
schema's tags, `submodules` (which works around TF 2.12's `_compiled_trainable_state`), Merlin's ready-made
models and its own `Cross` layer. Written against CHECKED_WITH; another installed version warns once.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

CHECKED_AGAINST = "merlin-models==23.12.0"  # the release these readings of Merlin's internals were checked with
CHECKED_WITH = CHECKED_AGAINST.split("==")[1]
INSTALLED = version("merlin-models")
_WARNED: list[str] = []


def warn_if_other_version(installed: str = INSTALLED) -> None:
    """Warn (once per process, never fail) when the installed merlin-models is not the release checked against."""
    if installed != CHECKED_WITH and not _WARNED:
        _WARNED.append(installed)
        warnings.warn(f"the exercise checks read Merlin Models' block tree as merlin-models {CHECKED_WITH} builds it; "
                      f"{installed} is installed, so a check may misread a model", stacklevel=2)


warn_if_other_version()
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
    kind = {"WithShortcut": "shortcut", "ResidualBlock": "residual"}.get(type(block).__name__, "parallel")
    if branches and all(type(b).__name__ == "EmbeddingTable" for b in branches.values()):
        step = _tables(list(branches.values()))
        step.info["keys"] = tuple(sorted(branches))
    elif kind == "parallel":
        paths = {name: steps(b) for name, b in branches.items()}
        step = Step("parallel", {"branches": paths, "agg": _agg(block), "block": block, "blocks": branches})
    else:
        paths = {name: steps(b) for name, b in branches.items()}
        keep = paths.pop("shortcut", [])
        step = Step(kind, {"main": next(iter(paths.values()), []), "keep": keep, "agg": _agg(block), "block": block})
    return [*_pre(block), step, *_pre(block, "post")]


def _tables(tables: list) -> Step:
    """Embedding tables, named by the features they embed (not by the keys they are filed under)."""
    features = {name for t in tables for name in (getattr(t, "features", None) or {t.col_schema.name: None})}
    return Step("embeddings", {"features": tuple(sorted(features)), "dims": tuple(sorted({int(t.dim) for t in tables})),
                               "trainable": all(t.trainable for t in tables)})


def _pre(block, where: str = "pre") -> list[Step]:
    """The steps of a block's `pre` (or `post`) block."""
    inner = getattr(block, where, None)
    return steps(inner) if inner is not None else []


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


def steps(layer) -> list[Step]:
    """The steps a block or model runs, in order (see the module docstring)."""
    name = type(layer).__name__
    if name in SKIP:
        return []
    if is_model(layer):
        raw = [s for b in layer.blocks for s in steps(b)]
    elif hasattr(layer, "parallel_layers"):
        raw = _parallel(layer)
    elif name == "SequentialBlock":
        raw = _sequential(layer)
    elif name == "TabularBlock":
        agg = _agg(layer)
        raw = [*_pre(layer), *([Step("agg", {"agg": agg})] if agg else []), *_pre(layer, "post")]
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


WORDS = {  # how `describe` names each kind of step
    "embeddings": lambda s: f"Embeddings({len(s['features'])} features, dim {'/'.join(map(str, s['dims']))})",
    "continuous": lambda s: f"ContinuousFeatures({', '.join(s['features'])})",
    "mlp": lambda s: f"MLP{s['widths']}",
    "cross": lambda s: f"CrossBlock(depth {s['depth']}{', low rank ' + str(s['rank']) if s['rank'] else ''})",
    "hashed_cross": lambda s: f"HashedCross({' × '.join(s['features'])}, {s['bins']} bins)",
    "filter": lambda s: f"Filter({s['names']})",
    "dot": lambda s: "dot products" + (f" (stacked on axis {s['axis']})" if s["axis"] not in (None, 1) else ""),
    "parallel": lambda s: "ParallelBlock{" + "; ".join(f"{n}: {describe(p)}" for n, p in s["branches"].items()) + "}"
                          + (f" ({s['agg']})" if s["agg"] else ""),
    "shortcut": lambda s: f"{s.kind}({describe(s['main'])} | kept: {describe(s['keep']) if s['keep'] else 'input'}, "
                          f"{s['agg']})",
    "agg": lambda s: f"({s['agg']})",
    "task": lambda s: f"{s['type']}({s['target']!r})",
}
WORDS["residual"] = WORDS["shortcut"]


def _word(step: Step) -> str:
    return WORDS[step.kind](step) if step.kind in WORDS else str(step["type"])


# ---- the schema, the model class, submodules, Merlin's ready-made models and its own Cross layer -------------------
READY_MADE = {"Debug": "mm.DLRMModel (or mm.DLRMBlock)", "Continuous": "mm.DCNModel (or mm.InputBlockV2)",
              "EmbeddingFeatures": "mm.Model.from_block, which puts Merlin's own input block (one concatenated tensor) "
                                   "in front of your blocks, so they never see the features"}
MERLIN_CROSS = {"Cross", "DenseMaybeLowRank", "SequentialBlock"}  # what mm.CrossBlock is made of
WEIGHTED = ("Dense", "EmbeddingTable", "Cross", "DenseMaybeLowRank", "BatchNormalization", "Task", "Output")


def tagged(schema, tag: str) -> tuple[str, ...]:
    """The schema's columns carrying `tag` ("CATEGORICAL", "CONTINUOUS", "ITEM"…), in schema order."""
    from merlin.schema import Tags

    return tuple(schema.select_by_tag(getattr(Tags, tag)).column_names)


def features(schema) -> set[str]:
    """Every column of the schema but the target: what a model given `schema=schema` reads."""
    from merlin.schema import Tags

    return set() if schema is None else set(schema.excluding_by_tag(Tags.TARGET).column_names)


def cardinalities(schema) -> dict[str, int]:
    """Rows of each categorical column's embedding table (`int_domain.max + 1`)."""
    from merlin.schema import Tags

    return {c.name: int(c.int_domain.max) + 1 for c in schema.select_by_tag(Tags.CATEGORICAL)}


def is_model(value) -> bool:
    """Whether `value` is a Merlin model (`mm.Model`), not a block."""
    import merlin.models.tf as mm

    return isinstance(value, mm.Model)


def submodules(module) -> list:
    """Every tf.Module nested in `module`, as `module.submodules` lists them. That property fails on a model that
    has been compiled and trained (TF 2.12 cannot walk its `_compiled_trainable_state`), so a learner re-running a
    check after training would be told an error: then the attributes are walked here, skipping weak references."""
    try:
        return list(module.submodules)
    except (ValueError, TypeError):
        return walk_submodules(module)


def walk_submodules(module) -> list:
    """`module.submodules` by walking the attributes, inside lists, tuples and dicts too (weak references skipped)."""
    import weakref
    from collections.abc import Mapping

    import tensorflow as tf

    found, seen, todo = [], {id(module)}, list(vars(module).values())
    while todo:
        value = todo.pop()
        if isinstance(value, (weakref.WeakKeyDictionary, weakref.WeakValueDictionary, weakref.ref)):
            continue
        if isinstance(value, tf.Module):
            if id(value) not in seen:
                seen.add(id(value))
                found.append(value)
                todo.extend(vars(value).values())
        elif isinstance(value, Mapping):
            todo.extend(value.values())
        elif isinstance(value, (list, tuple)):
            todo.extend(value)
    return found


def ready_made(model) -> str | None:
    """Which of Merlin's ready-made models (or input blocks) `model` is built with, or None."""
    types = {type(layer).__name__ for layer in submodules(model)}
    return next((what for marker, what in READY_MADE.items() if marker in types), None)


def layers(value) -> list:
    """The Keras layers inside a block or model (itself included), built or not."""
    import tensorflow as tf

    if not isinstance(value, tf.Module):
        return []
    return [value, *(m for m in submodules(value) if isinstance(m, tf.keras.layers.Layer))]


def holds_weights(layer) -> bool:
    """Whether a layer has (or will have, once built) weights of its own or in its sublayers: sharing a stateless
    block such as `DotProductInteractionBlock()` or a Filter changes nothing."""
    return any(any(w in type(m).__name__ for w in WEIGHTED) for m in [layer, *submodules(layer)])


def block_name(layer) -> str:
    """A layer's class name, `MLPBlock` for a SequentialBlock of Dense layers only."""
    inner = getattr(layer, "layers", None)
    if type(layer).__name__ == "SequentialBlock" and inner and all("Dense" in type(x).__name__ for x in inner):
        return "MLPBlock"
    return type(layer).__name__


CALLS = {"Task": "mm.BinaryClassificationTask(\"target\")", "MLPBlock": "mm.MLPBlock([...])", "_Dense": "mm.MLPBlock([...])",
         "Cross": "mm.CrossBlock(...)", "Embedding": "mm.Embeddings(...)"}  # by (part of) a block's class name


def calls_to_rebuild(blocks: list) -> list[str]:
    """The `mm.` calls that build fresh copies of these blocks."""
    return sorted({call for m in blocks for key, call in CALLS.items() if key in block_name(m)})


def holds_merlin_cross(layer) -> bool:
    """Whether a layer is, subclasses or holds Merlin's own cross layer."""
    inside = {type(m).__name__ for m in [layer, *submodules(layer)]}
    return bool(MERLIN_CROSS & (inside | {c.__name__ for c in type(layer).__mro__}))


def merlin_cross(width: int, kernel, bias):
    """Merlin's own cross layer (the one inside `mm.CrossBlock(1)`), built at `width` with these weights."""
    import tensorflow as tf
    from merlin.models.tf.blocks.cross import Cross

    ref = Cross()
    ref(tf.zeros((1, width)))
    ref.set_weights([kernel, bias])
    return ref


def activations(model) -> tuple[list, list]:
    """What a built model computes beyond its shapes: the hidden Dense layers (units > 1) as sorted (units,
    activation) pairs, leaving out the linear maps inside Merlin's own cross layers (a layer of the learner's own
    has none, and their parameters are counted anyway); and the activations that end the model and every other
    nonlinearity added as a layer: Keras `Activation` layers and non-linear one-unit Dense layers (a task ends in
    Dense(1) + Activation("sigmoid"), `mm.BinaryOutput` in Dense(1, sigmoid))."""
    import tensorflow as tf

    inside_cross = {id(m) for c in submodules(model) if type(c).__name__ == "Cross" for m in submodules(c)}
    hidden, ends = [], []
    for m in [model, *submodules(model)]:
        name = getattr(getattr(m, "activation", None), "__name__", None)
        if isinstance(m, tf.keras.layers.Dense) and id(m) not in inside_cross:
            if m.units > 1:
                hidden.append((int(m.units), name))
            elif name != "linear":
                ends.append(name)
        elif isinstance(m, tf.keras.layers.Activation):
            ends.append(name)
    return sorted(hidden), sorted(ends)
