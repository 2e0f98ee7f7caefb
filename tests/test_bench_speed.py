"""The preparation's speed figures (issue 20): the README quotes them as bench/report.py renders them, and each goal's
verdict follows the numbers."""
from __future__ import annotations

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from report import prepare_speed_goals, prepare_speed_paragraph  # noqa: E402

BENCH = REPO / "bench"


def test_the_readme_quotes_the_peer_measurement():
    paragraph = prepare_speed_paragraph(BENCH)
    assert paragraph, "bench/prepare_peer.json is missing: run bench/peer_polars.py compare"
    assert " ".join(paragraph.split()) in " ".join((REPO / "README.md").read_text().split())


def _case(ratio: float, same: bool = True) -> dict:
    run = [{"seconds": 10.0 * ratio, "cpu_seconds": 5.0, "max_rss_gb": 1.0}]
    return {"ratio": ratio, "course_median_s": 10.0 * ratio, "peer_median_s": 10.0, "rounds": 1, "course": run,
            "peer": [{"seconds": 10.0, "cpu_seconds": 4.0, "max_rss_gb": 1.0}], "others_cpu_share": 0.5,
            "events": 1_000_000, "same_rows": {"train": {"same": same}, "valid": {"same": True}}}


def test_each_goal_follows_its_numbers(tmp_path):
    (tmp_path / "prepare_peer.json").write_text(json.dumps({"small": _case(1.4), "real_month": _case(1.6)}))
    small, real, *rest = prepare_speed_goals(tmp_path)
    assert small[2] == "met" and real[2].startswith("**missed**")
    assert all(status.startswith("**missed**") and "not measured" in status for _, _, status in rest)
    (tmp_path / "prepare_peer.json").write_text(json.dumps({"small": _case(1.0, same=False)}))
    small, real, *_ = prepare_speed_goals(tmp_path)
    assert small[2] == "**missed** — the rows differ" and "DIFFER" in small[1] and "not measured" in real[2]
    month = {"events": 45e6, "seconds": 40.0, "events_per_s": 1.1e6, "cpu_percent": 190, "max_rss_gb": 4.5}
    (tmp_path / "real_month.json").write_text(json.dumps(month))
    assert prepare_speed_goals(tmp_path)[2][2] == "**missed** — peak 4.50 GB"  # fast enough, but over 4 GB
    (tmp_path / "real_month.json").write_text(json.dumps({**month, "max_rss_gb": 1.0}))
    assert prepare_speed_goals(tmp_path)[2][2] == "met"
