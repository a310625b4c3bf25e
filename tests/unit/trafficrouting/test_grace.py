"""Grace expectations with a fake clock (traffic-routing.md §6)."""

from __future__ import annotations

from rollouts.trafficrouting.grace import GraceExpectations, GraceResult, effective_grace
from runtime.clock import FakeClock


def test_effective_grace() -> None:
    assert [effective_grace(s, zero_means_default=False) for s in (-1, 0, 5)] == [3, 0, 5]
    assert [effective_grace(s, zero_means_default=True) for s in (-1, 0, 5)] == [3, 3, 5]


def test_a_change_waits_the_grace_then_completes() -> None:
    clock = FakeClock()
    grace = GraceExpectations(clock)
    assert grace.observe("svc-uid", "restoreService", modified=True, grace_seconds=5) == GraceResult(True, 5.0)
    clock.step(2)
    assert grace.observe("svc-uid", "restoreService", modified=False, grace_seconds=5) == GraceResult(True, 3.0)
    # another action on the same key has its own record
    assert grace.observe("svc-uid", "patchService", modified=False, grace_seconds=5) == GraceResult(False)
    clock.step(3)
    assert grace.observe("svc-uid", "restoreService", modified=False, grace_seconds=5) == GraceResult(False)
    assert grace.pending() == 0


def test_zero_grace_never_waits_and_forgets() -> None:
    clock = FakeClock()
    grace = GraceExpectations(clock)
    grace.observe("k", "a", modified=True, grace_seconds=5)
    assert grace.observe("k", "a", modified=True, grace_seconds=0) == GraceResult(False)
    assert grace.pending() == 0


def test_a_new_change_restarts_the_wait() -> None:
    clock = FakeClock()
    grace = GraceExpectations(clock)
    grace.observe("k", "a", modified=True, grace_seconds=3)
    clock.step(2.5)
    assert grace.observe("k", "a", modified=True, grace_seconds=3) == GraceResult(True, 3.0)
