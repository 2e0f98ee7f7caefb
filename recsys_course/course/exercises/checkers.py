"""Generic checks the exercises declare; each raises Incorrect with its message (expected vs got).

Values: `number` (a real number, whole when asked), `value` (within a tolerance of the truth, each known wrong
value told by name), `on_cases` (a learner's function run on declared cases), `measurement` (a lab's `runs`).
Models: `model` (an mm.Model built from blocks, with one binary task on the label, reading every feature, one
probability per row, no block shared with an earlier answer) and named structural rules over its anatomy
(`merlin_adapter.steps`): DLRM's inputs and interaction, the top MLP. They accept every way of writing the same
architecture (branch names, `connect` chains or `mm.Model(a, b, c)`, aggregation spelled as a string or a class,
MLPs split or merged) and name the first difference they find.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from recsys_course.course.exercises import merlin_adapter as adapter
from recsys_course.course.exercises.core import Earlier, Incorrect
from recsys_course.course.exercises.merlin_adapter import Step, describe, find, steps
from recsys_course.data.formats import CONTINUOUS, TARGET

SCHEMA_TRAP = ("the model reads only {found}: without `schema=schema`, Merlin Models " + adapter.INSTALLED
               + " takes its inputs from the input blocks it can see and silently drops every categorical feature. "
               "Pass `schema=schema` to mm.Model.")


@dataclass(frozen=True)
class InputsSpec:
    """DLRM/DCN inputs: embeddings of `categorical` at `dim`, a bottom MLP `bottom` over `continuous`."""

    categorical: tuple[str, ...]
    continuous: tuple[str, ...]
    dim: int
    bottom: tuple[int, ...]
    concat: bool


def block(value: Any, name: str) -> list[Step]:
    """A Merlin block (anything with `connect` that can be called): its anatomy."""
    if not hasattr(value, "connect") or not callable(value):
        raise Incorrect(f"`{name}` should be a Merlin block, got {type(value).__name__}.")
    return steps(value)


def require_model(value: Any, name: str) -> None:
    if not adapter.is_model(value):
        raise Incorrect(f"`{name}` should be an `mm.Model(...)`, got {type(value).__name__}"
                        + (" (a block: wrap it as `mm.Model(block, task, schema=schema)`)." if hasattr(value, "connect") else "."))


def not_ready_made(model, name: str, exercise_asks: str) -> None:
    """A model asked to be built from blocks must not be one of Merlin's ready-made models."""
    what = adapter.ready_made(model)
    if what is not None:
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
    found = adapter.features(getattr(model, "schema", None))
    if found == expected:
        return
    missing = expected - found
    if not found or missing.isdisjoint(CONTINUOUS):  # the trap keeps the continuous features only
        raise Incorrect(SCHEMA_TRAP.format(found=sorted(found)))
    raise Incorrect(f"the model reads only {sorted(found)} (missing: {sorted(expected - found)}): pass the whole "
                    "`schema=schema` to mm.Model, not a selection of it, so every feature reaches the model.")


def output_shape(block, batch):
    """What a block or model outputs on the batch: a shape, or a dict of shapes."""
    out = block(batch)
    return {k: tuple(v.shape) for k, v in out.items()} if isinstance(out, dict) else tuple(out.shape)


def require_output(model, batch, name: str) -> None:
    got = output_shape(model, batch)
    rows = len(next(iter(batch.values())))
    if got != (rows, 1):
        raise Incorrect(f"`{name}` outputs {got} on a {rows}-row batch; expected ({rows}, 1): one probability per row.")


def fresh_blocks(model, name: str, earlier: list[Earlier]) -> None:
    """The model must not reuse a block of an earlier answer: the same block objects (built or not) or variables.

    `earlier` (Lab.earlier_answers): a value still in the notebook under an earlier name may be a new
    block the learner put *whole* into this model (`interaction = …` again), which shares nothing with an earlier
    model (whole_ok); an answer a check saw is never allowed inside the new model.
    """
    mine = {id(m): m for m in adapter.layers(model)}
    own_vars = {v.ref() for v in _variables(model)}
    for other in earlier:
        if other.whole_ok and id(other.value) in mine:
            continue
        shared = [m for m in adapter.layers(other.value) if id(m) in mine and adapter.holds_weights(m)]
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


def _outermost(shared: list) -> list:
    """The shared layers that are not inside another shared layer (what the learner actually reused)."""
    inner = {id(s) for m in shared for s in adapter.submodules(m)}
    return [m for m in shared if id(m) not in inner]


def _reused(shared: list, variables: list) -> str:
    if not shared:
        return f"{len(variables)} weight variables"
    names = sorted({adapter.block_name(m) for m in _outermost(shared)})
    return f"the block{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _calls(shared: list) -> str:
    return ", ".join(adapter.calls_to_rebuild(_outermost(shared))) or "mm.Embeddings(...), mm.MLPBlock(...) and mm.ParallelBlock(...)"


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


def inputs_spec(schema, dim: int, bottom: tuple[int, ...], concat: bool) -> InputsSpec:
    """The DLRM/DCN inputs an exercise asks for, read from the lab's schema."""
    return InputsSpec(adapter.tagged(schema, "CATEGORICAL"), adapter.tagged(schema, "CONTINUOUS"), dim, bottom, concat)


def model(value, name: str, ctx: dict, asks: str, rules: Sequence[Callable] = (), earlier: list[Earlier] | None = None,
          after: Sequence[Callable] = (), reference: Callable[[], Any] | None = None) -> list[Step]:
    """A model exercise: an mm.Model built from blocks (not ready-made), one binary task on the label, every feature
    of the lab's schema, each structural rule on its anatomy, no block shared with an `earlier` answer, one
    probability per row of the lab's batch, then each `after` rule (what runs parts of the model on the batch), and
    `as_asked` against `reference()` (the model asked for, made by recsys_course.modeling.builders).
    Returns the anatomy."""
    require_model(value, name)
    not_ready_made(value, name, asks)
    path = steps(value)
    require_task(path)
    require_features(value, adapter.features(ctx["schema"]))
    for rule in rules:
        rule(path)
    if earlier is not None:
        fresh_blocks(value, name, earlier)
    require_output(value, ctx["batch"], name)
    for rule in after:
        rule(path)
    if reference is not None:
        as_asked(value, reference(), ctx["batch"], name)
    return path


def as_asked(model, reference, batch, name: str) -> None:
    """`model` (built on `batch`) against `reference`, the architecture the exercise asks for, built on the same
    schema and batch by the bench's own builders: the same parameter count, all of it trainable as there, no weight
    matrix that starts at zero, the same activations (a last net under the structural rules, which read widths)."""
    output_shape(reference, batch)
    mine, asked = model.count_params(), reference.count_params()
    if mine != asked:
        more = "more" if mine > asked else "fewer"
        raise Incorrect(f"`{name}` has {mine:,} parameters, {abs(mine - asked):,} {more} than the model this exercise "
                        f"asks for ({asked:,}): a width, an embedding dimension, a number of bins, a bias or a block differs "
                        "from what the exercise asks.")
    frozen = _count(model.non_trainable_weights) - _count(reference.non_trainable_weights)
    if frozen > 0:
        raise Incorrect(f"{frozen:,} of `{name}`'s parameters are frozen (`trainable=False`): training would never "
                        "change them. Leave every block trainable.")
    zeros = [w.name.split("/")[-1].split(":")[0] for w in model.trainable_weights
             if len(w.shape) >= 2 and not w.numpy().any()]
    if zeros:
        raise Incorrect(f"`{name}` starts with {len(zeros)} weight matrices of zeros ({', '.join(sorted(set(zeros)))}): "
                        "their gradients are zero too, or every row starts the same. Leave the initializers at their "
                        "defaults.")
    _same_activations(adapter.activations(model), adapter.activations(reference), name)


def _count(weights) -> int:
    return sum(int(math.prod(w.shape)) for w in weights)


def _same_activations(mine, asked, name: str) -> None:
    (hidden, ends), (hidden_asked, ends_asked) = mine, asked
    if hidden != hidden_asked:
        odd = sorted(set(hidden) - set(hidden_asked))
        raise Incorrect(f"`{name}`'s hidden layers compute {_acts(odd or hidden)}; the exercise asks for the MLPs as "
                        f"`mm.MLPBlock([...])` builds them ({_acts(hidden_asked)}): ReLU on every layer, the last one "
                        "included (a linear layer before the output folds into it).")
    if ends != ends_asked:
        raise Incorrect(f"`{name}` applies {', '.join(ends) or 'no'} activation(s) as layers or outputs; the model asked "
                        f"for has {', '.join(ends_asked)} only, the task's own: add no Activation layer of your own.")


def _acts(pairs) -> str:
    return ", ".join(f"{units} units {act}" for units, act in pairs)


def number(value: Any, name: str, whole: bool = False) -> float:
    """A real number (a whole one when `whole`), else Incorrect naming what was given."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Incorrect(f"`{name}` should be a number, got {type(value).__name__}"
                        + (" (take the single number out of it, e.g. `.item()` or `float(...)`)." if hasattr(value, "shape") else "."))
    if value != value:
        raise Incorrect(f"`{name}` is NaN: the computation did not find any value.")
    if value in (float("inf"), float("-inf")):
        raise Incorrect(f"`{name}` is infinite ({value}): a count or a share is a finite number.")
    if whole and float(value) != int(value):
        raise Incorrect(f"`{name}` = {value} is not a whole number: parameters are counted one by one.")
    return float(value)


def value(given: Any, name: str, truth: float, known: dict[float, str] | Sequence[tuple[float, str]], otherwise: str,
          tolerance: float = 0.0, whole: bool = False) -> float:
    """A number within `tolerance` of `truth`; a known wrong value (the first that matches, in order) gets its own
    message, any other `otherwise` (formatted with `got`)."""
    got = number(given, name, whole)
    if abs(got - truth) <= tolerance:
        return got
    for wrong, message in (known.items() if isinstance(known, dict) else known):
        if math.isfinite(wrong) and abs(got - wrong) <= tolerance:
            raise Incorrect(message)
    raise Incorrect(otherwise.format(got=got))


def on_cases(fn: Callable, cases: dict) -> dict:
    """A function run on declared cases: {case: fn(*arguments)}."""
    return {case: fn(*arguments) for case, arguments in cases.items()}


def measurement(runs, names: Sequence[str], missing: str, producer: str, holds: str) -> dict:
    """A lab's `runs` (the FitResults its measurement cell made), one per name in `names`, each with an AUC:
    {name: result}; else Incorrect saying what to do."""
    from recsys_course.modeling.training import FitResult

    if runs is None:
        raise Incorrect(f"no measurement found: {missing}")
    if not isinstance(runs, list) or not all(isinstance(r, FitResult) for r in runs):
        raise Incorrect(f"`runs` should be the list of results {producer}, got {type(runs).__name__}"
                        + ("" if not isinstance(runs, list) else " with other things in it") + ": run the measurement "
                        "cell again.")
    if sorted(r.name for r in runs) != sorted(names):
        raise Incorrect(f"`runs` should hold {holds}; it holds {[r.name for r in runs]}: run the measurement cell again.")
    failed = [r.name for r in runs if not isinstance(r.auc, (int, float)) or math.isnan(r.auc)]
    if failed:
        raise Incorrect(f"{', '.join(failed)} has no AUC (NaN): its training failed. Run the measurement cell again.")
    return {r.name: r for r in runs}
