"""Exponential back-off with jitter, on an injected clock.

Used by the reflector between failed list/watch attempts and by :func:`runtime.retry.retry_on_conflict`.
Defaults match client-go's reflector (``wait.NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)``):

* ``initial = 0.8 s``: long enough not to hammer an API server that just refused a connection,
  short enough that a blip (apiserver restart, leader change in etcd) heals in about a second.
* ``maximum = 30 s``: bounds how stale a cache can get after a long outage once the server is back.
* ``jitter = 1.0``: each delay is multiplied by a random factor in [1, 2) so that hundreds of
  informers restarted by the same apiserver outage do not come back in lock-step.
* ``reset_after = 120 s``: a watch that has been healthy for two minutes starts again from ``initial``.
"""

from __future__ import annotations

import random

import attrs

from .clock import REAL_CLOCK, Clock

__all__ = ["Backoff", "BackoffSettings"]


@attrs.frozen
class BackoffSettings:
    """Shape of an exponential back-off."""

    initial: float = 0.8
    """First delay in seconds."""
    maximum: float = 30.0
    """Cap on the un-jittered delay in seconds."""
    factor: float = 2.0
    """Multiplier applied after each failure."""
    jitter: float = 1.0
    """Each delay is scaled by ``1 + jitter * random()``; 0 disables jitter."""
    reset_after: float = 120.0
    """If no failure happened for this many seconds, the next delay starts from ``initial`` again."""


class Backoff:
    """Stateful back-off: call :meth:`next_delay` after each failure, :meth:`sleep` to wait it out."""

    def __init__(
        self, settings: BackoffSettings = BackoffSettings(), *, clock: Clock = REAL_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        # Invariant: initial <= _current <= maximum (un-jittered delay to hand out next).
        self._current = settings.initial
        self._last_failure: float | None = None

    def next_delay(self) -> float:
        """Return the delay for this failure and grow the next one."""
        s = self.settings
        now = self._clock.monotonic()
        if self._last_failure is not None and now - self._last_failure > s.reset_after:
            self._current = s.initial
        self._last_failure = now
        delay = self._current
        self._current = min(s.maximum, self._current * s.factor)
        if s.jitter > 0:
            delay *= 1.0 + s.jitter * self._rng.random()
        return delay

    def reset(self) -> None:
        """Forget past failures (e.g. after a successful list)."""
        self._current = self.settings.initial
        self._last_failure = None

    async def sleep(self) -> float:
        """Sleep for :meth:`next_delay` and return how long that was."""
        delay = self.next_delay()
        await self._clock.sleep(delay)
        return delay
