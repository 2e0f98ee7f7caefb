"""The synthetic catalogue's vocabulary: category tree and brand names (deterministic, no randomness here).

The tree mirrors the REES46 shape: 13 top-level categories, 60 second-level ones, and 88 third-level
leaves (89 values of cat_2 with 'NA'), plus a couple of rare fourth-level codes.
"""
from __future__ import annotations

SECOND_LEVEL: dict[str, list[str]] = {
    "electronics": ["smartphone", "audio", "video", "clocks", "tablet", "telephone", "camera"],
    "appliances": ["kitchen", "environment", "personal", "iron", "sewing_machine", "ironing_board"],
    "computers": ["notebook", "desktop", "peripherals", "components", "network", "ebooks"],
    "apparel": ["shoes", "costume", "jeans", "jacket", "underwear", "scarf"],
    "furniture": ["living_room", "bedroom", "dining", "bathroom", "universal"],
    "auto": ["accessories", "parts", "tires"],
    "construction": ["tools", "fittings", "storage", "lighting"],
    "kids": ["toys", "carriage", "skates", "nursery", "dolls"],
    "accessories": ["bag", "wallet", "umbrella", "jewelry"],
    "sport": ["bicycle", "tennis", "ski", "trainer", "snowboard"],
    "medicine": ["devices", "massage"],
    "country_yard": ["cultivator", "lawn_mower", "weather_station"],
    "stationery": ["cartrige", "battery", "paper", "pen"],
}

# The third level: the leaves under each second-level node that has one, in the order they are dealt out (round
# robin over those nodes: leaf j goes under node j % 34, word j // 34). The first 20 nodes get three leaves, the other
# 14 two; every word is unique, so cat_2 has 88 values (89 with 'NA'), and each leaf belongs to its parents.
THIRD_LEVEL: dict[str, list[str]] = {
    "bedroom": ["bed", "blanket", "pillow"],
    "dining": ["table", "chair", "cupboard"],
    "bathroom": ["bath", "toilet", "mirror"],
    "universal": ["shelf", "cabinet", "lamp"],
    "accessories": ["radar", "alarm", "videoregister"],
    "parts": ["compressor", "pump", "charger"],
    "tires": ["summer", "winter", "all_season"],
    "tools": ["drill", "saw", "welding"],
    "fittings": ["faucet", "pipe", "valve"],
    "storage": ["toolbox", "rack", "box"],
    "lighting": ["light", "bulb", "spotlight"],
    "toys": ["puzzle", "constructor", "robot"],
    "carriage": ["stroller", "pram", "car_seat"],
    "skates": ["roller", "skateboard", "scooter"],
    "nursery": ["crib", "changing_table", "baby_monitor"],
    "dolls": ["doll", "dollhouse", "plush"],
    "bag": ["backpack", "handbag", "suitcase"],
    "wallet": ["purse", "card_holder", "money_clip"],
    "umbrella": ["golf", "parasol", "compact"],
    "jewelry": ["ring", "necklace", "earrings"],
    "bicycle": ["cruiser", "city_bike"],
    "tennis": ["racket", "ball"],
    "ski": ["skis", "ski_boots"],
    "trainer": ["treadmill", "dumbbells"],
    "snowboard": ["board", "bindings"],
    "devices": ["thermometer", "tonometer"],
    "massage": ["massager", "massage_chair"],
    "cultivator": ["tiller", "motoblock"],
    "lawn_mower": ["mower", "trimmer"],
    "weather_station": ["barometer", "rain_gauge"],
    "cartrige": ["toner", "ink"],
    "battery": ["alkaline", "rechargeable"],
    "paper": ["wrapping", "notepad"],
    "pen": ["ballpoint", "marker"],
}
N_THIRD = 88  # with 'NA' this gives the 89 cat_2 values of the 2022 workshop data

BRAND_HEAD: list[str] = [
    "samsung", "apple", "xiaomi", "huawei", "lucente", "lg", "bosch", "oppo", "sony", "acer",
    "lenovo", "artel", "indesit", "respect", "elenberg", "cordiant", "haier", "philips", "asus", "hp",
]
_SYLLABLES = ["ka", "ro", "mi", "ten", "vo", "lux", "zen", "tra", "bel", "dor", "fi", "na", "sta", "quo", "rix", "pol"]


def brand_names(n: int) -> list[str]:
    """`n` distinct lowercase brand names: a head of well-known names, then made-up ones."""
    names = list(BRAND_HEAD[:n])
    k = len(_SYLLABLES)
    i = 0
    while len(names) < n:
        a, b, c = i % k, (i // k) % k, (i // (k * k)) % k
        tail = "" if i < k * k else _SYLLABLES[c]
        names.append(_SYLLABLES[a] + _SYLLABLES[b] + tail)
        i += 1
    return names


def category_codes() -> list[tuple[str, ...]]:
    """Every category code of the tree as a tuple of levels (2, 3 or 4 levels)."""
    seconds = [(top, sec) for top, secs in SECOND_LEVEL.items() for sec in secs]
    assert len(SECOND_LEVEL) == 13 and len(seconds) == 60
    # Unique second-level names make cat_1 nested in cat_0, the premise of notebook 03's nested-cross lesson.
    assert len({sec for _, sec in seconds}) == 60
    codes: list[tuple[str, ...]] = []
    # The first 26 second-level nodes are leaves; the rest share the 88 third-level leaves.
    leaves2, with_third = seconds[:26], seconds[26:]
    codes.extend(leaves2)
    assert list(THIRD_LEVEL) == [sec for _, sec in with_third]
    for j in range(N_THIRD):
        top, sec = with_third[j % len(with_third)]
        codes.append((top, sec, THIRD_LEVEL[sec][j // len(with_third)]))
    assert len({c[2] for c in codes[len(leaves2):]}) == N_THIRD
    # Two rare fourth-level codes (~0.1% of events once their popularity is applied).
    codes.append(codes[-1] + ("gold",))  # accessories.jewelry.earrings.gold
    codes.append(codes[-2] + ("silver",))  # accessories.jewelry.earrings.silver
    return codes
