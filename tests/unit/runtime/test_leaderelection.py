"""Leader election timing on a FakeClock against an in-memory lease store."""

import asyncio

import pytest
from rt_fakes import MemoryApi, PartitionableClient

from runtime.clock import FakeClock
from runtime.leaderelection import LeaderElectionSettings, LeaderElector, LeadershipLost

S = LeaderElectionSettings(lease_duration=15, renew_deadline=10, retry_period=2, jitter=0)


def elector(client, identity, clock, settings=S):
    e = LeaderElector(client, name="lock", namespace="ns", identity=identity, settings=settings, clock=clock)
    e.transitions = []
    e.on_change.append(lambda v: e.transitions.append((clock.monotonic(), v)))
    return e


async def forever():
    await asyncio.Event().wait()


def test_settings_validation():
    with pytest.raises(ValueError):
        LeaderElectionSettings(lease_duration=10, renew_deadline=10, retry_period=2)


async def test_acquire_renew_and_release_hands_over_immediately():
    clock, api = FakeClock(), MemoryApi()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    ta = asyncio.create_task(a.run(forever))
    await clock.advance(0)
    assert a.is_leader
    tb = asyncio.create_task(b.run(forever))
    for _ in range(20):
        await clock.advance(2)
    assert a.is_leader and not b.is_leader
    lease = api.objects[("leases", "ns", "lock")]
    assert lease["spec"]["holderIdentity"] == "a" and lease["spec"]["leaseDurationSeconds"] == 15
    ta.cancel()
    await asyncio.gather(ta, return_exceptions=True)
    assert api.objects[("leases", "ns", "lock")]["spec"]["holderIdentity"] == ""
    await clock.advance(2)  # b's next attempt sees a released lease
    assert b.is_leader
    assert api.objects[("leases", "ns", "lock")]["spec"]["leaseTransitions"] == 1
    tb.cancel()
    await asyncio.gather(tb, return_exceptions=True)


async def test_partitioned_leader_steps_down_before_anyone_takes_over():
    clock, api = FakeClock(), MemoryApi()
    ca = PartitionableClient(api)
    a, b = elector(ca, "a", clock), elector(api, "b", clock)
    ta = asyncio.create_task(a.run(forever))
    await clock.advance(0)
    tb = asyncio.create_task(b.run(forever))
    await clock.advance(1)
    ca.down = True
    cut_at = clock.monotonic()
    last_renewal = cut_at - 1  # a renewed when it acquired (the first renewal is due after retry_period)
    for _ in range(200):
        await clock.advance(0.25)
        assert not (a.is_leader and b.is_leader), "two leaders at once"
    with pytest.raises(LeadershipLost):
        await ta
    assert b.is_leader
    lost_at = a.transitions[-1][0]
    won_at = b.transitions[0][0]
    # step-down within renew_deadline of the first failed renewal (the bound the real-cluster test
    # used to check on the wall clock)
    assert lost_at - cut_at <= S.retry_period + S.renew_deadline, lost_at - cut_at
    assert lost_at < last_renewal + S.lease_duration, "a stepped down before its lease could expire"
    assert won_at - lost_at >= 15 - 10 - 2 - 0.5, "margin between step-down and take-over"
    tb.cancel()
    await asyncio.gather(tb, return_exceptions=True)


async def test_killed_leader_without_release_is_replaced_after_lease_duration():
    clock, api = FakeClock(), MemoryApi()
    no_release = LeaderElectionSettings(lease_duration=15, renew_deadline=10, retry_period=2, jitter=0,
                                        release_on_cancel=False)
    a, b = elector(api, "a", clock, no_release), elector(api, "b", clock)
    ta = asyncio.create_task(a.run(forever))
    await clock.advance(0)
    tb = asyncio.create_task(b.run(forever))
    await clock.advance(0)
    ta.cancel()
    killed_at = clock.monotonic()
    await asyncio.gather(ta, return_exceptions=True)
    assert api.objects[("leases", "ns", "lock")]["spec"]["holderIdentity"] == "a"
    for _ in range(20):
        await clock.advance(1)
    assert b.is_leader
    # take-over after lease_duration, within about one jittered retry (the bound the real-cluster test
    # used to check on the wall clock)
    assert 15 <= b.transitions[0][0] - killed_at <= 15 + 2.5
    tb.cancel()
    await asyncio.gather(tb, return_exceptions=True)


async def test_work_failure_propagates_and_releases():
    clock, api = FakeClock(), MemoryApi()
    a = elector(api, "a", clock)

    async def broken():
        raise RuntimeError("work died")

    with pytest.raises(RuntimeError):
        await a.run(broken)
    assert not a.is_leader
    assert api.objects[("leases", "ns", "lock")]["spec"]["holderIdentity"] == ""
