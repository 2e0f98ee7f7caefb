"""Ranking with a trained model: score every known product for one user."""
from __future__ import annotations

from recsys_course.data import read_processed


def item_features(paths) -> "pd.DataFrame":  # noqa: F821
    """Each product's latest processed features (encoded ids, price), with its raw id."""
    items = ["product_id", "cat_0", "cat_1", "cat_2", "brand", "price", "relative_price", "product_id_raw"]
    train = read_processed(paths.train, items + ["event_time_ts"])
    return train.sort_values("event_time_ts").drop_duplicates("product_id", keep="last")[items].reset_index(drop=True)


def rank_for_user(model, paths, user_raw_id: int, k: int = 10) -> "pd.DataFrame":  # noqa: F821
    """Score every known product for one user in the context of their latest row; the top k."""
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    rows = read_processed(paths.valid)
    mine = rows[rows["user_id_raw"] == user_raw_id].sort_values("event_time_ts")
    if mine.empty:
        raise ValueError(f"user {user_raw_id} has no validation row")
    last = mine.iloc[-1]
    items = item_features(paths)
    feats = {c: items[c].to_numpy() for c in items.columns if c != "product_id_raw"}
    for c in ("user_id", "ts_weekday", "ts_hour"):
        feats[c] = np.full(len(items), last[c])
    batch = {c: tf.constant(v.reshape(-1, 1), dtype=tf.float32 if v.dtype.kind == "f" else tf.int64)
             for c, v in feats.items()}
    scores = np.asarray(model(batch)).reshape(-1)
    out = items.assign(score=scores).nlargest(k, "score")
    raw = pd.read_parquet(paths.prepared / "train", columns=["product_id", "cat_0", "cat_1", "brand"])
    raw = raw.drop_duplicates("product_id").rename(columns={"product_id": "product_id_raw"})
    return out[["product_id_raw", "score"]].merge(raw, on="product_id_raw", how="left").reset_index(drop=True)
