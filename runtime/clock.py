"""Injected time.

Everything in the runtime that waits or measures (backoff, work-queue delays, rate limiters, lease
expiry, requeue-after, watch inactivity) takes a :class:`Clock` instead of calling :mod:`time` or
:func:`asyncio.sleep` directly. Production code uses :class:`RealClock`; tests use :class:`FakeClock`
and *step* time, so a test of a 1000 s backoff or a 15 s lease runs in microseconds and never flakes
on a loaded machine. This mirrors ``k8s.io/utils/clock`` used throughout client-go.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "RealClock", "REAL_CLOCK", "wait_with_timeout"]


@runtime_checkable
class Clock(Protocol):
    """The three time operations the runtime needs."""

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC. Used only for timestamps written to the API."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards. Used for every duration and deadline."""

    async def sleep(self, seconds: float) -> None:
        """Suspend the caller for ``seconds`` of this clock's time (cancellable)."""


class RealClock:
    """The system clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


REAL_CLOCK = RealClock()


class FakeClock:
    """A clock that only moves when a test calls :meth:`step`.

    Sleepers are futures kept in a heap ordered by deadline; :meth:`step` advances time and resolves
    every sleeper whose deadline has been reached. Woken coroutines run the next time the test yields
    to the event loop (``await asyncio.sleep(0)`` or :meth:`advance`).
    """

    def __init__(self, *, start: datetime | None = None, monotonic_start: float = 1000.0) -> None:
        self._wall0 = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._mono0 = monotonic_start
        # Invariant: _elapsed only grows; every pending sleeper's deadline is > monotonic().
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._mono0 + self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.monotonic() + seconds, next(self._seq), fut))
        await fut

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds`` and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("FakeClock cannot go backwards")
        self._elapsed += seconds
        now = self.monotonic()
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    @property
    def sleepers(self) -> int:
        """Number of coroutines currently sleeping (cancelled ones excluded)."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def next_deadline(self) -> float | None:
        """Monotonic time of the earliest pending sleeper, or None."""
        live = [d for d, _, f in self._sleepers if not f.done()]
        return min(live) if live else None

    async def advance(self, seconds: float, *, settle: int = 20) -> None:
        """Step time in one go, then yield ``settle`` times so woken tasks get to run."""
        self.step(seconds)
        for _ in range(settle):
            await asyncio.sleep(0)

    async def run_until_idle(self, *, limit: float = 1e6, settle: int = 20) -> None:
        """Jump from deadline to deadline until nobody sleeps or ``limit`` seconds have passed."""
        spent = 0.0
        for _ in range(settle):
            await asyncio.sleep(0)
        while (deadline := self.next_deadline()) is not None and spent < limit:
            delta = max(0.0, deadline - self.monotonic())
            spent += delta
            await self.advance(delta, settle=settle)


async def wait_with_timeout(clock: Clock, awaitable: Awaitable[object], timeout: float | None) -> bool:  # noqa: ASYNC109
    """Await ``awaitable`` for at most ``timeout`` seconds of ``clock`` time; False (and cancelled) if late.

    ``asyncio.wait_for`` measures real time, which a FakeClock cannot step; this races the
    awaitable against ``clock.sleep`` instead.
    """
    task = asyncio.ensure_future(awaitable)
    if timeout is None:
        await task
        return True
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled():
        task.result()
        return True
    return False
