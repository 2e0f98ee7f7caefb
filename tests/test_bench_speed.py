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
    small, real, month, *rest = prepare_speed_goals(tmp_path)
    assert small[2] == "met" and real[2].startswith("**missed**")
    # the real-size month's rate and peak come from the side-by-side run: 1M events in 16 s, 5 CPU-seconds
    assert month[1].startswith("1.0M events in 16 s: 0.06M events/s") and month[2].startswith("**missed**")
    assert "0.20M events per CPU-second: even two free cores" in month[2]
    assert all(status.startswith("**missed**") and "not measured" in status for _, _, status in rest)
    (tmp_path / "prepare_peer.json").write_text(json.dumps({"small": _case(1.0, same=False)}))
    small, real, *_ = prepare_speed_goals(tmp_path)
    assert small[2] == "**missed** — the rows differ" and "DIFFER" in small[1] and "not measured" in real[2]
    month = {"events": 45e6, "seconds": 40.0, "events_per_s": 1.1e6, "cpu_percent": 190, "max_rss_gb": 4.5}
    (tmp_path / "real_month.json").write_text(json.dumps(month))
    assert prepare_speed_goals(tmp_path)[2][2] == "**missed** — peak 4.50 GB"  # fast enough, but over 4 GB
    (tmp_path / "real_month.json").write_text(json.dumps({**month, "max_rss_gb": 1.0}))
    assert prepare_speed_goals(tmp_path)[2][2] == "met"
    seven = {"months": 7, "events": 7 * 35e6, "csv_gb": 33.7, "seconds": 600.0, "events_per_s": 0.4e6,
             "max_rss_gb": 3.0, "peak_rss_tree_gb": 3.1, "others_cpu_share": 0.5,
             "by_months": {"1": {"peak_rss_tree_gb": 1.2}, "7": {"peak_rss_tree_gb": 3.1}}}
    (tmp_path / "seven_months.json").write_text(json.dumps(seven))
    status = prepare_speed_goals(tmp_path)[3][2]  # under 4 GB, but smaller months than the real ones
    assert status.startswith("**missed**") and "months of 35M events, below" in status and "1 → " not in status
    (tmp_path / "seven_months.json").write_text(json.dumps({**seven, "events": 7 * 43e6}))
    assert prepare_speed_goals(tmp_path)[3][2] == "met"
    (tmp_path / "seven_months.json").write_text(json.dumps({**seven, "events": 7 * 43e6, "peak_rss_tree_gb": 4.2}))
    assert "peak 4.20 GB; by number of months: 1 → 1.20 GB, 7 → 3.10 GB" in prepare_speed_goals(tmp_path)[3][2]


# pytest's own tail, as the clean-clone run of 2026-12-04 printed it (trimmed to three durations)
PYTEST_TAIL = """..............................Future exception was never retrieved
...........                                [100%]
============================= slowest 3 durations =============================
62.08s setup    tests/test_compare.py::test_every_model_learns_and_stays_below_the_oracle
52.05s call     tests/test_notebooks.py::test_each_walkthrough_runs_at_tiny_and_its_recorded_values_are_in_band[04_compare_and_inspect.ipynb]
8.26s call     tests/test_mistakes.py::test_catalogue[lab06-q3-#A NaN predictions, saved and served]
1048 passed, 1 skipped in 417.59s (0:06:57)
"""


def test_the_clean_clone_run_is_read_from_pytests_output_and_judged_against_ten_minutes(tmp_path):
    from clean_clone import durations, summary  # bench/clean_clone.py

    slow = durations(PYTEST_TAIL)
    assert [(d["seconds"], d["phase"]) for d in slow] == [(62.08, "setup"), (52.05, "call"), (8.26, "call")]
    assert slow[2]["test"] == "tests/test_mistakes.py::test_catalogue[lab06-q3-#A NaN predictions, saved and served]"
    assert summary(PYTEST_TAIL) == {"counts": {"passed": 1048, "skipped": 1}, "pytest_seconds": 417.59}
    run = {"seconds": 521.0, **summary(PYTEST_TAIL), "slowest": slow, "commit": "99ede60abc", "others_cpu_share": 0.0}
    for seconds, status in ((521.0, "met"), (601.0, "**missed**")):
        (tmp_path / "make_test.json").write_text(json.dumps({**run, "seconds": seconds}))
        row = prepare_speed_goals(tmp_path)[-1]
        assert row[0].startswith("clean-clone `make test` ≤ 10 min") and row[2] == status
        assert row[1].startswith(f"{seconds / 60:.1f} min (pytest 7.0 min: 1048 passed, 1 skipped; at 99ede60")


def test_the_readme_says_how_long_make_test_took_on_a_clean_clone(tmp_path):
    from recsys_course.tools import readme

    run = {"seconds": 513.9, "pytest_seconds": 420.2, "cores": 2, "date": "2026-12-04 20:25 UTC"}
    (tmp_path / "make_test.json").write_text(json.dumps(run))
    said = readme.readme_make_test({}, tmp_path / "make_test.json")
    assert "**8.6 min** on 2 CPU cores, the install included (its tests 7.0 min" in said
    assert "not measured yet" in readme.readme_make_test({}, tmp_path / "none.json")
    assert readme.readme_make_test({}) in (REPO / "README.md").read_text()  # the README quotes bench/make_test.json
