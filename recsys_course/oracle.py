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


def _one_to_one(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """pandas' `validate="one_to_one"` of a merge on (user_session, product_id), on integer codes (faster)."""
    codes, _ = pd.factorize(pd.concat([left["user_session"], right["user_session"]], ignore_index=True))
    pairs = pd.Series(codes * (int(max(left["product_id"].max(), right["product_id"].max(), 0)) + 1)
                      + np.concatenate([left["product_id"].to_numpy(), right["product_id"].to_numpy()]))
    left_unique = not pairs.iloc[:len(left)].duplicated().any()
    right_unique = not pairs.iloc[len(left):].duplicated().any()
    if not (left_unique and right_unique):
        where = "either left or right" if not (left_unique or right_unique) else ("left" if right_unique else "right")
        raise pd.errors.MergeError(f"Merge keys are not unique in {where} dataset; not a one-to-one merge")


def oracle_metrics(raw: str | Path, prepared: str | Path) -> dict | None:
    """AUC and log-loss of the true probabilities on the prepared train and valid rows (None for real data)."""
    sidecar = Path(raw) / ORACLE_FILE
    if not sidecar.exists():
        return None
    truth = pd.read_parquet(sidecar, columns=["user_session", "product_id", "p_true", "purchased"])
    result = {}
    for name in ("train", "valid"):
        rows = pd.read_parquet(Path(prepared) / name, columns=["user_session", "product_id", "target"])
        _one_to_one(rows, truth)
        joined = rows.merge(truth, on=["user_session", "product_id"], how="left")
        if joined["p_true"].isna().any() or (joined["purchased"].astype("int8") != joined["target"]).any():
            raise OracleMismatch(f"{sidecar}: does not match the CSVs beside it (labels or pairs differ)")
        p, y = joined["p_true"].to_numpy(), joined["target"].to_numpy()
        result[name] = {"auc": round(auc(y, p), 4), "logloss": round(logloss(y, p), 4)}
    return result


def valid_auc(prepared: str | Path) -> float | None:
    """The oracle's validation AUC recorded by `prepare`, or None when the data has no known ground truth."""
    summary = json.loads((Path(prepared) / "prepare.json").read_text())
    oracle = summary.get("oracle")
    return float(oracle["valid"]["auc"]) if oracle else None


NO_GROUND_TRUTH = ("This data has no known ground truth (real REES46 files, or data without the generator's "
                   "sidecars): oracle figures are not shown, and every comparison is between models only.")
