"""``retry_on_conflict``: re-run a read-modify-write when the API server says 409 Conflict.

A Conflict means our update carried a stale ``resourceVersion``: someone else wrote first. The
only correct reaction is to re-read and re-apply our change, so ``fn`` must do the read itself.
Defaults copy client-go's ``retry.DefaultRetry`` (5 steps, 10 ms, factor 1, jitter 0.1): conflicts
between controllers resolve within a few milliseconds; anything longer is a real fight that should
surface as an error and go through the work queue's back-off instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from .backoff import Backoff, BackoffSettings
from .clock import REAL_CLOCK, Clock
from .kube.errors import Conflict

__all__ = ["retry_on_conflict", "DEFAULT_RETRY", "retry_on"]

T = TypeVar("T")

DEFAULT_RETRY = BackoffSettings(initial=0.01, maximum=0.01, factor=1.0, jitter=0.1, reset_after=float("inf"))
DEFAULT_STEPS = 5


async def retry_on(
    retriable: Callable[[BaseException], bool], fn: Callable[[], Awaitable[T]], *, steps: int = DEFAULT_STEPS,
    backoff: BackoffSettings = DEFAULT_RETRY, clock: Clock = REAL_CLOCK,
) -> T:
    """Call ``fn`` up to ``steps`` times while it raises an error ``retriable`` accepts."""
    delays = Backoff(backoff, clock=clock)
    for attempt in range(steps):
        try:
            return await fn()
        except Exception as e:
            if attempt == steps - 1 or not retriable(e):
                raise
        await delays.sleep()
    raise AssertionError("unreachable")


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]], *, steps: int = DEFAULT_STEPS, backoff: BackoffSettings = DEFAULT_RETRY,
    clock: Clock = REAL_CLOCK,
) -> T:
    """Call ``fn`` (which must re-read the object) until it does not raise Conflict; re-raise after ``steps``."""
    return await retry_on(lambda e: isinstance(e, Conflict), fn, steps=steps, backoff=backoff, clock=clock)
