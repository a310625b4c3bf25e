"""How late the event loop runs what is due: ``python_asyncio_event_loop_lag_seconds``.

Why this exists: every reconcile, admission answer, watch event and lease renewal of a manager shares one
event loop. When a reconcile's latency grows, the cause is either the API server (the request took long:
``rest_client_request_duration_seconds``), the client's own QPS budget (``rest_client_rate_limiter_duration_seconds``)
or the loop itself being busy with other work (decoding, conversions, a scrape, a collector pause). Only the
last one is invisible from the request metrics, and it is the one that hurts everything at once. A probe that
sleeps a fixed interval and records how late it woke measures it directly, as Node.js's
``eventloop_lag`` and Go's scheduler-latency metrics do.

Cost: one wake-up per :attr:`LoopLagProbe.interval` (2 per second by default), nothing else.
"""

from __future__ import annotations

from .clock import REAL_CLOCK, Clock
from .metrics import Histogram, Registry

__all__ = ["LoopLagProbe", "LOOP_LAG_BUCKETS"]

LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""From a millisecond (a healthy loop) to seconds (a loop held by one long piece of work)."""


class LoopLagProbe:
    """Sleeps :attr:`interval` again and again and observes how much later than asked it woke."""

    def __init__(self, registry: Registry, *, interval: float = 0.5, clock: Clock = REAL_CLOCK) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self.interval = interval
        self.clock = clock
        self.lag: Histogram = registry.histogram(
            "python_asyncio_event_loop_lag_seconds",
            "How late the event loop woke a task that slept a fixed interval: time other work held the loop.",
            [], buckets=LOOP_LAG_BUCKETS)

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            asked = self.clock.monotonic() + self.interval
            await self.clock.sleep(self.interval)
            self.lag.observe(max(0.0, self.clock.monotonic() - asked))
