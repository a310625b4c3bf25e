"""Garbage-collector policy for a process whose heap is mostly an informer cache.

Why this exists: CPython's cycle collector stops the whole process while it scans a generation, and a
full (generation 2) collection scans every tracked container. A controller's heap is its informer
caches: at 10,000 Rollouts with their Deployments, ReplicaSets and Pods that is about a million dicts
and lists, and a full collection of 1.5 million takes 0.7 s on this machine. Every admission answer and
reconcile in flight waits for it (the cache objects are frozen subclasses of dict/list, which CPython
never untracks, unlike plain dicts of scalars). bench/gc_pause_bench.py measures the stalls with and
without this policy.

The cache objects cannot take part in a reference cycle (frozen JSON trees: strings, numbers and
frozen containers only), so scanning them finds nothing: they die by reference counting when the
cache replaces them. So after each full collection the survivors — everything live at that moment —
move to the permanent generation (``gc.freeze``), and later collections scan only what was allocated
since. The cost is bounded: a frozen object that later becomes part of *unreachable cycle* garbage
(rare: exception tracebacks, closures) is not reclaimed until the next *rescan*, which every
:attr:`GcSettings.rescan_interval` unfreezes everything and runs one full collection (one long pause
per interval instead of one per burst of allocations).

Also exported: ``python_gc_duration_seconds{generation}`` (each collection's pause, as Go's
``go_gc_duration_seconds``) and ``python_gc_frozen_objects``, so a pause and the frozen set are
visible on ``/metrics`` rather than guessed from latency tails.

The collector is process-wide; so is this policy's effect. Several managers in one process (tests)
each install their callback; the last one to stop unfreezes.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import attrs

from .clock import REAL_CLOCK, Clock
from .metrics import Gauge, Histogram, Registry

__all__ = ["GcSettings", "GcPolicy", "GC_PAUSE_BUCKETS"]

GC_PAUSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""From half a millisecond (a young collection) to seconds (a full scan of a large heap)."""

_installed: list[GcPolicy] = []
"""Policies with a live callback in this process (the last to stop unfreezes)."""


@attrs.frozen
class GcSettings:
    """How the manager treats the cycle collector."""

    freeze: bool = False
    """Freeze the survivors of each full collection. Off by default in the runtime (a library should
    not change process-wide state unasked); the controller manager turns it on (``--gc-freeze``)."""
    rescan_interval: float = attrs.field(default=1800.0)
    """Seconds between full rescans of the frozen objects (unfreeze, collect, freeze again): bounds
    how long unreachable cycles among them live. At 10k Rollouts one rescan pauses ~1–2 s."""

    @rescan_interval.validator
    def _positive(self, attribute: Any, value: float) -> None:
        if value <= 0:
            raise ValueError(f"rescan_interval must be > 0 seconds, got {value}")


class GcPolicy:
    """Measures every collection and, if asked, freezes what survives a full one."""

    def __init__(self, registry: Registry, settings: GcSettings = GcSettings(), *, clock: Clock = REAL_CLOCK) -> None:
        self.settings = settings
        self.clock = clock
        self.pauses: Histogram = registry.histogram(
            "python_gc_duration_seconds", "Pause of each cycle-collector run, by generation.",
            ["generation"], buckets=GC_PAUSE_BUCKETS)
        self.frozen: Gauge = registry.gauge(
            "python_gc_frozen_objects", "Objects in the collector's permanent generation (gc.freeze).", [])
        registry.add_collector(lambda: self.frozen.set(gc.get_freeze_count()))
        self._started: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._freeze_pending = False
        self._unfrozen_survivors = False
        """A full collection ran since the last freeze (a scheduled freeze with nothing new to freeze is skipped)."""
        self.freezes = 0
        """Times the survivors were frozen (tests, logs)."""

    # collector callback ---------------------------------------------------------------------------
    def install(self) -> None:
        """Start observing collections (and freezing, per settings) in this process."""
        if self in _installed:
            return
        self._loop = asyncio.get_running_loop() if self.settings.freeze else None
        gc.callbacks.append(self._on_gc)
        _installed.append(self)

    def uninstall(self) -> None:
        """Stop observing; the last policy to leave unfreezes (normal collection resumes for all)."""
        if self not in _installed:
            return
        gc.callbacks.remove(self._on_gc)
        _installed.remove(self)
        if not any(p.settings.freeze for p in _installed):
            gc.unfreeze()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        """Called by the collector, inside the collection: only timing and scheduling here."""
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:
            return
        self.pauses.observe(time.perf_counter() - self._started, generation=str(info["generation"]))
        self._started = None
        if info["generation"] == 2 and self._loop is not None:
            self._unfrozen_survivors = True
            if not self._freeze_pending:
                self._freeze_pending = True
                self._loop.call_soon_threadsafe(self._scheduled_freeze)

    def _scheduled_freeze(self) -> None:
        self._freeze_pending = False
        if self._unfrozen_survivors:  # not already frozen by a rescan in between
            self._freeze()

    def _freeze(self) -> None:
        """Right after a full collection: what is alive now is not garbage, so stop scanning it."""
        self._unfrozen_survivors = False
        gc.freeze()
        self.freezes += 1

    # periodic rescan --------------------------------------------------------------------------------
    def rescan(self) -> int:
        """Unfreeze, collect everything once (reclaims cycles that died while frozen) and freeze the
        survivors. Returns the number of unreachable objects found."""
        gc.unfreeze()
        found = gc.collect()
        self._freeze()
        return found

    async def run(self) -> None:
        """Install, then rescan every :attr:`GcSettings.rescan_interval` until cancelled."""
        self.install()
        try:
            if not self.settings.freeze:
                await asyncio.Event().wait()
            while True:
                await self.clock.sleep(self.settings.rescan_interval)
                self.rescan()
        finally:
            self.uninstall()
