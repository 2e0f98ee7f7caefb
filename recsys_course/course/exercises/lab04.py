"""Lab 04 — DCN: a deeper CrossBlock, a low-rank one, what a cross layer costs, and what the learner's run says.

Q4 reads the learner's own measurement (`runs`, the two DCNs trained in the lab) and the noise of one run on the
validation rows (`metrics.auc_noise`, as lab 03 does), so its expected answer is computed from that run.
"""
from __future__ import annotations

from recsys_course.course import benchfigures
from recsys_course import metrics
from recsys_course.modeling import builders
from recsys_course.course.exercises import checkers as rules
from recsys_course.course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.course.exercises.merlin_adapter import Step, describe, find

DIM, BOTTOM, TOP = 64, (128, 64), (64,)
RANK = 16
DEEP, LOW = "DCN depth 3", "DCN depth 2, rank 16"  # the names the lab's measurement cell gives its two runs
WORSE, NOISE, BETTER = VERDICTS = ("worse", "within the noise", "better")
TOLERANCE = 1e-4  # an AUC difference taken from the table's rounded AUCs is still right
WIDTH = 9 * DIM  # eight 64-wide embeddings and the 64-wide bottom MLP, concatenated
FROM_BLOCKS = ("the concatenated ParallelBlock of embeddings and bottom MLP, `.connect(mm.CrossBlock(...), "
               "mm.MLPBlock([64]))`, in `mm.Model(..., schema=schema)`")


def check_dcn(path: list[Step], schema, depth: int, rank: int | None) -> None:
    """inputs (concatenated) → one CrossBlock(depth, rank) → top MLP[64] → task: the stacked DCN."""
    if find(path, "dot"):
        raise Incorrect("the dot-product interaction is still there: DCN *replaces* it with the CrossBlock.")
    crosses = find(path, "cross")
    if not crosses:
        raise Incorrect("there is no CrossBlock: connect the concatenated inputs to `mm.CrossBlock(depth)`.")
    if any(c in find([s], "cross") for s in path if s.kind == "parallel" for c in crosses):
        raise Incorrect("the CrossBlock sits *beside* an MLP (the parallel DCN); this exercise asks for the stacked "
                        "DCN: inputs → CrossBlock → top MLP, one after the other.")
    rules.check_inputs(path[0], rules.inputs_spec(schema, DIM, BOTTOM, True))
    if path[1].kind == "mlp":
        raise Incorrect(f"an MLP ({describe(path[1:2])}) runs *before* the CrossBlock: the cross layers must multiply "
                        "the raw concatenated inputs x0. Put the top MLP after the CrossBlock.")
    if len(crosses) > 1:
        raise Incorrect(f"{len(crosses)} CrossBlocks stacked ({describe(crosses)}): each restarts x0 from its own input. "
                        f"The exercise asks for ONE `mm.CrossBlock({depth}{', low_rank_dim=16' if rank else ''})`, whose "
                        "layers all multiply by the same x0.")
    cross = path[1]
    if cross.kind != "cross":
        raise Incorrect(f"expected the CrossBlock right after the inputs, got {describe(path[1:2])}.")
    if cross["depth"] != depth:
        raise Incorrect(f"the CrossBlock has {cross['depth']} cross layer(s); depth {depth} means {depth}.")
    if cross["rank"] != rank:
        raise Incorrect(_rank_message(cross["rank"], rank))
    if not cross["bias"]:
        raise Incorrect("the cross layers have no bias (use_bias=False): each layer computes x0 ⊙ (x W + b) + x, "
                        "leave use_bias at its default.")
    rules.check_top(path, 2, TOP, "the CrossBlock")


def _rank_message(got, expected) -> str:
    if expected is None:
        return f"the cross layers are low rank ({got}); this exercise wants the full-rank CrossBlock."
    if got is None:
        return f"the kernels are full {WIDTH} × {WIDTH}: pass `low_rank_dim={expected}` to mm.CrossBlock."
    return f"the kernels have rank {got}; the exercise asks for low_rank_dim={expected}."


class Q1(Exercise):
    title = "DCN with depth 3"
    names = ("dcn3",)
    hints = ("DCN's input is DLRM's ParallelBlock with `aggregation=\"concat\"`: one 576-wide vector.",
             "Connect it to `mm.CrossBlock(3)` and then a top `mm.MLPBlock([64])`.",
             "Wrap it in `mm.Model(body, mm.BinaryClassificationTask(\"target\"), schema=schema)`.")
    success = "three cross layers: crosses of up to four features."

    def verify(self, dcn3) -> None:
        rules.model(dcn3, "dcn3", self.ctx, FROM_BLOCKS, [lambda path: check_dcn(path, self.ctx["schema"], 3, None)],
                    self.lab.later_answers(self), reference=lambda: builders.dcn(self.ctx["schema"], 3, DIM, BOTTOM[:-1], TOP))


class Q2(Exercise):
    title = "low-rank DCN"
    names = ("dcn_low_rank",)
    hints = ("Same inputs as Q1, built again: a block that is already part of `dcn3` would share its weights.",
             "`mm.CrossBlock(2, low_rank_dim=16)` writes each W as a product of two thin matrices.",
             "`mm.Model(low_rank_inputs.connect(mm.CrossBlock(2, low_rank_dim=16), mm.MLPBlock([64])), task, schema=schema)`")

    def verify(self, dcn_low_rank) -> str:
        rules.model(dcn_low_rank, "dcn_low_rank", self.ctx, FROM_BLOCKS,
                    [lambda path: check_dcn(path, self.ctx["schema"], 2, RANK)], self.lab.earlier_answers(self, self.scope),
                    reference=lambda: builders.dcn(self.ctx["schema"], 2, DIM, BOTTOM[:-1], TOP, low_rank_dim=RANK))
        return (f"each cross layer now has {2 * WIDTH * RANK + WIDTH:,} parameters instead of "
                f"{WIDTH * WIDTH + WIDTH:,}.")


class Q3(Exercise):
    title = "what a cross layer costs"
    names = ("cross_layer_params", "low_rank_params")
    hints = ("One cross layer computes x0 ⊙ (x W + b) + x on the concatenated 576-wide input.",
             "Full rank: W is 576 × 576 and b is 576. Low rank 16: W = U V, U is 576 × 16, V is 16 × 576, plus b.",
             "`cross_layer_params = 576 * 576 + 576` and `low_rank_params = 576 * 16 + 16 * 576 + 576`.")

    def verify(self, cross_layer_params, low_rank_params) -> str:
        full, low = WIDTH * WIDTH + WIDTH, 2 * WIDTH * RANK + WIDTH
        if (rules.number(cross_layer_params, "cross_layer_params", whole=True),
                rules.number(low_rank_params, "low_rank_params", whole=True)) == (low, full):
            raise Incorrect("the two numbers are swapped: the full-rank layer is the large one.")
        rules.value(cross_layer_params, "cross_layer_params", full, {
            WIDTH * WIDTH: f"W is counted, but each cross layer also has a bias b of {WIDTH} numbers.",
            DIM * DIM + DIM: f"a cross layer sees the *concatenation* of all nine {DIM}-wide vectors: {WIDTH}, not {DIM}.",
            2 * full: "that is two layers; count one."},
            f"{{got:,.0f}} is not the size of W ({WIDTH} × {WIDTH}) plus b ({WIDTH}).", whole=True)
        rules.value(low_rank_params, "low_rank_params", low, {
            WIDTH * RANK + WIDTH: f"low rank writes W = U V with U of {WIDTH} × {RANK} *and* V of {RANK} × {WIDTH}: "
                                  "count both, and b.",
            2 * WIDTH * RANK: f"U and V are counted; add the bias b ({WIDTH}).",
            full: "that is the full-rank layer again: low rank replaces W by U V."},
            f"{{got:,.0f}} is not U ({WIDTH} × {RANK}) + V ({RANK} × {WIDTH}) + b ({WIDTH}).", whole=True)
        return f"low rank is {full / low:.1f} times smaller per layer ({low:,} vs {full:,} parameters)."


class Q4(Exercise):
    title = "explain the result"
    names = ("low_rank_change", "low_rank_verdict")
    reads = ("runs",)  # the Measure cell's results
    hints = ("`runs` holds one result per model, each with `.name` and `.auc`; `auc_noise` is the noise of one run.",
             f"The change is the low-rank model's AUC minus depth 3's. The verdict is {NOISE!r} when the change is "
             f"no larger than `auc_noise`, else {BETTER!r} or {WORSE!r} for the low-rank model.",
             "`auc_of = {r.name: r.auc for r in runs}`, then `low_rank_change = auc_of[\"DCN depth 2, rank 16\"] - "
             "auc_of[\"DCN depth 3\"]`.")

    def verify(self, low_rank_change, low_rank_verdict) -> str:
        runs = rules.measurement(self.scope.get("runs"), (DEEP, LOW), "run the cell that trains `dcn3` and "
                                 "`dcn_low_rank` (it sets `runs`).", "`training.compare` returns", f"the two runs {DEEP!r} and {LOW!r}")
        deep, low = runs[DEEP], runs[LOW]
        change = low.auc - deep.auc
        noise = metrics.auc_noise(self.ctx["valid_target"], min(deep.auc, low.auc))
        rules.value(low_rank_change, "low_rank_change", change, {
            -change: "that is depth 3 minus low rank: the change is the low-rank model's AUC *minus* depth 3's.",
            low.auc: "that is the low-rank model's AUC itself: subtract depth 3's.",
            deep.auc: "that is depth 3's AUC itself: the change is the low-rank AUC minus it.",
            100 * change: "that is in percentage points: give the AUC difference itself.",
            low.logloss - deep.logloss: "that is the change in validation log-loss: compare the AUCs (`.auc`).",
            change / deep.auc: "that is a relative change: give the difference of the two AUCs."},
            f"{{got:.4f}} is not the change your runs measured: {LOW} {low.auc:.4f} − {DEEP} {deep.auc:.4f} "
            f"= {change:+.4f}.", tolerance=TOLERANCE)
        expected = NOISE if abs(change) <= noise else BETTER if change > 0 else WORSE
        _check_verdict(low_rank_verdict, expected, change, noise)
        full, small = WIDTH * WIDTH + WIDTH, 2 * WIDTH * RANK + WIDTH
        return (f"{benchfigures.versus(LOW, low.auc, DEEP, deep.auc, noise=noise)}, with cross layers "
                f"{full / small:.0f}× smaller (one seed; `bench/RESULTS.md` has three).")


def _check_verdict(verdict, expected: str, change: float, noise: float) -> None:
    if not isinstance(verdict, str) or verdict not in VERDICTS:
        raise Incorrect(f"`low_rank_verdict` should be one of {list(VERDICTS)}, got {verdict!r}.")
    if verdict == expected:
        return
    if expected == NOISE:
        raise Incorrect(f"the change {change:+.4f} is within the noise of one run (±{noise:.4f}): this run cannot tell "
                        f"the two apart, so the verdict is {NOISE!r}.")
    if verdict == NOISE:
        raise Incorrect(f"the change {change:+.4f} is larger than the noise (±{noise:.4f}): say whether the low-rank "
                        f"model did {BETTER!r} or {WORSE!r}.")
    raise Incorrect(f"the change {change:+.4f} is {'positive' if change > 0 else 'negative'}: the low-rank model did "
                    f"{expected!r}, not {verdict!r}.")


def _valid_target(valid):
    """The validation labels: from a Merlin Dataset (its `target` column) or given as they are."""
    import numpy as np

    if hasattr(valid, "to_ddf"):
        return np.asarray(valid.to_ddf()["target"].compute())
    return np.asarray(valid)


def lab04(schema, batch, valid=None) -> tuple[Exercise, ...]:
    """`q1, q2, q3, q4 = lab04(schema, batch, valid)`; `q1, q2, q3 = lab04(schema, batch)` (a copy of the lab made
    before Q4 existed) still works and leaves Q4 out, since Q4 needs the validation labels."""
    if valid is None:
        return Lab(schema=schema, batch=batch).add(Q1, Q2, Q3)
    return Lab(schema=schema, batch=batch, valid_target=_valid_target(valid)).add(Q1, Q2, Q3, Q4)
