"""The course's NVTabular workflow: prepared rows -> model-ready parquet with a tagged schema.

The same code runs on CPU (pandas) and GPU (cuDF); `recsys_course.device` decides. Output:
`processed_nvt/{train,valid}/*.parquet` with `schema.pbtxt`, and the fitted workflow in
`processed_nvt/workflow/`. Columns and tags are those of the 2022 workshop notebook, except its target-encoded
columns (`TE_*`), left out on purpose (README, "Preparation").
"""
from __future__ import annotations

import json
from pathlib import Path

from recsys_course.files import atomic_output
from recsys_course.data.formats import CATEGORICAL



def _relative_to_mean(price, df):
    """(price - the product's mean train price) / that mean."""
    mean = df["product_id_price_mean"]
    return (price - mean) / mean


def build_workflow(stats_dir: str | Path):
    """The workflow graph (not fitted). Category tables are written under `stats_dir`."""
    import nvtabular as nvt
    from merlin.schema import Tags
    from nvtabular import ops

    out = str(stats_dir)

    def categorify(cols, *tag_ops):
        node = cols >> ops.Categorify(out_path=out)
        for op in tag_ops:
            node = node >> op
        return node

    user = categorify(["user_id"], ops.TagAsUserID(), ops.TagAsUserFeatures())
    context = categorify(["ts_weekday", "ts_hour"], ops.AddMetadata(tags=[Tags.CONTEXT]))
    item = categorify(["product_id"], ops.TagAsItemID(), ops.TagAsItemFeatures())
    item_features = categorify(["cat_0", "cat_1", "cat_2", "brand"], ops.TagAsItemFeatures())
    price = ["price"] >> ops.FillMissing() >> ops.LogOp() >> ops.Normalize() >> ops.AddMetadata(tags=[Tags.CONTINUOUS])
    product_mean = ["product_id"] >> ops.JoinGroupby(cont_cols=["price"], stats=["mean"], out_path=out)
    relative = (["price"] >> ops.LambdaOp(_relative_to_mean, dependency=[product_mean])
                >> ops.Rename(name="relative_price") >> ops.FillMissing(fill_val=0.0)
                >> ops.AddMetadata(tags=[Tags.CONTINUOUS]))
    target = ["target"] >> ops.AddMetadata(tags=[Tags.BINARY_CLASSIFICATION, Tags.TARGET])
    raw_ids = ["user_id", "product_id"] >> ops.Rename(postfix="_raw")
    outputs = user + context + item + item_features + price + relative + target + ["event_time_ts"] + raw_ids
    return nvt.Workflow(outputs)


def _dataset(path: Path, cpu: bool):
    import nvtabular as nvt

    return nvt.Dataset(str(path), engine="parquet", cpu=cpu)


def run_etl(prepared: str | Path, out: str | Path, cpu: bool | None = None) -> dict:
    """Fit on `prepared/train`, transform train and valid into `out` (atomically); return a summary."""
    from recsys_course import device

    prepared, out = Path(prepared), Path(out)
    for split in ("train", "valid"):
        if not (prepared / split).is_dir():
            raise FileNotFoundError(f"{prepared / split} is missing: run `python -m recsys_course prepare` first")
    cpu = (not device.current().is_gpu) if cpu is None else cpu
    with atomic_output(out) as tmp:
        workflow = build_workflow(tmp / "workflow")
        workflow.fit(_dataset(prepared / "train", cpu))
        for split in ("train", "valid"):
            workflow.transform(_dataset(prepared / split, cpu)).to_parquet(str(tmp / split), output_files=1)
        workflow.save(str(tmp / "workflow"))
        summary = {"columns": list(workflow.output_schema.column_names), "cardinalities": cardinalities(workflow)}
        (tmp / "etl.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def cardinalities(workflow) -> dict[str, int]:
    """Embedding-table rows per categorical column (distinct train values + 3 for pad, null and OOV)."""
    schema = workflow.output_schema
    return {c: int(schema[c].int_domain.max) + 1 for c in CATEGORICAL}
