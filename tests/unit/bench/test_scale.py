"""The scale bench's reading of the manager's reconcile histogram and its poll interval.

The issue's "reconcile p99 < 1 s" is judged from these figures; the bucket bound alone says only
"somewhere in (0.5, 1]", so the bench also prints PromQL's linear estimate inside that bucket.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import scale  # noqa: E402

INF = float("inf")
METRICS = "\n".join([
    '# TYPE controller_runtime_reconcile_time_seconds histogram',
    'controller_runtime_reconcile_time_seconds_bucket{controller="rollout",le="0.1"} 50.0',
    'controller_runtime_reconcile_time_seconds_bucket{controller="rollout",le="0.5"} 90.0',
    'controller_runtime_reconcile_time_seconds_bucket{controller="rollout",le="1.0"} 100.0',
    'controller_runtime_reconcile_time_seconds_bucket{controller="rollout",le="+Inf"} 100.0',
    'controller_runtime_reconcile_time_seconds_bucket{controller="idle",le="+Inf"} 0.0',
])


def test_interpolated_is_linear_inside_the_bucket_holding_the_rank() -> None:
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (INF, 100.0)]
    assert scale.interpolated(buckets, 0.99) == pytest.approx(0.95)  # 9 of the 10 in (0.5, 1]
    assert scale.interpolated(buckets, 0.5) == pytest.approx(0.1)
    assert scale.interpolated(buckets, 0.25) == pytest.approx(0.05)  # first bucket starts at 0


def test_interpolated_in_the_open_bucket_is_its_lower_bound() -> None:
    assert scale.interpolated([(1.0, 90.0), (INF, 100.0)], 0.99) == 1.0


def test_percentiles_per_controller_give_bound_and_estimate_and_skip_empty_ones() -> None:
    out = scale.reconcile_percentiles(METRICS)
    assert out == {"rollout": {"reconciles": 100, "p50": "<= 0.1 s", "p99": "<= 1 s", "p99_interpolated_s": 0.95}}


def test_percentiles_since_an_earlier_scrape_count_only_the_reconciles_between() -> None:
    earlier = METRICS.replace("} 50.0", "} 40.0").replace("} 90.0", "} 40.0").replace("} 100.0", "} 40.0")
    out = scale.reconcile_percentiles(METRICS, since=earlier)  # the 60 later ones: 10 fast, 50 in (0.1, 0.5]
    assert out["rollout"]["reconciles"] == 60 and out["rollout"]["p50"] == "<= 0.5 s"
    assert scale.reconcile_percentiles(METRICS, since=METRICS) == {}  # nothing new: no figure


@pytest.mark.parametrize(("n", "seconds"), [(10, 1.0), (1000, 1.0), (10000, 10.0)])
def test_poll_slows_with_the_number_of_rollouts(n: int, seconds: float) -> None:
    assert scale.poll_seconds(n) == seconds


GC = "\n".join([
    'python_gc_duration_seconds_bucket{generation="2",le="0.01"} 1.0',
    'python_gc_duration_seconds_bucket{generation="2",le="0.5"} 1.0',
    'python_gc_duration_seconds_bucket{generation="2",le="1.0"} 3.0',
    'python_gc_duration_seconds_bucket{generation="2",le="2.5"} 3.0',
    'python_gc_duration_seconds_bucket{generation="2",le="+Inf"} 3.0',
    'python_gc_duration_seconds_sum{generation="2"} 1.7504',
    'python_gc_duration_seconds_bucket{generation="0",le="0.01"} 0.0',
    'python_gc_duration_seconds_bucket{generation="0",le="+Inf"} 0.0',
])


def test_gc_pauses_give_count_longest_bucket_and_total_per_generation() -> None:
    assert scale.gc_pauses(GC) == {"2": {"collections": 3, "longest_le_s": 1.0, "total_s": 1.75}}


def test_queue_work_sums_depths_and_reconciles_over_controllers() -> None:
    text = "\n".join(['workqueue_depth{name="rollout"} 3.0', 'workqueue_depth{name="batchrelease"} 1.0',
                      'controller_runtime_reconcile_total{controller="rollout",result="success"} 10.0',
                      'controller_runtime_reconcile_total{controller="rollout",result="error"} 2.0'])
    assert scale.queue_work(text) == (4.0, 12.0)


def test_hottest_gives_inclusive_shares_of_our_frames_only() -> None:
    raw = "\n".join(["main (x.py:1);Store.list (runtime/cache/store.py:156) 30",
                     "main (x.py:1);select (selectors.py:468) 70",
                     "main (x.py:1);reconcile (rollouts/controllers/a.py:9);"
                     "Store.list (runtime/cache/store.py:156) 10"])
    assert scale.hottest(raw, 5) == [" 36.4 % Store.list (runtime/cache/store.py:156)",
                                     "  9.1 % reconcile (rollouts/controllers/a.py:9)", "(110 samples)"]


def test_conversions_are_read_per_desired_version() -> None:
    text = "\n".join(['kruise_rollout_conversion_objects_total{desired_version="v1alpha1"} 30012.0',
                      'kruise_rollout_conversion_objects_total{desired_version="v1beta1"} 0.0'])
    assert scale.conversions(text) == {"v1alpha1": 30012, "v1beta1": 0}


def test_the_burst_breakdown_reads_api_throttle_and_loop_lag_between_two_scrapes() -> None:
    before = "\n".join([
        'rest_client_request_duration_seconds_bucket{method="PATCH",le="0.1"} 10.0',
        'rest_client_request_duration_seconds_bucket{method="PATCH",le="+Inf"} 10.0',
        'rest_client_rate_limiter_duration_seconds_bucket{method="PATCH",le="0.001"} 10.0',
        'rest_client_rate_limiter_duration_seconds_bucket{method="PATCH",le="1.0"} 10.0',
        'rest_client_rate_limiter_duration_seconds_bucket{method="PATCH",le="+Inf"} 10.0',
        'python_asyncio_event_loop_lag_seconds_bucket{le="0.01"} 5.0',
        'python_asyncio_event_loop_lag_seconds_bucket{le="0.5"} 5.0',
        'python_asyncio_event_loop_lag_seconds_bucket{le="+Inf"} 5.0',
    ])
    after = (before.replace('le="0.1"} 10.0', 'le="0.1"} 30.0').replace('le="+Inf"} 10.0', 'le="+Inf"} 30.0')
             .replace('le="1.0"} 10.0', 'le="1.0"} 30.0').replace('le="0.5"} 5.0', 'le="0.5"} 7.0')
             .replace('lag_seconds_bucket{le="+Inf"} 5.0', 'lag_seconds_bucket{le="+Inf"} 7.0'))
    out = scale.burst_breakdown(after, before)
    assert out["api_request"]["PATCH"]["count"] == 20 and out["api_request"]["PATCH"]["p99"] == "<= 0.1 s"
    assert out["client_throttle"]["PATCH"]["p99"] == "<= 1 s"  # the 20 new waits were all in (0.001, 1]
    assert out["loop_lag"]["count"] == 2 and out["loop_lag"]["p50"] == "<= 0.5 s"


async def test_until_cpu_below_returns_after_a_quiet_window_and_nan_while_busy() -> None:
    import os
    import threading

    assert 0 < await scale.until_cpu_below(os.getpid(), 50.0, window=0.1, timeout=5.0) < 1.0  # this test sleeps
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    busy = threading.Thread(target=spin)
    busy.start()
    try:
        got = await scale.until_cpu_below(os.getpid(), 5.0, window=0.2, timeout=0.5)
    finally:
        stop.set()
        busy.join()
    assert got != got  # NaN: a spinning thread keeps this process above 5 % of a core
