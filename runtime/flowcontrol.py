"""A token bucket shared by the API client (client-side QPS/burst) and the work-queue rate limiter.

The arithmetic matches ``golang.org/x/time/rate.Limiter.Reserve``: the bucket refills at ``qps``
tokens per second up to ``burst``; taking a token may drive the count negative, and the returned
delay is how long the caller must wait for its reservation to be honoured. Reservations are never
cancelled, which keeps the bucket a pure function of (time, calls) and easy to test as a table.
"""

from __future__ import annotations

from .clock import REAL_CLOCK, Clock

__all__ = ["TokenBucket"]


class TokenBucket:
    """Reserve-style token bucket on an injected clock."""

    def __init__(self, *, qps: float, burst: int, clock: Clock = REAL_CLOCK) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"TokenBucket needs qps > 0 and burst >= 1, got qps={qps} burst={burst}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        # Invariant: _tokens <= burst; negative means outstanding reservations not yet due.
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now

    def reserve(self) -> float:
        """Take one token now; return the seconds to wait before using it (0 when available)."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    async def wait(self) -> None:
        """Take a token and sleep until it is due."""
        delay = self.reserve()
        if delay > 0:
            await self._clock.sleep(delay)
