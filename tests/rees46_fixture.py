"""A small REES46 download that the course's generator did not write, carrying every quirk of the real files.

    python tests/rees46_fixture.py OUT_FOLDER

Seven months as a user who collected them has them: Kaggle's plain `2019-Oct.csv` (CRLF line ends) and
`2019-Nov.csv`, REES46's gzipped `2019-Dec.csv.gz` … `2020-Apr.csv.gz`. Plain Python, one seeded `random.Random`,
written independently of `recsys_course.data.generate` on purpose. The quirks (`QUIRKS` names them, the tests check
each one's treatment):

- second-level names shared by two top categories (`appliances.kitchen.*`, `furniture.kitchen.*`);
- 4-level category codes; empty `category_code` and empty `brand`;
- prices of 0.00 (product `ZERO_PRICE_PRODUCT` in November);
- events with an empty `user_session` (carts among them);
- a product whose category changes between months (`MOVED_PRODUCT`, from January);
- rows not time-ordered (neighbours swapped; one session's purchase is written before its cart);
- exact duplicate rows; CRLF line ends.
"""
from __future__ import annotations

import gzip
import math
import random
import sys
from pathlib import Path

HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
MONTHS = [(2019, 10, "Oct"), (2019, 11, "Nov"), (2019, 12, "Dec"), (2020, 1, "Jan"), (2020, 2, "Feb"),
          (2020, 3, "Mar"), (2020, 4, "Apr")]
DAYS = {10: 31, 11: 30, 12: 31, 1: 31, 2: 29, 3: 31, 4: 30}
CODES = [
    "electronics.smartphone", "electronics.audio.headphone", "electronics.video.tv", "computers.notebook",
    "computers.components.videocards", "appliances.kitchen.refrigerators", "appliances.kitchen.washer",
    "furniture.kitchen.table", "furniture.kitchen.chair", "furniture.living_room.sofa", "apparel.shoes.keds",
    "construction.tools.drill", "appliances.environment.vacuum", "computers.peripherals.printer",
    "appliances.kitchen.hob.gas", "apparel.shoes.sneakers.running",  # 4-level codes
]
EVENING_TOPS = {"electronics", "furniture", "apparel"}  # bought more often after 15:00 UTC; the others before
BRANDS = ["samsung", "apple", "xiaomi", "huawei", "lg", "bosch", "sony", "lenovo", "ikea", "nike", "makita", "hp"]
MOVED_PRODUCT = 1000013  # electronics.video.tv until December, electronics.video.projector from January
ZERO_PRICE_PRODUCT = 1000021  # priced 0.00 in November
QUIRKS = ("shared second-level names", "4-level codes", "empty category_code and brand", "price 0.00",
          "empty user_session", "category change between months", "rows not time-ordered", "exact duplicate rows",
          "CRLF line ends", "plain and gzipped months in one folder")


def _products(rng: random.Random) -> list[dict]:
    out = []
    for i in range(90):
        code = "" if rng.random() < 0.2 else CODES[i % len(CODES)]
        out.append({"id": 1000000 + i, "code": code, "category": 2053013555631882655 + 1000 * (i % 40),
                    "brand": "" if rng.random() < 0.15 else rng.choice(BRANDS),
                    "price": round(math.exp(rng.gauss(4.5, 0.8)), 2), "effect": rng.gauss(0, 0.8),
                    "weight": 1.0 / (1 + i % 30)})
    moved = out[MOVED_PRODUCT - 1000000]
    moved["code"], moved["brand"] = "electronics.video.tv", "lg"
    return out


def _code_of(product: dict, year: int, month: int) -> tuple[str, int]:
    if product["id"] == MOVED_PRODUCT and (year, month) >= (2020, 1):
        return "electronics.video.projector", product["category"] + 7
    return product["code"], product["category"]


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _purchase_probability(product: dict, user_effect: float, hour: int) -> float:
    top = product["code"].split(".")[0] if product["code"] else ""
    evening = hour >= 15
    logit = 0.2 + product["effect"] + user_effect + (0.9 if (top in EVENING_TOPS) == evening else -0.9)
    return 1 / (1 + math.exp(-logit))


def _session(rng: random.Random, when: int, user: tuple[int, float], products: list[dict], ym: tuple[int, int]):
    """(time, kind, product, price, session) events of one visit: views, some carts, purchases at the end."""
    session = "" if rng.random() < 0.01 else _uuid(rng)
    picked = rng.choices(products, weights=[p["weight"] for p in products], k=rng.randint(2, 5))
    events, t = [], when
    for p in picked:
        price = 0.0 if p["id"] == ZERO_PRICE_PRODUCT and ym == (2019, 11) else p["price"]
        for _ in range(rng.randint(1, 2)):
            t += rng.randint(5, 120)
            events.append((t, "view", p, price, session))
        if rng.random() < 0.6:
            t += rng.randint(5, 60)
            events.append((t, "cart", p, price, session))
    hour = (when // 3600) % 24
    for t_cart, kind, p, price, s in [e for e in events if e[1] == "cart"]:
        if rng.random() < _purchase_probability(p, user[1], hour):
            t += rng.randint(20, 300)
            events.append((t, "purchase", p, price, s))
    return events


def _row(event, user_id: int, ym: tuple[int, int]) -> str:
    import datetime as dt

    t, kind, p, price, session = event
    code, category = _code_of(p, *ym)
    stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp},{kind},{p['id']},{category},{code},{p['brand']},{price:.2f},{user_id},{session}"


def _month_rows(rng: random.Random, year: int, month: int, users: list, products: list[dict]) -> list[str]:
    import calendar

    start = calendar.timegm((year, month, 1, 0, 0, 0))
    rows = []
    for user in users:
        for _ in range(rng.choice((1, 2, 2, 3)) if user[0] % 4 else 6):  # every fourth user is a heavy shopper
            when = start + rng.randrange(DAYS[month] * 86400 - 7200)
            events = _session(rng, when, user, products, (year, month))
            rows += [(e[0], _row(e, user[0], (year, month))) for e in events]
    rows.sort()
    lines = [r for _, r in rows]
    for i in range(0, len(lines) - 1, 17):  # not time-ordered: swap neighbours
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    for i in sorted(rng.sample(range(len(lines)), len(lines) // 100), reverse=True):  # exact duplicates
        lines.insert(i, lines[i])
    return lines


def _planted_session(year: int, month: int) -> list[str]:
    """One known session written purchase-first (the file is not time-ordered): its label must be 1."""
    p = f"2053013555631882655,electronics.smartphone,apple,489.07,{ORDER_USER},{ORDER_SESSION}"
    return [f"{year}-{month:02d}-15 10:05:00 UTC,purchase,{ORDER_PRODUCT},{p}",
            f"{year}-{month:02d}-15 10:00:00 UTC,cart,{ORDER_PRODUCT},{p}"]


ORDER_USER, ORDER_PRODUCT, ORDER_SESSION = 512000001, 1000999, "0f0e0d0c-0b0a-4908-8706-050403020100"


def write_fixture(out: str | Path, seed: int = 11, n_users: int = 200) -> Path:
    """Write the seven monthly files into `out`; return it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    products = _products(rng)
    users = [(512000000 + i, rng.gauss(0, 0.5)) for i in range(n_users)]
    for year, month, abbr in MONTHS:
        lines = _month_rows(rng, year, month, users, products)
        if (year, month) == (2019, 11):
            lines = _planted_session(year, month) + lines
        if month == 10:
            (out / f"{year}-{abbr}.csv").write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode())
        elif month == 11:
            (out / f"{year}-{abbr}.csv").write_text("\n".join([HEADER, *lines]) + "\n")
        else:
            with gzip.GzipFile(out / f"{year}-{abbr}.csv.gz", "wb", mtime=0) as f:  # mtime 0: same bytes each run
                f.write(("\n".join([HEADER, *lines]) + "\n").encode())
    return out


if __name__ == "__main__":
    print(write_fixture(sys.argv[1]))
