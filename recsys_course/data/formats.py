"""The course's data formats in one place: the REES46 CSV columns, the prepared rows, the model's columns.

Every other module (generator, preparation, NVTabular workflow, exercises, notebooks, tests) imports these
names instead of restating them.
"""
from __future__ import annotations

import calendar

# ---- raw: the REES46 "eCommerce behavior data from multi category store" monthly CSVs ----
HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
COLUMNS = HEADER.split(",")
EVENT_TYPES = ("view", "cart", "purchase")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # followed by " UTC" in the files
# The seven months of the 2022 workshop: Kaggle has Oct and Nov 2019; REES46 publishes Dec 2019 - Apr 2020.
MONTHS = [(2019, 10), (2019, 11), (2019, 12), (2020, 1), (2020, 2), (2020, 3), (2020, 4)]


def month_filename(year: int, month: int, gzip: bool = False) -> str:
    """`2019-Oct.csv` (or `.csv.gz`): the monthly file names of the Kaggle and REES46 downloads."""
    return f"{year}-{calendar.month_abbr[month]}.csv" + (".gz" if gzip else "")


# ---- prepared: one labelled row per (user, product) cart ----
CAT_LEVELS = 4  # category_code "a.b.c.d" -> cat_0 .. cat_3 ("NA" when missing)
TARGET = "target"
PREPARED_COLUMNS = ["user_id", "product_id", "cat_0", "cat_1", "cat_2", "cat_3", "brand", "price",
                    "event_time_ts", "ts_hour", "ts_weekday", "user_session", TARGET]

# ---- processed: what the NVTabular workflow writes and the models read ----
CATEGORICAL = ["user_id", "ts_weekday", "ts_hour", "product_id", "cat_0", "cat_1", "cat_2", "brand"]
CONTINUOUS = ["price", "relative_price"]
FEATURES = CATEGORICAL + CONTINUOUS  # the ten inputs of every model
MODEL_COLUMNS = FEATURES + [TARGET]  # in the order the 2022 notebook's schema lists them
# Kept for analysis and ranking, removed with `schema.without(EXTRA_COLUMNS)` before modelling.
EXTRA_COLUMNS = ["event_time_ts", "user_id_raw", "product_id_raw"]
# Features a cross can be made of: the categorical ones that describe the item and its context (ids excluded).
CROSS_CANDIDATES = ["ts_weekday", "ts_hour", "cat_0", "cat_1", "cat_2", "brand"]
