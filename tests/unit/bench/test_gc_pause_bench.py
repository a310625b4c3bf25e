"""The GC pause A/B bench reports both modes' figures and leaves the collector as it found it."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import gc_pause_bench  # noqa: E402


async def test_a_small_run_reports_its_figures_and_unfreezes() -> None:
    callbacks = list(gc.callbacks)
    out = await gc_pause_bench.run_mode(True, objects=200, updates=400)
    assert out["freeze"] is True and out["updates"] == 400
    assert out["probe_late_ms"]["max"] >= out["probe_late_ms"]["p99"] >= out["probe_late_ms"]["p50"] >= 0
    assert out["all_collections_total_s"] >= 0 and out["rss_mib"] > 0
    assert gc.get_freeze_count() == 0 and gc.callbacks == callbacks
