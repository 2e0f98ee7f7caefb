"""Lab 06 — extend Merlin: your own cross layer, plugged into a model, saved and served.

Q1's check compares the learner's class with Merlin's own `Cross` layer (what `mm.CrossBlock(1)` holds) given the
same random weights, on several widths and on both call forms (a tensor; the stack's pair `(x0, x)`), and reads its
structure: no Merlin cross or Dense inside, two trainable weights of the right shapes made in `build`, the same
variables on every call, a tensor returned, `get_config` and registration so that Keras can rebuild it.
"""
from __future__ import annotations

import numpy as np

from recsys_course.course.exercises import checkers as rules
from recsys_course.modeling import builders
from recsys_course.course.exercises import merlin_adapter as adapter
from recsys_course.course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.course.exercises.merlin_adapter import describe, find

DIM, BOTTOM, TOP = 64, (128, 64), (64,)
WIDTHS = (4, 7, 16)  # the widths Q1's check builds the layer at: a layer must take its width from its input
ROWS = {4: 3, 7: 1, 16: 5}  # the batch sizes it calls the layer on at each width (one row: a squeeze shows)
TOLERANCE = 1e-4
FROM_BLOCKS = ("the concatenated ParallelBlock of embeddings and bottom MLP, `.connect(MyCross(), mm.MLPBlock([64]))`, "
               "in `mm.Model(..., schema=schema)`")
REGISTER_LINE = 'tf.keras.utils.get_custom_objects().pop("course>MyCross", None)  # re-running this cell registers the new class'
# Wrong formulas a learner may write, each told by name when the layer computes it (x0, x, W, b as in the task).
KNOWN_FORMULAS = (
    (lambda x0, x, w, b: x0 * (x @ w + b), "the residual `+ x` is missing: a cross layer adds its input back, "
                                           "x0 ⊙ (x W + b) + x, so that every lower-degree term survives."),
    (lambda x0, x, w, b: x0 * (x @ w) + x, "the bias b is never added: x0 ⊙ (x W + b) + x."),
    (lambda x0, x, w, b: x0 * (x0 @ w + b) + x, "W multiplies x0, but it must multiply x, the previous layer's output "
                                                "(the same thing in the first layer, not in the second)."),
    (lambda x0, x, w, b: x0 * (x @ w + b) + x0, "the residual adds x0; it must add x, the previous layer's output."),
    (lambda x0, x, w, b: x0 * (x @ w) + b + x, "the bias is added outside the product with x0; it belongs inside: "
                                               "x0 ⊙ (x W + b) + x."),
    (lambda x0, x, w, b: x * (x @ w + b) + x, "the product is with x; it must be with x0, the layer's first input "
                                              "(that is what makes depth l reach degree l + 1)."),
)


def _tf():
    import tensorflow as tf

    return tf


def _require_layer_class(value) -> None:
    tf = _tf()
    if isinstance(value, tf.keras.layers.Layer):
        raise Incorrect(f"`MyCross` is a layer *instance* ({type(value).__name__}); give the class itself: "
                        "`class MyCross(tf.keras.layers.Layer): ...`, and the check makes its own instances.")
    if not isinstance(value, type) or not issubclass(value, tf.keras.layers.Layer):
        raise Incorrect(f"`MyCross` should be a class that subclasses `tf.keras.layers.Layer`, got "
                        f"{value.__name__ if isinstance(value, type) else type(value).__name__}.")


def _no_ready_made_inside(layer) -> None:
    """No Merlin cross, no Dense: the arithmetic must be the learner's own."""
    inside = [type(m).__name__ for m in [layer, *adapter.submodules(layer)]]
    if adapter.holds_merlin_cross(layer):
        raise Incorrect("`MyCross` uses Merlin's own cross layer (mm.CrossBlock / Cross) inside: write the "
                        "arithmetic yourself, with your own kernel and bias made in `build`.")
    if any("Dense" in name for name in inside[1:]):
        raise Incorrect("`MyCross` holds a Dense layer: make the kernel W and the bias b yourself with "
                        "`self.add_weight(...)` in `build`, and write x W + b with `tf.matmul`.")


def _weights_made_in_build(cls, width: int):
    """A fresh layer built at `width`: exactly a (width × width) kernel and a (width,) bias, trainable, made in build."""
    tf = _tf()
    layer = cls()
    _no_ready_made_inside(layer)
    if layer.weights:
        raise Incorrect(f"`MyCross()` has weights before it is built ({_shapes(layer.weights)}): make them in "
                        "`build(input_shape)`, where the input's width is known.")
    layer.build(tf.TensorShape([None, width]))
    layer.built = True  # what Keras' own first call does after `build` (a `build` without super().build() is fine)
    _no_ready_made_inside(layer)
    if layer.non_trainable_weights:
        raise Incorrect(f"some weights are not trainable ({_shapes(layer.non_trainable_weights)}): training would "
                        "never change them. Leave `trainable` at its default in `add_weight`.")
    made = layer.trainable_weights
    if not made:
        layer(tf.zeros((2, width)))
        where = "in `call`, so every call would make new ones" if layer.weights else "nowhere"
        raise Incorrect(f"`build` makes no weights (they are made {where}): create the kernel and the bias with "
                        "`self.add_weight(...)` in `build(input_shape)`.")
    _check_shapes(made, width)
    return layer


def _shapes(weights) -> str:
    return ", ".join(str(tuple(w.shape)) for w in weights)


def _check_shapes(made, width: int) -> None:
    shapes = sorted((tuple(int(d) for d in w.shape) for w in made), key=len)
    if shapes == [(width, width)]:
        raise Incorrect(f"there is a kernel {(width, width)} but no bias: a cross layer computes x0 ⊙ (x W + b) + x, "
                        f"add a bias of shape ({width},).")
    others = [s for s in shapes if s != (width, width)]
    if len(shapes) == 2 and len(others) == 1 and int(np.prod(others[0])) == width and others[0] != (width,):
        raise Incorrect(f"the kernel is right, but the bias has shape {others[0]}: make it ({width},), the shape of "
                        "Merlin's bias (a vector added to each row of x W).")
    if shapes != [(width,), (width, width)]:
        raise Incorrect(f"built on a {width}-wide input, `MyCross` made weights of shapes {shapes}; expected a "
                        f"kernel W of ({width}, {width}) — it maps the {width}-wide x to {width} numbers, one per "
                        f"entry of x0 — and a bias b of ({width},). Take the width from `input_shape[-1]`.")


def _kernel_and_bias(layer):
    kernel = next(w for w in layer.trainable_weights if len(w.shape) == 2)
    bias = next(w for w in layer.trainable_weights if len(w.shape) == 1)
    return kernel, bias


def _as_tensor(out, what: str):
    tf = _tf()
    if isinstance(out, dict):
        raise Incorrect(f"{what} returns a dict ({sorted(out)}); the next layer expects one tensor: return the "
                        "tensor x0 ⊙ (x W + b) + x itself.")
    if isinstance(out, (list, tuple)):
        raise Incorrect(f"{what} returns a {type(out).__name__} of {len(out)}; with the default output_x0=False it must "
                        "return one tensor (only `MyCross(output_x0=True)` hands on the pair (x0, output)).")
    if not tf.is_tensor(out):
        raise Incorrect(f"{what} returns {type(out).__name__}; expected a tensor.")
    return out.numpy()


def _compare(cls, width: int, rng) -> str:
    """The learner's layer against Merlin's Cross with the same random weights, on a tensor and on a pair."""
    tf = _tf()
    layer = _weights_made_in_build(cls, width)
    kernel, bias = rng.normal(size=(width, width)).astype("float32"), rng.normal(size=width).astype("float32")
    one, x0, x = (_with_zeros(rng.normal(size=(ROWS[width], width)).astype("float32")) for _ in range(3))
    ref = adapter.merlin_cross(width, kernel, bias)
    expected = (ref(tf.constant(one)).numpy(), ref((tf.constant(x0), tf.constant(x))).numpy())
    before = [v.ref() for v in layer.weights]
    layer(tf.constant(one))  # a first call with its own weights: a layer that copies them on its first call shows
    first = None
    for orientation, k in (("x W", kernel), ("W x", kernel.T)):
        mine_k, mine_b = _kernel_and_bias(layer)
        mine_k.assign(k)
        mine_b.assign(bias)
        got = (_as_tensor(layer(tf.constant(one)), "`MyCross()(x0)`"),
               _as_tensor(layer((tf.constant(x0), tf.constant(x))), "`MyCross()((x0, x))`"))
        if [v.ref() for v in layer.weights] != before:
            raise Incorrect("calling the layer made new weights: make them once, in `build`, never in `call`.")
        if all(g.shape == e.shape and np.allclose(g, e, atol=TOLERANCE) for g, e in zip(got, expected)):
            return orientation
        first = first or got
    _explain_difference(first, expected, {"x0": x0, "x": x, "w": kernel, "b": bias}, width)
    raise AssertionError("unreachable")


def _with_zeros(values: np.ndarray) -> np.ndarray:
    """Inputs with some zero entries, as a ReLU's output has (a layer that divides by its input shows)."""
    values[:, ::3] = 0.0
    return values


def _explain_difference(got, expected, args, width: int) -> None:
    """Name the mistake when the layer computes a known wrong formula, else say how far it is from a cross layer."""
    bad, good = next(((g, e) for g, e in zip(got, expected) if g.shape != e.shape), (None, None))
    if bad is not None:
        raise Incorrect(f"on a {width}-wide input of {good.shape[0]} row(s) `MyCross` outputs shape {bad.shape}; a "
                        f"cross layer keeps the shape {good.shape}.")
    if not all(np.isfinite(g).all() for g in got):
        raise Incorrect(f"on a {width}-wide input with some zero entries (a ReLU's output has many), `MyCross` outputs "
                        "NaN or inf: x0 ⊙ (x W + b) + x needs no division, no log, no square root.")
    tensor_ok = np.allclose(got[0], expected[0], atol=TOLERANCE)
    where = "called on a tensor it is right, but on the stack's pair (x0, x) " if tensor_ok else ""
    for formula, message in KNOWN_FORMULAS:
        candidate = formula(**args)
        if np.allclose(got[1], candidate, atol=TOLERANCE) and not np.allclose(candidate, expected[1], atol=TOLERANCE):
            raise Incorrect(where + message)
    worst = max(float(np.abs(g - e).max()) for g, e in zip(got, expected))
    raise Incorrect(f"{where or ''}with the same weights as mm.CrossBlock(1), `MyCross` computes something else on a "
                    f"{width}-wide input (largest difference {worst:.3g}): a cross layer computes x0 ⊙ (x W + b) + x, "
                    "with x = x0 when it is called on one tensor and `x0, x = inputs` when it is called on a pair.")


def _check_output_x0(cls, rng) -> None:
    tf = _tf()
    x0, x = tf.constant(rng.normal(size=(2, 5)).astype("float32")), tf.constant(rng.normal(size=(2, 5)).astype("float32"))
    try:
        layer = cls(output_x0=True)
    except TypeError as e:
        raise Incorrect(f"`MyCross(output_x0=True)` fails ({e}): take `output_x0=False` in `__init__`, so that a layer "
                        "in a stack can hand (x0, output) to the next one.") from None
    out = layer((x0, x))
    if not isinstance(out, (list, tuple)) or len(out) != 2 or not np.allclose(np.asarray(out[0]), x0.numpy()):
        raise Incorrect("`MyCross(output_x0=True)` must return the pair (x0, output), x0 unchanged, so that the next "
                        f"layer of a stack still multiplies by x0; it returned {type(out).__name__}.")


def _check_serialisable(cls) -> None:
    tf = _tf()
    layer = cls(output_x0=True)
    try:
        config = layer.get_config()
    except NotImplementedError:  # Keras 2.12 writes it itself for plain arguments; not for every argument
        raise Incorrect("`MyCross` has no `get_config`, and Keras cannot write its arguments itself: return "
                        "`{**super().get_config(), \"output_x0\": self.output_x0}`.") from None
    try:
        rebuilt = cls.from_config(config)
    except TypeError as e:
        raise Incorrect(f"Keras cannot rebuild `MyCross` from its config ({str(e).splitlines()[0][:160]}): `__init__` must "
                        "take `**kwargs` and pass them on, `super().__init__(**kwargs)`, since Keras hands back the "
                        "layer's name, trainable and dtype.") from None
    if config.get("output_x0") is not True or rebuilt.output_x0 is not True:
        raise Incorrect("`get_config()` does not keep `output_x0`: a reloaded `MyCross(output_x0=True)` would come back "
                        "with the default. Return `{**super().get_config(), \"output_x0\": self.output_x0}`.")
    name = tf.keras.utils.get_registered_name(cls)
    if tf.keras.utils.get_registered_object(name) is not cls:
        raise Incorrect("`MyCross` is not registered with Keras, so loading a saved model cannot find it: decorate the "
                        "class with `@tf.keras.utils.register_keras_serializable(package=\"course\")`.")
    restored = tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))
    if type(restored) is not cls or restored.output_x0 is not True:
        raise Incorrect(f"Keras' round trip (serialize, deserialize) gives back {type(restored).__name__}, not MyCross.")


def verify_cross_class(cls) -> str:
    """Everything Q1 asks of the learner's class (raises Incorrect); returns the orientation of W it uses."""
    _require_layer_class(cls)
    rng = np.random.default_rng(6)
    orientations = {_compare(cls, width, rng) for width in WIDTHS}
    _check_output_x0(cls, rng)
    _check_serialisable(cls)
    return orientations.pop() if len(orientations) == 1 else "x W"


class Q1(Exercise):
    title = "your cross layer"
    names = ("MyCross",)
    hints = ("Subclass `tf.keras.layers.Layer`: `__init__(self, output_x0=False, **kwargs)`, `build(self, input_shape)`, "
             "`call(self, inputs)`, `get_config(self)`; decorate it with "
             "`@tf.keras.utils.register_keras_serializable(package=\"course\")`.",
             "In `build`, the width is `input_shape[-1]` (of `input_shape[0]` when called on a pair): "
             "`self.kernel = self.add_weight(\"kernel\", shape=(width, width))` and a bias of shape `(width,)`.",
             "In `call`: `x0, x = inputs if isinstance(inputs, (list, tuple)) else (inputs, inputs)`, then "
             "`output = x0 * (tf.matmul(x, self.kernel) + self.bias) + x`; return `(x0, output)` when "
             "`self.output_x0`, else `output`.")

    def verify(self, MyCross) -> str:  # noqa: N803 - the learner's class name
        orientation = verify_cross_class(MyCross)
        side = "" if orientation == "x W" else " (you wrote W x: your kernel is Merlin's transposed, the same layer)"
        return ("with the same weights, your layer computes what mm.CrossBlock(1) computes, on one tensor and on the "
                f"stack's pair (x0, x), at widths {', '.join(map(str, WIDTHS))}{side}; it saves and reloads by name.")


class Q2(Exercise):
    title = "your layer in a DCN"
    names = ("my_dcn",)
    hints = ("The inputs of lab 04's DCN: 64-wide embeddings and a bottom MLP [128, 64], concatenated.",
             "`inputs.connect(MyCross(), mm.MLPBlock([64]))`: your layer where `mm.CrossBlock(1)` was.",
             "`mm.Model(body, mm.BinaryClassificationTask(\"target\"), schema=schema)`.")
    success = "your layer sits where mm.CrossBlock(1) was, and the model runs on the batch."

    def verify(self, my_dcn) -> None:
        cls = _learners_class(self.scope, self.lab.checked, "Q2")
        rules.model(my_dcn, "my_dcn", self.ctx, FROM_BLOCKS, [lambda path: self._structure(my_dcn, path, cls)],
                    reference=lambda: builders.dcn(self.ctx["schema"], 1, DIM, BOTTOM[:-1], TOP))  # Merlin's own layer

    def _structure(self, my_dcn, path: list, cls) -> None:
        """One current MyCross right after the concatenated inputs, instead of Merlin's cross or dot products."""
        mine = [m for m in adapter.submodules(my_dcn) if isinstance(m, cls)]
        if find(path, "cross"):
            raise Incorrect("the model holds Merlin's `mm.CrossBlock`: plug in *your* layer, `MyCross()`, where it was.")
        if find(path, "dot"):
            raise Incorrect("the dot-product interaction is there: this DCN has your cross layer *instead* of it.")
        _one_current_layer(my_dcn, mine, cls, path)
        rules.check_inputs(path[0], rules.inputs_spec(self.ctx["schema"], DIM, BOTTOM, True))
        if len(path) < 2 or path[1].kind != "other" or path[1]["type"] != cls.__name__:
            raise Incorrect(f"expected your MyCross right after the concatenated inputs, got {describe(path[1:2])}: "
                            "the cross layer multiplies the raw inputs x0, the top MLP comes after it.")
        rules.check_top(path, 2, TOP, "your cross layer")


def _one_current_layer(model, mine: list, cls, path) -> None:
    """Exactly one MyCross of the notebook's current class, handing on one tensor."""
    stale = [m for m in adapter.submodules(model) if type(m).__name__ == cls.__name__ and not isinstance(m, cls)]
    if stale and not mine:
        raise Incorrect("`my_dcn` holds a MyCross from an earlier run of the Q1 cell (the class has been defined again "
                        "since): run the cell that builds `my_dcn` again, so that it uses the current class.")
    if not mine:
        raise Incorrect(f"there is no `MyCross` layer in `my_dcn` ({describe(path)}): connect the inputs to "
                        "`MyCross()`, then the top MLP.")
    if len(mine) > 1:
        raise Incorrect(f"{len(mine)} MyCross layers: this exercise asks for one, where `mm.CrossBlock(1)` was.")
    if getattr(mine[0], "output_x0", False):
        raise Incorrect("`MyCross(output_x0=True)` hands on the pair (x0, output), but the top MLP takes one tensor: "
                        "use `MyCross()` (output_x0=False), as the last layer of a stack does.")


def _learners_class(scope: dict, checked: dict, asked_by: str):
    """The notebook's `MyCross`, which must pass Q1 before a later exercise uses it."""
    from recsys_course.course.exercises.core import ____

    cls = scope.get("MyCross", checked.get("MyCross", ____))
    if cls is ____:
        raise Incorrect(f"{asked_by} uses your `MyCross` class, which is still `____`: answer Q1 first.")
    try:
        verify_cross_class(cls)
    except Incorrect as e:
        raise Incorrect(f"{asked_by} uses your `MyCross`, which is not correct yet (run q1.check()): {e}") from None
    return cls


class Q3(Exercise):
    title = "save and serve"
    names = ("export_dir", "serving")
    hints = ("`my_dcn.save(export_dir)` writes a SavedModel folder (saved_model.pb and variables/).",
             "Reload it the way a server does, without Keras: `tf.saved_model.load(str(export_dir))`, then its "
             "`.signatures[\"serving_default\"]`.",
             "`serving = tf.saved_model.load(str(export_dir)).signatures[\"serving_default\"]`")

    def verify(self, export_dir, serving) -> str:
        from pathlib import Path

        tf = _tf()
        model = self.scope.get("my_dcn", self.lab.checked.get("my_dcn"))
        if not adapter.is_model(model):
            raise Incorrect("Q3 serves `my_dcn`, the model of Q2: build it (and check it) first.")
        if not any(type(m).__name__ == "MyCross" for m in adapter.submodules(model)):
            raise Incorrect("`my_dcn` holds no `MyCross`: Q3 saves and serves the model of Q2, with your own layer in "
                            "it (that is what a server must run without your Python code). Build it as Q2 asks.")
        if not isinstance(export_dir, (str, Path)) or not (Path(export_dir) / "saved_model.pb").is_file():
            raise Incorrect(f"`export_dir` ({export_dir!r}) holds no SavedModel (saved_model.pb): save the whole model "
                            "with `my_dcn.save(export_dir)` — `save_weights` writes only the weights, which no server "
                            "can run without your Python code.")
        _require_signature(serving, model, tf)
        served = _serve(serving, self.ctx["batch"], tf)
        expected = np.asarray(model(self.ctx["batch"], training=False)).reshape(-1)
        if not (np.isfinite(served).all() and np.isfinite(expected).all()):
            raise Incorrect("the predictions are not finite (NaN or inf), in memory or served: there is nothing to "
                            "compare. Rebuild `my_dcn` (Q2) and train it without a NaN loss, then save it again.")
        from_disk = _serve(_signature(Path(export_dir)), self.ctx["batch"], tf)
        if not np.allclose(from_disk, served, atol=1e-5):
            raise Incorrect("`serving` does not come from the model in `export_dir`: load it from that folder.")
        gap = float(np.abs(served - expected).max())
        if gap > 1e-5:
            raise Incorrect(f"the reloaded predictions differ from `my_dcn`'s by up to {gap:.3g}: the folder holds "
                            "another state of the model (saved before it was trained, or another model). Save "
                            "`my_dcn` as it is now, then reload.")
        return f"the served predictions equal my_dcn's on the batch (largest difference {gap:.1e})."


def _require_signature(serving, model, tf) -> None:
    if serving is model:
        raise Incorrect("`serving` is `my_dcn` itself, the model in memory: reload it from `export_dir` with "
                        "`tf.saved_model.load(str(export_dir)).signatures[\"serving_default\"]`.")
    if isinstance(serving, tf.keras.Model):
        raise Incorrect("`serving` is a Keras model (tf.keras.models.load_model or mm.Model.load): that reload is "
                        f"broken for from-blocks Merlin models (merlin-models {adapter.INSTALLED}) and needs your Python classes. "
                        "A server uses the SavedModel's signature: "
                        "`tf.saved_model.load(str(export_dir)).signatures[\"serving_default\"]`.")
    if hasattr(serving, "signatures") and not hasattr(serving, "structured_input_signature"):
        raise Incorrect("`serving` is the loaded SavedModel object; take its signature: "
                        "`.signatures[\"serving_default\"]`.")
    if not hasattr(serving, "structured_input_signature"):
        raise Incorrect(f"`serving` should be the SavedModel's serving signature, got {type(serving).__name__}.")


_LOADED: dict = {}


def _signature(folder):
    """The folder's serving signature, loaded once per saved state (a re-run check does not load it again)."""
    tf = _tf()
    key = (str(folder.resolve()), (folder / "saved_model.pb").stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = tf.saved_model.load(str(folder)).signatures["serving_default"]
    return _LOADED[key]


def _serve(serving, batch, tf) -> np.ndarray:
    """The signature called on the batch (each feature cast to the dtype it declares): one probability per row."""
    spec = serving.structured_input_signature[1]
    missing = sorted(set(spec) - set(batch))
    if missing:
        raise Incorrect(f"the signature asks for features the data does not have: {missing}.")
    out = serving(**{name: tf.cast(batch[name], s.dtype) for name, s in spec.items()})
    return np.asarray(next(iter(out.values()))).reshape(-1)


def lab06(schema, batch) -> tuple[Exercise, ...]:
    """`q1, q2, q3 = lab06(schema, batch)`."""
    return Lab(schema=schema, batch=batch).add(Q1, Q2, Q3)
