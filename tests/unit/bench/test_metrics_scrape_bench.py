"""The scrape bench serves real Rollout series in each mode and reports its figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import metrics_scrape_bench  # noqa: E402


@pytest.mark.parametrize("mode", ["before", "warm"])
async def test_a_small_run_scrapes_every_rollouts_series(mode: str) -> None:
    out = await metrics_scrape_bench.run(mode, rollouts=20, scrapes=2)
    assert out["scrapes"] == 2 and out["lines"] > 20 * 8  # 6 phases + step + wait per Rollout, plus the runtime's
    assert out["scrape_s"]["max"] >= out["scrape_s"]["p50"] > 0
    assert out["loop_late_ms"]["max"] >= out["loop_late_ms"]["p99"] >= 0


def test_the_before_mode_decodes_at_every_scrape_and_the_others_keep_rows() -> None:
    assert "resourceVersion" not in metrics_scrape_bench.healthy_rollout(1, versioned=False)["metadata"]
    assert metrics_scrape_bench.healthy_rollout(1, versioned=True)["metadata"]["resourceVersion"] == "1001"


async def test_the_leader_mode_warms_then_scrapes_once() -> None:
    out = await metrics_scrape_bench.run("leader", rollouts=20, scrapes=3)
    assert out["scrapes"] == 1 and out["lines"] > 20 * 8
