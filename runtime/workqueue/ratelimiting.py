"""Delaying queue + rate limiter: what a controller uses (client-go ``RateLimitingInterface``)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from .delaying import DelayingQueue
from .rate_limiters import RateLimiter, default_controller_rate_limiter

__all__ = ["RateLimitingQueue"]

T = TypeVar("T", bound=Hashable)


class RateLimitingQueue(DelayingQueue[T]):
    """Adds :meth:`add_rate_limited`, :meth:`forget` and :meth:`num_requeues`."""

    def __init__(self, *, rate_limiter: RateLimiter | None = None, **kw) -> None:
        super().__init__(**kw)
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(clock=self._clock)

    def add_rate_limited(self, item: T) -> None:
        """Re-add ``item`` after the rate limiter's delay (its failure count grows)."""
        self._metrics.retry()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Clear ``item``'s failure history (it does not remove it from the queue)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
