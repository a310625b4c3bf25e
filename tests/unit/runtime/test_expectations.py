"""Create expectations with a stepped clock."""

from __future__ import annotations

from runtime.clock import FakeClock
from runtime.expectations import DEFAULT_EXPECTATION_TIMEOUT_SECONDS, CreateExpectations


def test_a_pending_create_blocks_until_the_cache_has_it() -> None:
    exp = CreateExpectations(clock=FakeClock())
    assert exp.satisfied("ns/br", lambda uid: False)  # nothing pending
    exp.expect("ns/br", "uid-1")
    assert not exp.satisfied("ns/br", lambda uid: False)
    assert exp.pending("ns/br") == "uid-1"
    assert exp.satisfied("ns/other", lambda uid: False)  # per key
    assert exp.satisfied("ns/br", lambda uid: uid == "uid-1")
    assert exp.pending("ns/br") is None  # observed: dropped
    assert exp.satisfied("ns/br", lambda uid: False)


def test_an_unobserved_create_expires_after_the_timeout() -> None:
    clock = FakeClock()
    exp = CreateExpectations(clock=clock)
    exp.expect("ns/br", "uid-1")
    clock.step(DEFAULT_EXPECTATION_TIMEOUT_SECONDS)
    assert not exp.satisfied("ns/br", lambda uid: False)  # not older than the timeout yet
    clock.step(0.001)
    assert exp.satisfied("ns/br", lambda uid: False)
    assert exp.pending("ns/br") is None


def test_forget_drops_the_entry() -> None:
    exp = CreateExpectations(clock=FakeClock(), timeout=10)
    exp.expect("ns/br", "uid-1")
    exp.forget("ns/br")
    assert exp.satisfied("ns/br", lambda uid: False)
