"""A work queue that can add items later: ``add_after(item, seconds)``.

Waiting items live in a heap ordered by ready time and a dict ``item -> ready time``. If an item is
added with a delay while already waiting, the **earliest** ready time wins (client-go semantics: a
requeue-after of 30 s does not postpone an already scheduled 5 s retry). Superseded heap entries are
left in place and skipped when popped (lazy deletion), which keeps ``add_after`` O(log n).

One background task sleeps on the injected clock until the earliest ready time, or until a new,
earlier item arrives, then moves ready items into the queue.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Hashable
from typing import TypeVar

from .queue import WorkQueue

__all__ = ["DelayingQueue"]

T = TypeVar("T", bound=Hashable)


class DelayingQueue(WorkQueue[T]):
    """:class:`WorkQueue` plus :meth:`add_after`."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        # Invariants: _waiting[item] is the earliest pending ready time of item; the heap holds an
        # entry (ready, seq, item) with ready == _waiting[item] for every waiting item, plus stale
        # entries (ready != _waiting.get(item)) that are skipped.
        self._heap: list[tuple[float, int, T]] = []
        self._waiting: dict[T, float] = {}
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` after ``delay`` seconds (immediately if ``delay <= 0``); earliest wins."""
        if self.shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready = self._clock.monotonic() + delay
        current = self._waiting.get(item)
        if current is not None and current <= ready:
            return
        self._waiting[item] = ready
        heapq.heappush(self._heap, (ready, next(self._seq), item))
        self._changed.set()
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(self._waiting_loop(),
                                                                     name=f"workqueue-delay-{self.name}")

    @property
    def waiting(self) -> int:
        """Items scheduled for later."""
        return len(self._waiting)

    def _pop_ready(self) -> float | None:
        """Move every due item into the queue; return the next ready time (or None if none wait)."""
        now = self._clock.monotonic()
        while self._heap:
            ready, _, item = self._heap[0]
            if self._waiting.get(item) != ready:
                heapq.heappop(self._heap)  # stale entry
                continue
            if ready > now:
                return ready
            heapq.heappop(self._heap)
            del self._waiting[item]
            self.add(item)
        return None

    async def _waiting_loop(self) -> None:
        while not self.shutting_down:
            self._changed.clear()
            next_ready = self._pop_ready()
            if next_ready is None:
                await self._changed.wait()
                continue
            sleeper = asyncio.ensure_future(self._clock.sleep(next_ready - self._clock.monotonic()))
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                changed.cancel()

    def shutdown(self) -> None:
        super().shutdown()
        if self._loop_task is not None:
            self._loop_task.cancel()
        self._waiting.clear()
        self._heap.clear()
