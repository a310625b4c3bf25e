"""runtime.looplag: the probe records how late the loop woke it, and the manager runs one."""

from __future__ import annotations

import asyncio

import pytest

from runtime.clock import FakeClock
from runtime.looplag import LoopLagProbe
from runtime.manager import Manager, ManagerSettings
from runtime.metrics import Registry


def _count(reg: Registry) -> float:
    return reg.collectors.get_sample_value("python_asyncio_event_loop_lag_seconds_count", {}) or 0.0


def _lag_sum(reg: Registry) -> float:
    return reg.collectors.get_sample_value("python_asyncio_event_loop_lag_seconds_sum", {}) or 0.0


async def test_a_wake_on_time_is_no_lag_and_a_late_one_is_the_difference():
    clock, reg = FakeClock(), Registry()
    task = asyncio.create_task(LoopLagProbe(reg, interval=0.5, clock=clock).run())
    try:
        await clock.advance(0)
        await clock.advance(0.5)  # woken exactly when due
        assert (_count(reg), _lag_sum(reg)) == (1, 0.0)
        await clock.advance(2.0)  # due after 0.5 s, run 2 s later: 1.5 s of other work held the loop
        assert _count(reg) == 2 and _lag_sum(reg) == pytest.approx(1.5)
        assert reg.collectors.get_sample_value("python_asyncio_event_loop_lag_seconds_bucket", {"le": "1.0"}) == 1
    finally:
        task.cancel()


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match="interval must be > 0"):
        LoopLagProbe(Registry(), interval=0)


def test_the_manager_registers_the_loop_lag_and_the_client_throttle_series():
    class Client:
        request_hooks: list = []
        throttle_hooks: list = []

    client = Client()
    mgr = Manager(client)
    assert mgr.loop_lag.lag is not None
    assert client.throttle_hooks == [mgr.metrics.api_throttle_hook]
    client.throttle_hooks[0]("PATCH", 0.2)
    text = mgr.registry.render()
    assert 'rest_client_rate_limiter_duration_seconds_count{method="PATCH"} 1.0' in text
    assert "python_asyncio_event_loop_lag_seconds_count 0.0" in text


async def test_a_running_manager_runs_the_probe_and_stops_it():
    mgr = Manager(object(), settings=ManagerSettings(http_port=None, leader_election=False))
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    for _ in range(200):
        if mgr.synced:
            break
        await asyncio.sleep(0.01)
    probes = [t for t in asyncio.all_tasks() if t.get_name() == "loop-lag"]
    mgr.stop()
    await task
    assert len(probes) == 1 and probes[0].done()
