"""The soak bench's own logic: the RSS slope, the flat/grows verdict, and each Rollout's next move.

The soak needs a cluster and half an hour; these checks pin what its verdict and its "releases
completed" mean, so a figure in bench/RESULTS.md says what the text says.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import soak  # noqa: E402


def test_slope_is_per_minute_least_squares() -> None:
    points = [(t, 100 + 2 * t / 60) for t in range(0, 600, 30)]  # +2 per minute, exactly
    assert soak.slope_per_minute(points) == pytest.approx(2.0)
    noisy = [(0.0, 10.0), (60.0, 14.0), (120.0, 12.0), (180.0, 16.0)]  # fit: +1.6 per minute
    assert soak.slope_per_minute(noisy) == pytest.approx(1.6)


@pytest.mark.parametrize("points", [[], [(0.0, 5.0)], [(30.0, 1.0), (30.0, 9.0)]])
def test_slope_without_a_line_is_zero(points: list[tuple[float, float]]) -> None:
    assert soak.slope_per_minute(points) == 0.0


def test_verdict_ignores_the_warm_up_third() -> None:
    # 30 minutes sampled every 30 s: +30 MiB while caches fill in the first 10 minutes, then flat
    rss = [(float(t), 100 + min(t, 600) / 20) for t in range(0, 1830, 30)]
    v = soak.verdict(rss, flat_mib=2.0)
    assert v["flat"] is True
    assert v["slope_kib_per_min"] == pytest.approx(0.0, abs=0.1)
    assert (v["first_mib"], v["last_mib"], v["max_mib"]) == (100.0, 130.0, 130.0)
    assert v["window_min"] == pytest.approx(20.0, abs=0.5)


def test_verdict_reports_steady_growth() -> None:
    rss = [(float(t), 100 + t / 60 * 0.25) for t in range(0, 1830, 30)]  # 256 KiB/min, all along
    v = soak.verdict(rss, flat_mib=2.0)
    assert v["slope_kib_per_min"] == pytest.approx(256.0, rel=1e-3)
    assert v["fitted_growth_mib"] == pytest.approx(256 * 20 / 1024, rel=0.05)
    assert v["flat"] is False


def test_verdict_needs_samples_to_call_it_flat() -> None:
    assert soak.verdict([], flat_mib=2.0)["flat"] is False
    assert soak.verdict([(0.0, 1.0), (30.0, 1.0)], flat_mib=2.0)["flat"] is False


def status(phase: str, idx: int, state: str) -> dict:
    return {"phase": phase, "currentStepIndex": idx, "currentStepState": state}


def test_next_release_waits_for_the_gap_and_healthy() -> None:
    rel = soak.Release("ns", "app-0", idle_since=100.0)
    assert soak.next_action(rel, status("Healthy", 3, "Completed"), 105.0, gap=10, reapprove=30) == "wait"
    assert soak.next_action(rel, status("Progressing", 3, "Completed"), 111.0, gap=10, reapprove=30) == "wait"
    assert soak.next_action(rel, status("Healthy", 3, "Completed"), 111.0, gap=10, reapprove=30) == "release"


def test_a_release_counts_done_only_after_every_pause_was_approved() -> None:
    rel = soak.Release("ns", "app-0", editing_since=0.0)
    completed = status("Healthy", 3, "Completed")
    # the list right after the edit still shows the previous release's end: not this one's
    assert soak.next_action(rel, completed, 1.0, gap=10, reapprove=30) == "wait"
    assert soak.next_action(rel, status("Progressing", 1, "StepPaused"), 2.0, gap=10, reapprove=30) == "approve"
    rel.approved[1] = 2.0
    # a stale listing of the same pause is not approved again at once, but is after `reapprove`
    assert soak.next_action(rel, status("Progressing", 1, "StepPaused"), 4.0, gap=10, reapprove=30) == "wait"
    assert soak.next_action(rel, status("Progressing", 1, "StepPaused"), 33.0, gap=10, reapprove=30) == "approve"
    assert soak.next_action(rel, status("Progressing", 2, "StepPaused"), 5.0, gap=10, reapprove=30) == "approve"
    rel.approved[2] = 5.0
    assert soak.next_action(rel, status("Progressing", 3, "StepUpgrade"), 6.0, gap=10, reapprove=30) == "wait"
    assert soak.next_action(rel, completed, 7.0, gap=10, reapprove=30) == "done"


def test_stuck_counts_only_while_a_release_is_in_flight() -> None:
    rel = soak.Release("ns", "app-0")
    rel.observe(("Healthy", 3, "Completed", ""), 10.0)
    assert rel.stuck_for(1000.0) == 0.0  # between releases (the gap) nothing is expected to move
    rel.editing_since = 1000.0
    rel.observe(("Progressing", 1, "StepUpgrade", "batch 1"), 1001.0)
    rel.observe(("Progressing", 1, "StepUpgrade", "batch 1"), 1100.0)
    assert rel.stuck_for(1301.0) == pytest.approx(300.0)
