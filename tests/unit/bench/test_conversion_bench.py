"""The conversion bench answers real reviews in both modes and reports microseconds per object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import conversion_bench  # noqa: E402


def test_the_benchmarked_rollout_converts_in_both_modes() -> None:
    for owned in (False, True):
        assert conversion_bench.per_object_us(owned, objects=3, rounds=2) > 0


def test_the_review_carries_the_objects_it_says() -> None:
    body = json.loads(conversion_bench.review(4))
    assert len(body["request"]["objects"]) == 4
    assert body["request"]["objects"][0]["metadata"]["managedFields"][2]["subresource"] == "status"
