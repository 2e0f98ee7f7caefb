"""The generator's ground truth, where it exists: the sidecar files, and the oracle's scores on prepared rows.

Real REES46 downloads have no sidecars: every function here then answers None, and the notebooks say once that
there is no known ground truth instead of showing an oracle figure.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_course.metrics import auc, logloss

ORACLE_FILE = "_oracle.parquet"  # the true purchase probability of every labelled cart pair
META_FILE = "_generator.json"  # scale, seed, planted effects, counts


class OracleMismatch(ValueError):
    """The sidecar does not belong to the CSVs beside it."""


def generator_meta(raw: str | Path) -> dict | None:
    """The generator's metadata, or None for real data."""
    path = Path(raw) / META_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _lookup(left, right) -> np.ndarray:
    """For each row of `left`, the position of its (user_session, product_id) in `right` (-1: absent): a left merge
    validated one-to-one as pandas' `validate="one_to_one"` does, on integer codes of the pairs (Arrow tables: the
    sessions are hashed in C++, never turned into Python strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sessions = pa.chunked_array(left["user_session"].chunks + right["user_session"].chunks, type=pa.string())
    codes = pc.dictionary_encode(sessions).combine_chunks().indices.to_numpy().astype(np.int64)
    products = np.concatenate([left["product_id"].to_numpy(), right["product_id"].to_numpy()])
    pairs = pd.Series(codes * (int(products.max(initial=0)) + 1) + products)
    left_unique = not pairs.iloc[:len(left)].duplicated().any()
    right_unique = not pairs.iloc[len(left):].duplicated().any()
    if not (left_unique and right_unique):
        where = "either left or right" if not (left_unique or right_unique) else ("left" if right_unique else "right")
        raise pd.errors.MergeError(f"Merge keys are not unique in {where} dataset; not a one-to-one merge")
    return pd.Index(pairs.iloc[len(left):].to_numpy()).get_indexer(pairs.iloc[:len(left)].to_numpy())


def _read(path: Path, columns: list[str]):
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns)


def oracle_metrics(raw: str | Path, prepared: str | Path) -> dict | None:
    """AUC and log-loss of the true probabilities on the prepared train and valid rows (None for real data)."""
    sidecar = Path(raw) / ORACLE_FILE
    if not sidecar.exists():
        return None
    truth = _read(sidecar, ["user_session", "product_id", "p_true", "purchased"])
    p_true, purchased = truth["p_true"].to_numpy(), truth["purchased"].to_numpy().astype("int8")
    result = {}
    for name in ("train", "valid"):
        rows = _read(Path(prepared) / name, ["user_session", "product_id", "target"])
        at = _lookup(rows, truth)
        found = at >= 0
        p = np.where(found, p_true[np.maximum(at, 0)] if len(p_true) else np.nan, np.nan)
        y = rows["target"].to_numpy()
        if np.isnan(p).any() or (purchased[at[found]] != y[found]).any():
            raise OracleMismatch(f"{sidecar}: does not match the CSVs beside it (labels or pairs differ)")
        result[name] = {"auc": round(auc(y, p), 4), "logloss": round(logloss(y, p), 4)}
    return result


def valid_auc(prepared: str | Path) -> float | None:
    """The oracle's validation AUC recorded by `prepare`, or None when the data has no known ground truth."""
    summary = json.loads((Path(prepared) / "prepare.json").read_text())
    oracle = summary.get("oracle")
    return float(oracle["valid"]["auc"]) if oracle else None


NO_GROUND_TRUTH = ("This data has no known ground truth (real REES46 files, or data without the generator's "
                   "sidecars): oracle figures are not shown, and every comparison is between models only.")
