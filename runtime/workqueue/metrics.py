"""The hooks a work queue reports through; the default does nothing.

Kept as a tiny protocol so the queue does not depend on the metrics registry (the manager plugs in
:class:`runtime.metrics.WorkQueueMetrics`), mirroring client-go's ``workqueue.MetricsProvider``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["QueueMetrics", "NOOP_METRICS"]


class QueueMetrics(Protocol):
    def add(self) -> None:
        """An item entered the queue (not counted when deduplicated)."""

    def depth(self, value: int) -> None:
        """Items waiting to be handed out."""

    def queue_latency(self, seconds: float) -> None:
        """Time an item waited between add and get."""

    def work_duration(self, seconds: float) -> None:
        """Time between get and done."""

    def retry(self) -> None:
        """An item was re-added through the rate limiter."""


class _Noop:
    def add(self) -> None:
        pass

    def depth(self, value: int) -> None:
        pass

    def queue_latency(self, seconds: float) -> None:
        pass

    def work_duration(self, seconds: float) -> None:
        pass

    def retry(self) -> None:
        pass


NOOP_METRICS: QueueMetrics = _Noop()
