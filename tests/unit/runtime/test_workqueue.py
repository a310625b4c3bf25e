"""Work-queue invariants, delaying semantics and rate-limiter arithmetic, on a FakeClock."""

import asyncio

import pytest

from runtime.clock import FakeClock
from runtime.workqueue import (
    BucketRateLimiter,
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimitingQueue,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
)


async def test_dedup_and_fifo():
    q = WorkQueue()
    for item in ["a", "b", "a", "c", "b"]:
        q.add(item)
        q.check_invariants()
    assert len(q) == 3
    assert [await q.get(), await q.get(), await q.get()] == ["a", "b", "c"]
    q.check_invariants()


async def test_readd_while_processing_is_kept_and_requeued_on_done():
    q = WorkQueue()
    q.add("a")
    item = await q.get()
    q.add("a")  # event arrives while a worker holds "a"
    q.check_invariants()
    assert len(q) == 0, "must not be handed to a second worker while processing"
    q.done(item)
    q.check_invariants()
    assert len(q) == 1
    assert await q.get() == "a"


async def test_one_worker_per_key_under_concurrency():
    q = WorkQueue()
    active: set[str] = set()
    seen = []

    async def worker():
        while True:
            try:
                item = await q.get()
            except ShutDown:
                return
            assert item not in active, "two workers on one key"
            active.add(item)
            await asyncio.sleep(0)
            q.add(item) if len(seen) < 50 else None  # re-add while processing
            seen.append(item)
            await asyncio.sleep(0)
            active.discard(item)
            q.done(item)
            q.check_invariants()

    for i in range(5):
        q.add(f"k{i % 3}")
    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for _ in range(200):
        await asyncio.sleep(0)
    assert await q.shutdown_with_drain(timeout=1)
    await asyncio.gather(*workers)
    assert len(seen) >= 50


async def test_fairness_hot_key_goes_to_back():
    q = WorkQueue()
    q.add("hot")
    q.add("cold")
    hot = await q.get()
    q.add("hot")
    q.done(hot)
    assert await q.get() == "cold"


async def test_done_of_unknown_item_raises():
    with pytest.raises(ValueError):
        WorkQueue().done("nope")


async def test_shutdown_wakes_getters_and_ignores_adds():
    q = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.shutdown()
    with pytest.raises(ShutDown):
        await getter
    q.add("x")
    assert len(q) == 0


async def test_shutdown_hands_out_remaining_items_first():
    q = WorkQueue()
    q.add("a")
    q.shutdown()
    assert await q.get() == "a"
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_with_drain_waits_for_processing():
    q = WorkQueue()
    q.add("a")
    item = await q.get()
    drain = asyncio.create_task(q.shutdown_with_drain(timeout=5))
    await asyncio.sleep(0)
    assert not drain.done()
    q.done(item)
    assert await drain is True


async def test_cancelled_getter_passes_wakeup_on():
    q = WorkQueue()
    g1 = asyncio.create_task(q.get())
    g2 = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")
    g1.cancel()
    await asyncio.sleep(0)
    assert await asyncio.wait_for(g2, 1) == "a"


async def test_delaying_earliest_wins():
    clock = FakeClock()
    q = DelayingQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 5)   # earlier: wins
    q.add_after("a", 20)  # later: ignored
    assert q.waiting == 1
    await clock.advance(4.9)
    assert len(q) == 0
    await clock.advance(0.1)
    assert len(q) == 1 and q.waiting == 0
    await clock.advance(100)
    assert len(q) == 1, "superseded entries must not add the item again"
    q.shutdown()


async def test_delaying_orders_by_ready_time_and_zero_delay_adds_now():
    clock = FakeClock()
    q = DelayingQueue(clock=clock)
    q.add_after("late", 3)
    q.add_after("early", 1)
    q.add_after("now", 0)
    assert await q.get() == "now"
    await clock.advance(1)
    assert await q.get() == "early"
    await clock.advance(2)
    assert await q.get() == "late"
    q.shutdown()


async def test_delaying_new_earlier_item_interrupts_long_sleep():
    clock = FakeClock()
    q = DelayingQueue(clock=clock)
    q.add_after("slow", 1000)
    await clock.advance(0)
    q.add_after("fast", 1)
    await clock.advance(1)
    assert await asyncio.wait_for(q.get(), 1) == "fast"
    q.shutdown()


@pytest.mark.parametrize(
    "failures, expected",
    [(0, 0.005), (1, 0.01), (2, 0.02), (10, 5.12), (17, 655.36), (18, 1000.0), (100, 1000.0), (5000, 1000.0)],
)
def test_item_exponential_table(failures, expected):
    rl = ItemExponentialFailureRateLimiter(0.005, 1000)
    for _ in range(failures):
        rl.when("x")
    assert rl.when("x") == pytest.approx(expected)
    assert rl.num_requeues("x") == failures + 1
    rl.forget("x")
    assert rl.num_requeues("x") == 0 and rl.when("x") == pytest.approx(0.005)


@pytest.mark.parametrize(
    "qps, burst, calls, step, expected_last",
    [
        (10, 100, 100, 0.0, 0.0),     # burst absorbs 100 at once
        (10, 100, 101, 0.0, 0.1),     # 101st waits one token
        (10, 100, 110, 0.0, 1.0),     # 110th waits ten tokens
        (10, 1, 2, 0.1, 0.0),         # refilled between calls
        (2, 1, 3, 0.0, 1.0),
    ],
)
def test_bucket_table(qps, burst, calls, step, expected_last):
    clock = FakeClock()
    rl = BucketRateLimiter(qps=qps, burst=burst, clock=clock)
    delay = None
    for _ in range(calls):
        delay = rl.when("x")
        clock.step(step)
    assert delay == pytest.approx(expected_last)


def test_max_of_default_controller_limiter():
    clock = FakeClock()
    rl = default_controller_rate_limiter(clock=clock)
    assert isinstance(rl, MaxOfRateLimiter)
    assert rl.when("a") == pytest.approx(0.005)
    assert rl.when("a") == pytest.approx(0.01)
    for i in range(98):
        rl.when(f"other{i}")
    # bucket exhausted: the next failure of a fresh item waits for the bucket, not 5 ms
    assert rl.when("b") == pytest.approx(0.1)
    assert rl.num_requeues("a") == 2
    rl.forget("a")
    assert rl.num_requeues("a") == 0


async def test_rate_limiting_queue_requeues_and_forgets():
    clock = FakeClock()
    q = RateLimitingQueue(clock=clock, rate_limiter=ItemExponentialFailureRateLimiter(1, 60))
    q.add_rate_limited("a")
    q.add_rate_limited("a")  # second failure: 2 s, but the 1 s entry is earlier and wins
    assert q.num_requeues("a") == 2
    await clock.advance(1)
    assert await q.get() == "a"
    q.forget("a")
    q.done("a")
    assert q.num_requeues("a") == 0
    q.shutdown()


async def test_shutdown_with_drain_times_out_on_the_clock():
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    q.add("a")
    await q.get()
    drain = asyncio.create_task(q.shutdown_with_drain(timeout=30))
    await clock.advance(0)  # let the drain start sleeping
    await clock.advance(29)
    assert not drain.done()
    await clock.advance(1)
    assert await drain is False
