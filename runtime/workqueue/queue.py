"""The basic work queue: fair (FIFO), stingy (one worker per key), deduplicating.

Semantics are client-go's ``workqueue.Typed``:

* ``add`` of a key already waiting is a no-op (many events for one object → one reconcile);
* a key handed out by ``get`` is *processing* until ``done``; adding it meanwhile marks it dirty, and
  ``done`` puts it back at the end of the queue, so **one key is never processed by two workers at
  once** and no change is lost;
* FIFO order over distinct keys keeps it fair: a hot key cannot starve the others, because re-adds
  while processing go to the back.

Everything runs on one event loop, so there are no locks; waiting getters are futures woken by ``add``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from ..clock import REAL_CLOCK, Clock, wait_with_timeout
from .metrics import NOOP_METRICS, QueueMetrics

__all__ = ["WorkQueue", "ShutDown"]

T = TypeVar("T", bound=Hashable)


class ShutDown(Exception):
    """Raised by ``get`` once the queue is shut down and has nothing left to hand out."""


class WorkQueue(Generic[T]):
    """FIFO, deduplicating, one-worker-per-key queue."""

    def __init__(self, *, name: str = "", clock: Clock = REAL_CLOCK, metrics: QueueMetrics = NOOP_METRICS) -> None:
        self.name = name
        self._clock = clock
        self._metrics = metrics
        # Invariants (checked by check_invariants):
        #  * every item in _queue is in _dirty and not in _processing; _queue has no duplicates;
        #  * an item in _dirty is either in _queue or in _processing (re-added while processing);
        #  * an item is handed to at most one worker at a time (it is in _processing meanwhile).
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._added_at: dict[T, float] = {}  # monotonic time of first add, for queue latency
        self._started_at: dict[T, float] = {}  # monotonic time of get, for work duration
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drained: asyncio.Event | None = None  # set when processing empties during drain

    # producer side -----------------------------------------------------------------------------
    def add(self, item: T) -> None:
        """Mark ``item`` as needing work. Ignored after shutdown."""
        if self._shutting_down or item in self._dirty:
            return
        self._metrics.add()
        self._dirty.add(item)
        self._added_at.setdefault(item, self._clock.monotonic())
        if item in self._processing:
            return  # re-queued by done()
        self._queue.append(item)
        self._metrics.depth(len(self._queue))
        self._wake_one()

    def _wake_one(self) -> None:
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    # consumer side -----------------------------------------------------------------------------
    async def get(self) -> T:
        """Wait for an item and mark it processing. Raises :class:`ShutDown` when shut down and empty."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake_one()  # we were woken but will not consume: pass the turn on
                raise
        item = self._queue.popleft()
        self._metrics.depth(len(self._queue))
        now = self._clock.monotonic()
        self._metrics.queue_latency(now - self._added_at.pop(item, now))
        self._processing.add(item)
        self._dirty.discard(item)
        self._started_at[item] = now
        return item

    def done(self, item: T) -> None:
        """The worker finished ``item``; if it was re-added meanwhile, queue it again."""
        if item not in self._processing:
            raise ValueError(f"done({item!r}) for an item that is not being processed")
        self._processing.discard(item)
        started = self._started_at.pop(item, None)
        if started is not None:
            self._metrics.work_duration(self._clock.monotonic() - started)
        if item in self._dirty:
            self._queue.append(item)
            self._metrics.depth(len(self._queue))
            self._wake_one()
        elif self._drained is not None and not self._processing:
            self._drained.set()

    # shutdown ----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop accepting adds; getters drain what is queued, then get :class:`ShutDown`."""
        self._shutting_down = True
        while self._getters:
            fut = self._getters.popleft()
            if not fut.done():
                fut.set_result(None)

    async def shutdown_with_drain(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Shut down and wait until every in-flight item is ``done``. Returns False on timeout.

        Items still queued (not yet handed out) are dropped by workers that stop calling ``get``;
        what is guaranteed is that no reconcile is cut off in the middle by the queue.
        """
        self._drained = asyncio.Event()
        self.shutdown()
        if not self._processing:
            return True
        return await wait_with_timeout(self._clock, self._drained.wait(), timeout)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __len__(self) -> int:
        """Items waiting to be handed out (not counting those processing)."""
        return len(self._queue)

    def unfinished_work(self) -> tuple[float, float]:
        """(sum, max) of seconds items have been processing: a stuck reconcile shows up here."""
        now = self._clock.monotonic()
        ages = [now - t for t in self._started_at.values()]
        return (sum(ages), max(ages, default=0.0))

    @property
    def processing(self) -> frozenset[T]:
        return frozenset(self._processing)

    def check_invariants(self) -> None:
        """Assert the invariants listed in ``__init__`` (used by tests and debug builds)."""
        queued = set(self._queue)
        assert len(queued) == len(self._queue), "duplicate items in queue"
        assert queued <= self._dirty, "queued item not dirty"
        assert not (queued & self._processing), "queued item is also processing"
        assert self._dirty <= queued | self._processing, "dirty item neither queued nor processing"
