"""How long to wait before retrying an item: client-go's ``default_rate_limiters`` in Python.

The controller default combines (by taking the **max** of) two limiters:

* a per-item exponential back-off, 5 ms doubling to 1000 s: one broken object backs off alone
  without slowing the others, and after ~18 failures is retried only every ~17 minutes;
* an overall token bucket of 10 qps with a burst of 100: a mass failure (API server down, every
  reconcile erroring) cannot turn into a retry storm.

Every limiter is pure arithmetic on an injected clock; tests check them as tables.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

import attrs

from ..clock import REAL_CLOCK, Clock
from ..flowcontrol import TokenBucket

__all__ = [
    "RateLimiter", "ItemExponentialFailureRateLimiter", "BucketRateLimiter", "MaxOfRateLimiter",
    "RateLimiterSettings", "default_controller_rate_limiter",
]


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Record a failure of ``item`` and return the seconds to wait before retrying it."""

    def forget(self, item: Hashable) -> None:
        """``item`` succeeded: drop its failure history."""

    def num_requeues(self, item: Hashable) -> int:
        """Failures recorded for ``item`` since the last forget."""


class ItemExponentialFailureRateLimiter:
    """``base * 2**failures`` capped at ``maximum``, per item."""

    def __init__(self, base: float = 0.005, maximum: float = 1000.0) -> None:
        self.base, self.maximum = base, maximum
        self._failures: dict[Hashable, int] = {}  # invariant: only items with >= 1 failure are present

    def when(self, item: Hashable) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp > 1000:  # 2**exp would overflow a float long after it passed any sane maximum
            return self.maximum
        return min(self.maximum, self.base * (2.0 ** exp))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """Overall token bucket: delay is the wait for the next token; items are not tracked."""

    def __init__(self, *, qps: float = 10.0, burst: int = 100, clock: Clock = REAL_CLOCK) -> None:
        self._bucket = TokenBucket(qps=qps, burst=burst, clock=clock)

    def when(self, item: Hashable) -> float:
        return self._bucket.reserve()

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """Asks every limiter (each records the failure) and waits for the longest answer."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self._limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)


@attrs.frozen
class RateLimiterSettings:
    """The controller's retry shape (client-go ``DefaultTypedControllerRateLimiter``)."""

    base_delay: float = 0.005
    """First per-item retry delay in seconds; doubles on every consecutive failure."""
    max_delay: float = 1000.0
    """Cap on the per-item delay (about 17 minutes)."""
    qps: float = 10.0
    """Overall retry rate across all items once the burst is spent."""
    burst: int = 100
    """Retries allowed at once before ``qps`` applies."""


def default_controller_rate_limiter(
    settings: RateLimiterSettings = RateLimiterSettings(), *, clock: Clock = REAL_CLOCK,
) -> RateLimiter:
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(settings.base_delay, settings.max_delay),
        BucketRateLimiter(qps=settings.qps, burst=settings.burst, clock=clock),
    )
