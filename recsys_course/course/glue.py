"""Metrics a notebook records for its tests (as the recommenders team's `store_metadata`): `record(name=value, …)`
in a cell displays one MIME bundle of type METRICS that shows nothing to the learner; `recorded(nb)` reads them back
from an executed notebook, so a test asserts a band on a value instead of comparing printed text."""
from __future__ import annotations

import json
import math

METRICS = "application/vnd.recsys-course.metrics+json"


def record(**metrics) -> None:
    """Display `metrics` (name -> a finite number, a bool or a string) as one METRICS bundle; raise on anything else."""
    from IPython.display import display

    for name, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"metric {name!r} is {value}: a recorded metric must be finite")
        if not isinstance(value, (bool, int, float, str)):
            raise TypeError(f"metric {name!r} is a {type(value).__name__}: record a number, a bool or a string")
    display({METRICS: json.loads(json.dumps(metrics)), "text/plain": ""}, raw=True)


def recorded(nb) -> dict:
    """Every metric recorded in an executed notebook (an nbformat node or its dict), later records winning."""
    found: dict = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            found.update(out.get("data", {}).get(METRICS, {}))
    return found
