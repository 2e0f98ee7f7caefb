"""Lab 02 — building blocks: a residual bottom MLP, item embeddings, a concatenating ParallelBlock."""
from __future__ import annotations

from recsys_course.course.exercises.checkers import block as _require_block, output_shape as _out
from recsys_course.course.exercises.core import Exercise, Incorrect, Lab
from recsys_course.course.exercises.merlin_adapter import Step, describe, tagged

WIDTH = 32


def _tags(schema, tag: str) -> tuple[str, ...]:
    return tuple(sorted(tagged(schema, tag)))


def check_residual_bottom(path: list[Step], continuous: tuple[str, ...]) -> None:
    """ContinuousFeatures (both) → MLP[32] → residual(MLP[32])."""
    kinds = [s.kind for s in path]
    if "shortcut" in kinds:
        raise Incorrect("`connect_with_shortcut` keeps the input *beside* the output (a dict, or it concatenates "
                        "them with aggregation=\"concat\"); a residual connection *adds* them: use `connect_with_residual`.")
    if not path or path[0].kind != "continuous":
        raise Incorrect(f"start from the continuous features: `mm.ContinuousFeatures.from_schema(...)` (got {describe(path)}).")
    if set(path[0]["features"]) != set(continuous):
        raise Incorrect(f"the block reads {list(path[0]['features'])}; expected both continuous features "
                        f"{list(continuous)}: select them with `schema.select_by_tag(Tags.CONTINUOUS)`.")
    if "residual" not in kinds:
        raise Incorrect("there is no residual connection yet: finish with `.connect_with_residual(mm.MLPBlock([32]))`"
                        f" (got {describe(path)}).")
    expected = f"ContinuousFeatures → MLP[{WIDTH}] → residual(MLP[{WIDTH}])"
    if kinds != ["continuous", "mlp", "residual"] or path[2]["main"] and [s.kind for s in path[2]["main"]] != ["mlp"]:
        raise Incorrect(f"expected {expected}, got {describe(path)}.")
    widths = (path[1]["widths"], path[2]["main"][0]["widths"])
    if widths != ([WIDTH], [WIDTH]):
        raise Incorrect(f"the MLPs are {widths[0]} and {widths[1]}; both must be [{WIDTH}], because a residual adds the "
                        f"block's input to its output (expected (batch, {WIDTH})).")


class Q1(Exercise):
    title = "residual bottom MLP"
    names = ("bottom",)
    hints = ("Start from `mm.ContinuousFeatures.from_schema(schema.select_by_tag(Tags.CONTINUOUS))`.",
             "`.connect(mm.MLPBlock([32]))` first; then a second 32-wide MLP whose input is added back.",
             "`.connect_with_residual(mm.MLPBlock([32]))` adds the block's input to its output.")
    success = "the residual keeps the width at 32."

    def verify(self, bottom) -> None:
        check_residual_bottom(_require_block(bottom, "bottom"), _tags(self.ctx["schema"], "CONTINUOUS"))
        _out(bottom, self.ctx["batch"])


def check_item_embeddings(path: list[Step], items: tuple[str, ...]) -> None:
    """One Embeddings block of the ITEM columns, 32 wide, not aggregated."""
    tables = [s for s in path if s.kind == "embeddings"]
    if not tables or path[0].kind != "embeddings":
        raise Incorrect(f"expected `mm.Embeddings(...)` of the item columns, got {describe(path)}.")
    got = tables[0]["features"]
    if len(got) < len(tables[0]["keys"] or ()):  # several tables built on one column
        raise Incorrect(f"the tables are filed under {list(tables[0]['keys'])} but embed {list(got)}: build each table on "
                        "its own column (`mm.EmbeddingTable(32, c)` for each column `c`), or simply "
                        "`mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=32)`.")
    if set(got) != set(items):
        extra, missing = sorted(set(got) - set(items)), sorted(set(items) - set(got))
        raise Incorrect(f"embeddings for {list(got)}: select the columns tagged ITEM (extra: {extra}, missing: {missing}).")
    if tables[0]["dims"] != (WIDTH,):
        raise Incorrect(f"the vectors are {'/'.join(map(str, tables[0]['dims']))} wide; the exercise asks for dim={WIDTH}.")
    if tables[0]["trainable"] is False:
        raise Incorrect("the tables are frozen (trainable=False): they would keep their random start values. "
                        "Leave `trainable` at its default.")
    if len(path) > 1:
        raise Incorrect(f"`mm.Embeddings` returns one vector per feature as a dict; this block continues with "
                        f"{describe(path[1:])}. Keep the embeddings apart (no aggregation).")


class Q2(Exercise):
    title = "item embeddings"
    names = ("item_embeddings",)
    hints = ("Only the item's columns: product_id, cat_0, cat_1, cat_2 and brand all carry the ITEM tag.",
             "`schema.select_by_tag(Tags.ITEM)` selects them.",
             "`mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=32)`")
    success = "five tables, one 32-wide vector per item feature."

    def verify(self, item_embeddings) -> None:
        items = _tags(self.ctx["schema"], "ITEM")
        check_item_embeddings(_require_block(item_embeddings, "item_embeddings"), items)
        check_item_vectors(_out(item_embeddings, self.ctx["batch"]), items, self.ctx["batch"])


def check_item_vectors(out, items: tuple[str, ...], batch) -> None:
    """On the batch: one 32-wide vector per ITEM feature, keyed by the feature's name."""
    rows = len(next(iter(batch.values())))
    expected = {name: (rows, WIDTH) for name in items}
    if out != expected:
        raise Incorrect(f"on the {rows}-row batch the block outputs {out}; expected one ({rows}, {WIDTH}) vector per item "
                        f"feature, keyed {list(items)}: give every feature its own table "
                        "(`mm.Embeddings(schema.select_by_tag(Tags.ITEM), dim=32)`).")


class Q3(Exercise):
    title = "a concatenated item tower"
    names = ("item_tower",)
    hints = ("A ParallelBlock takes a dict of branches: your item embeddings and your bottom MLP.",
             "Without an aggregation it returns a dict; `aggregation=\"concat\"` makes one tensor.",
             "`mm.ParallelBlock({\"items\": item_embeddings, \"continuous\": bottom}, aggregation=\"concat\")`")

    def verify(self, item_tower) -> str:
        path = _require_block(item_tower, "item_tower")
        if len(path) != 1 or path[0].kind != "parallel":
            raise Incorrect(f"expected one `mm.ParallelBlock` of your item embeddings and your bottom MLP, got {describe(path)}.")
        branches = path[0]["branches"]
        emb = [n for n, p in branches.items() if p and p[0].kind == "embeddings"]
        rest = [p for n, p in branches.items() if n not in emb]
        if len(branches) != 2 or len(emb) != 1:
            raise Incorrect(f"expected two branches, the item embeddings and the bottom MLP; got {describe(path)}.")
        items = _tags(self.ctx["schema"], "ITEM")
        check_item_embeddings(branches[emb[0]], items)
        check_residual_bottom(rest[0], _tags(self.ctx["schema"], "CONTINUOUS"))
        agg = path[0]["agg"]
        if agg is None:
            raise Incorrect(f"the ParallelBlock returns a dict of {len(item_tower(self.ctx['batch']))} tensors: "
                            "pass `aggregation=\"concat\"`.")
        if agg != "concat":
            raise Incorrect(f"aggregation={agg!r} does not make one flat vector per row ('stack' gives (batch, 6, 32), "
                            "'sum' adds the vectors): pass `aggregation=\"concat\"`.")
        check_item_vectors(_out(path[0]["blocks"][emb[0]], self.ctx["batch"]), items, self.ctx["batch"])
        out = _out(item_tower, self.ctx["batch"])
        width = (len(items) + 1) * WIDTH
        if out[1:] != (width,):
            raise Incorrect(f"`item_tower` outputs {out} on the batch; expected (rows, {width}): five 32-wide item "
                            "embeddings and the 32-wide bottom MLP, concatenated.")
        return f"{out[1]} numbers per row (five 32-wide item embeddings and the 32-wide bottom MLP), ready for an MLP."


def lab02(schema, batch) -> tuple[Exercise, ...]:
    """`q1, q2, q3 = lab02(schema, batch)`."""
    return Lab(schema=schema, batch=batch).add(Q1, Q2, Q3)
