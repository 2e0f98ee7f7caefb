"""What the model exercises ask, as reusable rules over a model's anatomy; each rule raises Incorrect with its message.

Rules read the model's own structure (`anatomy.steps`) and its behaviour on a 5-row batch; they accept every way
of writing the same architecture (branch names, `connect` chains or `mm.Model(a, b, c)`, aggregation spelled as a
string or a class, MLPs split or merged) and name the first difference they find: expected vs got.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Sequence

from recsys_course.course.exercises.anatomy import Step, describe, find, steps
from recsys_course.course.exercises.core import Earlier, Incorrect
from recsys_course.data.formats import CONTINUOUS, TARGET

SCHEMA_TRAP = ("the model reads only {found}: without `schema=schema`, Merlin Models " + version("merlin-models")
               + " takes its inputs from the input blocks it can see and silently drops every categorical feature. "
               "Pass `schema=schema` to mm.Model.")
READY_MADE = {"Debug": "mm.DLRMModel (or mm.DLRMBlock)", "Continuous": "mm.DCNModel (or mm.InputBlockV2)",
              "EmbeddingFeatures": "mm.Model.from_block, which puts Merlin's own input block (one concatenated tensor) "
                                   "in front of your blocks, so they never see the features"}


@dataclass(frozen=True)
class InputsSpec:
    """DLRM/DCN inputs: embeddings of `categorical` at `dim`, a bottom MLP `bottom` over `continuous`."""

    categorical: tuple[str, ...]
    continuous: tuple[str, ...]
    dim: int
    bottom: tuple[int, ...]
    concat: bool


def require_model(value: Any, name: str) -> None:
    import merlin.models.tf as mm

    if not isinstance(value, mm.Model):
        raise Incorrect(f"`{name}` should be an `mm.Model(...)`, got {type(value).__name__}"
                        + (" (a block: wrap it as `mm.Model(block, task, schema=schema)`)." if hasattr(value, "connect") else "."))


def submodules(module) -> list:
    """Every tf.Module nested in `module`, as `module.submodules` lists them. That property fails on a model that
    has been compiled and trained (TF 2.12 cannot walk its `_compiled_trainable_state`), so a learner re-running a
    check after training would be told an error: then the attributes are walked here, skipping weak references."""
    try:
        return list(module.submodules)
    except (ValueError, TypeError):
        return walk_submodules(module)


def walk_submodules(module) -> list:
    """`module.submodules` by walking the attributes (weak references skipped)."""
    import tensorflow as tf

    found: list = []
    seen, stack = {id(module)}, [module]
    while stack:
        for child in _child_modules(stack.pop(), tf.Module):
            if id(child) not in seen:
                seen.add(id(child))
                found.append(child)
                stack.append(child)
    return found


def _child_modules(obj, module_type) -> list:
    """The tf.Modules directly in `obj`'s attributes (inside lists, tuples and dicts too)."""
    import weakref
    from collections.abc import Mapping

    out, todo = [], list(vars(obj).values())
    while todo:
        value = todo.pop()
        if isinstance(value, (weakref.WeakKeyDictionary, weakref.WeakValueDictionary, weakref.ref)):
            continue
        if isinstance(value, module_type):
            out.append(value)
        elif isinstance(value, Mapping):
            todo.extend(value.values())
        elif isinstance(value, (list, tuple)):
            todo.extend(value)
    return out


def not_ready_made(model, name: str, exercise_asks: str) -> None:
    """A model asked to be built from blocks must not be one of Merlin's ready-made models."""
    types = {type(layer).__name__ for layer in submodules(model)}
    for marker, what in READY_MADE.items():
        if marker in types:
            raise Incorrect(f"`{name}` is built with {what}; this exercise asks you to build it from blocks: "
                            f"{exercise_asks}.")


def require_task(path: list[Step]) -> None:
    """One binary classification task (or BinaryOutput) on the label column."""
    tasks = find(path, "task")
    if len(tasks) != 1:
        raise Incorrect(f"expected one prediction task, got {len(tasks)}: use `mm.BinaryClassificationTask(\"{TARGET}\")`.")
    kind, target = tasks[0]["type"], tasks[0]["target"]
    if kind not in ("BinaryClassificationTask", "BinaryOutput"):
        raise Incorrect(f"the task is {kind}: a purchase is yes or no, so the model predicts a probability with "
                        f"`mm.BinaryClassificationTask(\"{TARGET}\")` (expected BinaryClassificationTask, got {kind}).")
    if target != TARGET:
        raise Incorrect(f"the task's target is {target!r}, but the label column is {TARGET!r}: Merlin finds no such "
                        f"column and trains without a label. Use `mm.BinaryClassificationTask(\"{TARGET}\")`.")


def require_features(model, expected: set[str]) -> None:
    """The model's schema holds every feature: the schema trap (only the continuous ones) gets its own message."""
    from merlin.schema import Tags

    found = set() if getattr(model, "schema", None) is None else set(
        model.schema.excluding_by_tag(Tags.TARGET).column_names)
    if found == expected:
        return
    missing = expected - found
    if not found or missing.isdisjoint(CONTINUOUS):  # the trap keeps the continuous features only
        raise Incorrect(SCHEMA_TRAP.format(found=sorted(found)))
    raise Incorrect(f"the model reads only {sorted(found)} (missing: {sorted(expected - found)}): pass the whole "
                    "`schema=schema` to mm.Model, not a selection of it, so every feature reaches the model.")


def require_output(model, batch, name: str) -> None:
    out = model(batch)
    got = {k: tuple(v.shape) for k, v in out.items()} if isinstance(out, dict) else tuple(out.shape)
    rows = len(next(iter(batch.values())))
    if got != (rows, 1):
        raise Incorrect(f"`{name}` outputs {got} on a {rows}-row batch; expected ({rows}, 1): one probability per row.")


def fresh_blocks(model, name: str, earlier: list[Earlier]) -> None:
    """The model must not reuse a block of an earlier answer: the same block objects (built or not) or variables.

    `earlier` (Lab.earlier_answers): a value still in the notebook under an earlier name may be a new
    block the learner put *whole* into this model (`interaction = …` again), which shares nothing with an earlier
    model (whole_ok); an answer a check saw is never allowed inside the new model.
    """
    mine = {id(m): m for m in _modules(model)}
    own_vars = {v.ref() for v in _variables(model)}
    for other in earlier:
        if other.whole_ok and id(other.value) in mine:
            continue
        shared = [m for m in _modules(other.value) if id(m) in mine and _holds_weights(m)]
        shared_vars = [v for v in _variables(other.value) if v.ref() in own_vars]
        if shared or shared_vars:
            what = f"`{other.name}` itself" if id(other.value) in mine else f"{_reused(shared, shared_vars)} of `{other.name}`"
            raise Incorrect(f"`{name}` reuses {what} ({other.label}): the very same "
                            "objects, so the two models share their weights, training one changes the other and the "
                            f"comparison is contaminated. Build fresh blocks in this cell: call {_calls(shared)} again "
                            "(or write a small function that returns new blocks and call it once per model).")


def _variables(value) -> list:
    """The weight variables a block or model has so far (none before it is built)."""
    try:
        return list(getattr(value, "variables", []))
    except ValueError:  # an unbuilt Keras model refuses to list its weights
        return []


def _modules(value) -> list:
    """The Keras layers inside a block or model (itself included), built or not."""
    import tensorflow as tf

    if not isinstance(value, tf.Module):
        return []
    return [value, *(m for m in submodules(value) if isinstance(m, tf.keras.layers.Layer))]


WEIGHTED = ("Dense", "EmbeddingTable", "Cross", "DenseMaybeLowRank", "BatchNormalization", "Task", "Output")


def _holds_weights(layer) -> bool:
    """Whether a layer has (or will have, once built) weights of its own or in its sublayers: sharing a stateless
    block such as `DotProductInteractionBlock()` or a Filter changes nothing."""
    return any(any(w in type(m).__name__ for w in WEIGHTED) for m in [layer, *submodules(layer)])


def _outermost(shared: list) -> list:
    """The shared layers that are not inside another shared layer (what the learner actually reused)."""
    inner = {id(s) for m in shared for s in submodules(m)}
    return [m for m in shared if id(m) not in inner]


def _block_name(layer) -> str:
    """A layer's class name, `MLPBlock` for a SequentialBlock of Dense layers only."""
    inner = getattr(layer, "layers", None)
    if type(layer).__name__ == "SequentialBlock" and inner and all("Dense" in type(x).__name__ for x in inner):
        return "MLPBlock"
    return type(layer).__name__


def _reused(shared: list, variables: list) -> str:
    if not shared:
        return f"{len(variables)} weight variables"
    names = sorted({_block_name(m) for m in _outermost(shared)})
    return f"the block{'s' if len(names) > 1 else ''} {', '.join(names)}"


CALLS = {"Task": "mm.BinaryClassificationTask(\"target\")", "MLPBlock": "mm.MLPBlock([...])", "_Dense": "mm.MLPBlock([...])",
         "Cross": "mm.CrossBlock(...)", "Embedding": "mm.Embeddings(...)"}


def _calls(shared: list) -> str:
    found = {call for m in _outermost(shared) for key, call in CALLS.items() if key in _block_name(m)}
    return ", ".join(sorted(found)) or "mm.Embeddings(...), mm.MLPBlock(...) and mm.ParallelBlock(...)"


def _branch_with(step: Step, kind: str) -> tuple[str, list[Step]] | None:
    for name, path in step["branches"].items():
        if find(path, kind):
            return name, path
    return None


def check_inputs(step: Step | None, spec: InputsSpec) -> str:
    """The ParallelBlock of embeddings and bottom MLP; returns the bottom branch's name."""
    if step is None or step.kind != "parallel":
        raise Incorrect(f"expected a ParallelBlock of embeddings and a bottom MLP first, got "
                        f"{describe([step]) if step else 'nothing'}.")
    emb = _branch_with(step, "embeddings")
    if emb is None:
        raise Incorrect("the ParallelBlock has no embeddings branch: add `mm.Embeddings(schema.select_by_tag("
                        f"Tags.CATEGORICAL), dim={spec.dim})`.")
    table = find(emb[1], "embeddings")[0]
    if len(emb[1]) != 1:
        raise Incorrect(f"the embeddings branch continues with {describe([x for x in emb[1] if x is not table])}: keep "
                        "`mm.Embeddings(...)` alone in its branch; the interaction comes after the ParallelBlock, over "
                        "all the vectors (embeddings and the bottom MLP's) together.")
    if set(table["features"]) != set(spec.categorical):
        missing, extra = sorted(set(spec.categorical) - set(table["features"])), sorted(set(table["features"]) - set(spec.categorical))
        raise Incorrect(f"the embeddings cover {list(table['features'])}: expected all {len(spec.categorical)} "
                        f"categorical features (missing: {missing}, extra: {extra}).")
    if table["dims"] != (spec.dim,):
        raise Incorrect(f"the embeddings are {'/'.join(map(str, table['dims']))} wide; expected dim={spec.dim}.")
    bottom_name = _check_bottom(step, spec)
    if len(step["branches"]) != 2:
        raise Incorrect(f"expected two branches (embeddings, bottom MLP), got {list(step['branches'])}.")
    if spec.concat and step["agg"] != "concat":
        raise Incorrect(f"the inputs are not concatenated (aggregation: {step['agg']}): a CrossBlock needs one vector, "
                        "pass `aggregation=\"concat\"` to the ParallelBlock.")
    if not spec.concat and step["agg"] is not None:
        raise Incorrect(f"the inputs are aggregated ({step['agg']}): the dot products need each vector apart; "
                        "leave the ParallelBlock without aggregation.")
    return bottom_name


def _check_bottom(step: Step, spec: InputsSpec) -> str:
    found = _branch_with(step, "continuous")
    if found is None:
        raise Incorrect("there is no bottom MLP over the continuous features: add a branch "
                        f"`mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(mm.MLPBlock({list(spec.bottom)}))`.")
    name, path = found
    reads = path[0]["features"] if path[0].kind == "continuous" else ()
    if set(reads) != set(spec.continuous):
        raise Incorrect(f"the bottom MLP reads {list(reads)}; expected both continuous features {list(spec.continuous)} "
                        "(select them with `schema.select_by_tag(Tags.CONTINUOUS)`).")
    mlps = [s for s in path[1:] if s.kind == "mlp"]
    if not mlps:
        raise Incorrect(f"there is no bottom MLP: the continuous features go in raw. Connect them to "
                        f"`mm.MLPBlock({list(spec.bottom)})`.")
    widths = tuple(mlps[0]["widths"])
    if len(path) != 2 or widths != spec.bottom:
        raise Incorrect(f"bottom branch: expected ContinuousFeatures → MLP{list(spec.bottom)}, got {describe(path)}"
                        + (f" (its last width must equal the embedding dim {spec.dim})" if widths[-1] != spec.dim else "")
                        + ".")
    return name


def check_dot_shortcut(step: Step | None, bottom_name: str, keys: set[str]) -> None:
    """DLRM's interaction: dot products between the feature vectors, with the bottom MLP's vector kept beside them
    (concatenated). `keys` are the names of the inputs' outputs (one per embedded feature, and the bottom branch)."""
    if step is None:
        raise Incorrect("there is no interaction after the inputs: add `connect_with_shortcut(DotProductInteractionBlock(), "
                        f"shortcut_filter=mm.Filter(\"{bottom_name}\"), aggregation=\"concat\")`.")
    if step.kind == "dot":
        raise Incorrect("36 pairwise dot products, but the bottom MLP's own vector is missing: use "
                        f"`connect_with_shortcut(DotProductInteractionBlock(), shortcut_filter=mm.Filter(\"{bottom_name}\"), "
                        "aggregation=\"concat\")`.")
    if step.kind == "residual":
        raise Incorrect("a residual *adds* the input to the output; DLRM keeps the bottom MLP's vector *beside* the dot "
                        "products: `connect_with_shortcut(..., aggregation=\"concat\")`.")
    if step.kind != "shortcut" or [s.kind for s in step["main"]] != ["dot"]:
        raise Incorrect(f"expected the dot-product interaction with a shortcut, got {describe([step])}.")
    if step["main"][0]["axis"] not in (None, 1):
        raise Incorrect(f"the vectors are stacked on axis {step['main'][0]['axis']}, so the dot products are taken between "
                        "embedding *coordinates*, not between the feature vectors: use `DotProductInteractionBlock()` "
                        "(or `mm.StackFeatures(axis=1)` before `mm.DotProductInteraction()`).")
    _check_kept(step["keep"], bottom_name, keys)
    if step["agg"] != "concat":
        raise Incorrect(f"the shortcut's outputs are aggregated with {step['agg']}: pass `aggregation=\"concat\"` so the "
                        "bottom vector and the dot products make one tensor.")


def _check_kept(keep: list[Step], bottom_name: str, keys: set[str]) -> None:
    """The shortcut keeps exactly the bottom MLP's output (whichever way the Filter says it)."""
    use = f"Use `shortcut_filter=mm.Filter(\"{bottom_name}\")`."
    if not keep:
        raise Incorrect("without `shortcut_filter` the whole input dict is kept beside the dot products: pass "
                        f"`shortcut_filter=mm.Filter(\"{bottom_name}\")`.")
    if len(keep) != 1 or keep[0].kind != "filter":
        raise Incorrect(f"the shortcut keeps {describe(keep)}; it should keep the bottom MLP's output as it is. {use}")
    names = keep[0]["names"]
    names = {names} if isinstance(names, str) else set(names) if isinstance(names, (list, tuple, set)) else set()
    kept = {k for k in keys if (k in names) != keep[0]["exclude"]}
    if kept == {bottom_name}:
        return
    if not kept:
        raise Incorrect(f"`mm.Filter({sorted(names)!r})` keeps nothing useful: the shortcut must keep the bottom MLP's "
                        f"branch, named {bottom_name!r} in your ParallelBlock (the inputs' outputs: {sorted(keys)}). {use}")
    raise Incorrect(f"the shortcut keeps {sorted(kept)} beside the dot products; it should keep only the bottom MLP's "
                    f"vector, {bottom_name!r} (the embeddings already enter the dot products). {use}")


def check_interaction_output(inputs: Step, shortcut: Step, batch, spec: InputsSpec) -> int:
    """Run the interaction on the batch: the bottom vector plus one dot product per pair of feature vectors."""
    out = shortcut["block"](inputs["block"](batch))
    n = len(spec.categorical) + 1
    width = spec.dim + n * (n - 1) // 2
    rows = len(next(iter(batch.values())))
    got = tuple(out.shape) if hasattr(out, "shape") else {k: tuple(v.shape) for k, v in out.items()}
    if got != (rows, width):
        raise Incorrect(f"the interaction outputs {got} on the {rows}-row batch; expected ({rows}, {width}): the bottom "
                        f"MLP's {spec.dim} numbers beside the {n * (n - 1) // 2} dot products between the {n} feature vectors.")
    return width


def check_dlrm_interaction(path: list[Step], spec: InputsSpec, batch=None) -> int | None:
    """A path that is exactly DLRM's interaction: inputs, then dot products with the shortcut; with a batch, its
    output is checked too (returns its width)."""
    bottom_name = check_inputs(path[0] if path else None, spec)
    keys = set(spec.categorical) | {bottom_name}
    check_dot_shortcut(path[1] if len(path) > 1 else None, bottom_name, keys)
    if len(path) > 2:
        raise Incorrect(f"the DLRM part continues with {describe(path[2:])} after the dot products; it should end at "
                        "the interaction (the top MLP comes once, after everything is joined).")
    return None if batch is None else check_interaction_output(path[0], path[1], batch, spec)


def check_top(path: list[Step], index: int, top: Sequence[int], after: str) -> None:
    """A top MLP of widths `top` at path[index], right before the task."""
    step = path[index] if index < len(path) else None
    if step is None or step.kind != "mlp":
        raise Incorrect(f"there is no top MLP after {after}: connect it to `mm.MLPBlock({list(top)})` before the task "
                        f"(got: {describe(path[index:]) if step else 'nothing'}).")
    if step["widths"] != list(top):
        raise Incorrect(f"top MLP: expected MLP{list(top)}, got MLP{step['widths']}.")
    rest = [s for s in path[index + 1:] if s.kind != "task"]
    if rest:
        raise Incorrect(f"after the top MLP comes {describe(rest)}; expected only the task.")


def model_path(model, name: str, expected_features: set[str], exercise_asks: str) -> list[Step]:
    """The shared start of every model check: an mm.Model, built from blocks, a binary task on the label, all
    features. Returns its anatomy (call `require_output` after the structure is checked)."""
    require_model(model, name)
    not_ready_made(model, name, exercise_asks)
    path = steps(model)
    require_task(path)
    require_features(model, expected_features)
    return path
