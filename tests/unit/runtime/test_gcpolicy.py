"""runtime.gcpolicy: pause metrics, freezing after a full collection, the periodic rescan, clean uninstall.

The collector is process-wide, so every test leaves it as it found it (nothing frozen, no callback)."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from runtime.clock import FakeClock
from runtime.gcpolicy import GcPolicy, GcSettings
from runtime.manager import Manager, ManagerSettings
from runtime.metrics import Registry


@pytest.fixture(autouse=True)
def _restore_collector():
    callbacks = list(gc.callbacks)
    yield
    gc.callbacks[:] = callbacks
    gc.unfreeze()


class _Cycle:
    """An object in a reference cycle: only the cycle collector can free it."""

    def __init__(self) -> None:
        self.me = self


def _pause_count(reg: Registry, generation: str) -> float:
    return reg.collectors.get_sample_value("python_gc_duration_seconds_count", {"generation": generation}) or 0.0


async def test_every_collection_is_timed_by_generation():
    reg = Registry()
    policy = GcPolicy(reg)
    policy.install()
    gc.collect(0)
    gc.collect()
    assert _pause_count(reg, "0") >= 1
    assert _pause_count(reg, "2") >= 1
    assert policy.pauses.count(generation="2") == _pause_count(reg, "2")
    assert 0 < policy.pauses.sum(generation="2") == reg.collectors.get_sample_value(
        "python_gc_duration_seconds_sum", {"generation": "2"})
    policy.uninstall()
    before = _pause_count(reg, "2")
    gc.collect()
    assert _pause_count(reg, "2") == before, "an uninstalled policy must not observe"


async def test_survivors_of_a_full_collection_are_frozen_on_the_next_loop_turn():
    policy = GcPolicy(Registry(), GcSettings(freeze=True))
    policy.install()
    gc.collect()
    assert gc.get_freeze_count() == 0, "nothing is frozen inside the collection itself"
    await asyncio.sleep(0)
    assert policy.freezes == 1
    assert gc.get_freeze_count() > 0
    policy.uninstall()
    assert gc.get_freeze_count() == 0, "the last freezing policy to leave unfreezes"


async def test_without_freeze_nothing_is_frozen():
    policy = GcPolicy(Registry(), GcSettings(freeze=False))
    policy.install()
    gc.collect()
    await asyncio.sleep(0)
    assert policy.freezes == 0 and gc.get_freeze_count() == 0
    policy.uninstall()


async def test_a_cycle_that_dies_while_frozen_is_freed_by_the_rescan_only():
    policy = GcPolicy(Registry(), GcSettings(freeze=True))
    policy.install()
    freed = []
    cycle = _Cycle()
    weakref.finalize(cycle, freed.append, True)
    policy.rescan()  # the cycle is alive: frozen with everything else
    del cycle
    gc.collect()
    assert not freed, "a frozen cycle is not scanned by an ordinary collection"
    assert policy.rescan() >= 1
    assert freed == [True]
    policy.uninstall()


async def test_a_rescan_freezes_once_and_the_scheduled_freeze_after_its_collection_is_skipped():
    policy = GcPolicy(Registry(), GcSettings(freeze=True))
    policy.install()
    policy.rescan()
    assert policy.freezes == 1
    await asyncio.sleep(0)
    assert policy.freezes == 1, "the rescan's own collection froze already"
    gc.collect()
    await asyncio.sleep(0)
    assert policy.freezes == 2, "a later full collection is frozen as before"
    policy.uninstall()


async def test_run_rescans_every_interval():
    clock = FakeClock()
    policy = GcPolicy(Registry(), GcSettings(freeze=True, rescan_interval=60.0), clock=clock)
    task = asyncio.create_task(policy.run())
    await clock.advance(0)
    assert policy.freezes == 0
    await clock.advance(59)
    assert policy.freezes == 0
    await clock.advance(1)
    assert policy.freezes >= 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert policy._on_gc not in gc.callbacks
    assert gc.get_freeze_count() == 0


def test_rescan_interval_must_be_positive():
    with pytest.raises(ValueError, match="rescan_interval"):
        GcSettings(rescan_interval=0)


async def test_a_freezing_manager_freezes_its_synced_caches_and_unfreezes_on_stop():
    mgr = Manager(object(), settings=ManagerSettings(http_port=None, leader_election=False,
                                                     gc=GcSettings(freeze=True)))
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    for _ in range(200):
        if mgr.synced:
            break
        await asyncio.sleep(0.01)
    assert mgr.synced
    assert mgr.gc.freezes >= 1 and gc.get_freeze_count() > 0
    mgr.stop()
    await task
    assert gc.get_freeze_count() == 0
    assert "python_gc_frozen_objects" in mgr.registry.render()
