"""Lab 04 — DCN: a deeper CrossBlock, a low-rank one, and what a cross layer costs."""
from __future__ import annotations

from recsys_course.exercises import rules
from recsys_course.exercises.anatomy import Step, describe, find
from recsys_course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.exercises.lab01 import as_number
from recsys_course.exercises.lab03 import all_features, feature_spec

DIM, BOTTOM, TOP = 64, (128, 64), (64,)
RANK = 16
WIDTH = 9 * DIM  # eight 64-wide embeddings and the 64-wide bottom MLP, concatenated
FROM_BLOCKS = ("the concatenated ParallelBlock of embeddings and bottom MLP, `.connect(mm.CrossBlock(...), "
               "mm.MLPBlock([64]))`, in `mm.Model(..., schema=schema)`")
INPUTS = '''mm.ParallelBlock({
    "embeddings": mm.Embeddings(schema.select_by_tag(Tags.CATEGORICAL), dim=64),
    "bottom_block": mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS)).connect(mm.MLPBlock([128, 64])),
}, aggregation="concat")'''


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
    rules.check_inputs(path[0], feature_spec(schema, DIM, BOTTOM, True))
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
    solution_code = f'''inputs = {INPUTS}
dcn3 = mm.Model(inputs.connect(mm.CrossBlock(3), mm.MLPBlock([64])), mm.BinaryClassificationTask("target"), schema=schema)'''
    success = "three cross layers: crosses of up to four features."

    def verify(self, dcn3) -> None:
        path = rules.model_path(dcn3, "dcn3", all_features(self.ctx["schema"]), FROM_BLOCKS)
        check_dcn(path, self.ctx["schema"], 3, None)
        rules.require_output(dcn3, self.ctx["batch"], "dcn3")


class Q2(Exercise):
    title = "low-rank DCN"
    names = ("dcn_low_rank",)
    hints = ("Same inputs as Q1, built again: a block that is already part of `dcn3` would share its weights.",
             "`mm.CrossBlock(2, low_rank_dim=16)` writes each W as a product of two thin matrices.",
             "`mm.Model(low_rank_inputs.connect(mm.CrossBlock(2, low_rank_dim=16), mm.MLPBlock([64])), task, schema=schema)`")
    solution_code = f'''low_rank_inputs = {INPUTS}
dcn_low_rank = mm.Model(low_rank_inputs.connect(mm.CrossBlock(2, low_rank_dim=16), mm.MLPBlock([64])),
                        mm.BinaryClassificationTask("target"), schema=schema)'''

    def verify(self, dcn_low_rank) -> str:
        path = rules.model_path(dcn_low_rank, "dcn_low_rank", all_features(self.ctx["schema"]), FROM_BLOCKS)
        check_dcn(path, self.ctx["schema"], 2, RANK)
        rules.fresh_blocks(dcn_low_rank, "dcn_low_rank", self.lab.earlier_answers(self, self.scope))
        rules.require_output(dcn_low_rank, self.ctx["batch"], "dcn_low_rank")
        return (f"each cross layer now has {2 * WIDTH * RANK + WIDTH:,} parameters instead of "
                f"{WIDTH * WIDTH + WIDTH:,}.")


class Q3(Exercise):
    title = "what a cross layer costs"
    names = ("cross_layer_params", "low_rank_params")
    hints = ("One cross layer computes x0 ⊙ (x W + b) + x on the concatenated 576-wide input.",
             "Full rank: W is 576 × 576 and b is 576. Low rank 16: W = U V, U is 576 × 16, V is 16 × 576, plus b.",
             "`cross_layer_params = 576 * 576 + 576` and `low_rank_params = 576 * 16 + 16 * 576 + 576`.")
    solution_code = '''cross_layer_params = 576 * 576 + 576
low_rank_params = 576 * 16 + 16 * 576 + 576'''

    def verify(self, cross_layer_params, low_rank_params) -> str:
        full_got = as_number(cross_layer_params, "cross_layer_params", whole=True)
        low_got = as_number(low_rank_params, "low_rank_params", whole=True)
        full, low = WIDTH * WIDTH + WIDTH, 2 * WIDTH * RANK + WIDTH
        if (full_got, low_got) == (low, full):
            raise Incorrect("the two numbers are swapped: the full-rank layer is the large one.")
        known_full = {WIDTH * WIDTH: f"W is counted, but each cross layer also has a bias b of {WIDTH} numbers.",
                      DIM * DIM + DIM: f"a cross layer sees the *concatenation* of all nine {DIM}-wide vectors: {WIDTH}, not {DIM}.",
                      2 * full: "that is two layers; count one."}
        if full_got in known_full:
            raise Incorrect(known_full[full_got])
        if full_got != full:
            raise Incorrect(f"{int(full_got):,} is not the size of W ({WIDTH} × {WIDTH}) plus b ({WIDTH}).")
        known_low = {WIDTH * RANK + WIDTH: f"low rank writes W = U V with U of {WIDTH} × {RANK} *and* V of {RANK} × {WIDTH}: count both, and b.",
                     2 * WIDTH * RANK: f"U and V are counted; add the bias b ({WIDTH}).",
                     full: "that is the full-rank layer again: low rank replaces W by U V."}
        if low_got in known_low:
            raise Incorrect(known_low[low_got])
        if low_got != low:
            raise Incorrect(f"{int(low_got):,} is not U ({WIDTH} × {RANK}) + V ({RANK} × {WIDTH}) + b ({WIDTH}).")
        return f"low rank is {full / low:.1f} times smaller per layer ({low:,} vs {full:,} parameters)."


def lab04(schema, batch) -> tuple[Exercise, ...]:
    """`q1, q2, q3 = lab04(schema, batch)`."""
    return Lab(schema=schema, batch=batch).add(Q1, Q2, Q3)
