"""The manager's metrics: one ``prometheus_client.CollectorRegistry`` per manager, and the runtime's standard metrics.

Why a registry per manager and not prometheus_client's global ``REGISTRY``: tests run several managers in
one process side by side, and each must expose only its own series. :class:`Registry` is a thin owner of
that ``CollectorRegistry``: it deduplicates re-registration of the same metric (two controllers asking for
``workqueue_depth`` get the same object), runs scrape-time hooks before each collection, and renders
the exposition format. Metrics are called with keyword labels (``inc(controller="rollout")``) so call
sites read like the series they produce.

Names and labels match controller-runtime so existing dashboards and alerts work:
``workqueue_*{name}``, ``controller_runtime_reconcile_*{controller}``, ``rest_client_requests_total``,
``leader_election_master_status``. ``*_created`` series are not exported (controller-runtime has none;
they double the series count for nothing a dashboard uses).

Domain metrics (per-Rollout, webhook) live with their domain and register on :attr:`Manager.registry`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client import Counter as _PCounter
from prometheus_client import Gauge as _PGauge
from prometheus_client import Histogram as _PHistogram
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.registry import Collector

__all__ = ["Registry", "Counter", "Gauge", "Histogram", "WorkQueueMetrics", "RuntimeMetrics", "DEFAULT_BUCKETS",
           "error_reason"]

# Process-wide switch in prometheus_client (it reads it when a metric is created); controller-runtime
# exports no ``_created`` series and neither do we.
prometheus_client.disable_created_metrics()

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""controller-runtime's reconcile buckets up to a minute: a reconcile or API call above 60 s is stuck."""


class _Metric:
    """Keyword-label front of one prometheus_client metric (``inc(name="q")`` instead of ``labels(...)``)."""

    def __init__(self, metric: Any, registry: CollectorRegistry) -> None:
        self._metric, self._registry = metric, registry
        self.name: str = metric._name
        self.labelnames: tuple[str, ...] = tuple(metric._labelnames)

    def _child(self, labels: dict[str, str]) -> Any:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.labelnames)}")
        return self._metric.labels(**{k: str(v) for k, v in labels.items()}) if self.labelnames else self._metric

    def remove(self, **labels: str) -> None:
        """Drop one series (an object was deleted: its series must not linger)."""
        try:
            self._metric.remove(*(str(labels[n]) for n in self.labelnames))
        except KeyError:
            pass

    def remove_matching(self, **labels: str) -> None:
        """Drop every series whose labels include ``labels`` (e.g. all results of one deleted Rollout)."""
        with self._metric._lock:
            keys = [k for k in self._metric._metrics
                    if all(k[self.labelnames.index(n)] == str(v) for n, v in labels.items())]
        for key in keys:
            self._metric.remove(*key)

    def series(self) -> list[tuple[str, ...]]:
        """Label values of every live series (tests, cardinality checks)."""
        with self._metric._lock:
            return list(self._metric._metrics)

    def _sample(self, suffix: str, labels: dict[str, str]) -> float:
        self._key_check(labels)
        value = self._registry.get_sample_value(self.name + suffix, {k: str(v) for k, v in labels.items()})
        return value or 0.0

    def _key_check(self, labels: dict[str, str]) -> None:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.labelnames)}")


class Counter(_Metric):
    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self._child(labels).inc(amount)

    def value(self, **labels: str) -> float:
        return self._sample("_total", labels)


class Gauge(_Metric):
    def set(self, value: float, **labels: str) -> None:
        self._child(labels).set(value)

    def value(self, **labels: str) -> float:
        return self._sample("", labels)


class Histogram(_Metric):
    def observe(self, value: float, **labels: str) -> None:
        self._child(labels).observe(value)

    def count(self, **labels: str) -> int:
        return int(self._sample("_count", labels))

    def sum(self, **labels: str) -> float:
        """Total of the observed values (e.g. seconds paused)."""
        return self._sample("_sum", labels)


class _Hooks(Collector):
    """Runs the scrape-time hooks; registered first, so it runs before the metrics the hooks set."""

    def __init__(self) -> None:
        self.hooks: list[Callable[[], None]] = []

    def collect(self) -> Iterable[Any]:
        for hook in self.hooks:
            hook()
        return ()

    def describe(self) -> Iterable[Any]:
        return ()


class Registry:
    """One manager's ``CollectorRegistry`` plus metric factories; renders the exposition format."""

    def __init__(self) -> None:
        self.collectors = CollectorRegistry(auto_describe=True)
        """The prometheus_client registry (register custom :class:`Collector` objects here via :meth:`register`)."""
        self._hooks = _Hooks()
        self.collectors.register(self._hooks)
        # controller-runtime's registry carries the process and runtime series (process_*, go_*), and
        # dashboards and the soak bench read RSS and CPU from them: ours are process_* and python_*.
        # Several managers in one test process each report that same process, which is the truth.
        ProcessCollector(registry=self.collectors)
        GCCollector(registry=self.collectors)
        PlatformCollector(registry=self.collectors)
        self._metrics: dict[str, _Metric] = {}

    def add_collector(self, collect: Callable[[], None]) -> None:
        """Call ``collect`` before every scrape (gauges computed at scrape time, e.g. unfinished work)."""
        self._hooks.hooks.append(collect)

    def register(self, collector: Collector) -> None:
        """Add a custom collector (series computed from a cache at scrape time: nothing to forget on delete)."""
        self.collectors.register(collector)

    def _get(self, cls: type[_Metric], pcls: type, name: str, help: str, labelnames: Sequence[str],
             **kw: Any) -> Any:
        existing = self._metrics.get(name)
        if existing is not None:
            if type(existing) is not cls or existing.labelnames != tuple(labelnames):
                raise ValueError(f"metric {name} already registered with another type or labels")
            return existing
        metric = cls(pcls(name, help, list(labelnames), registry=self.collectors, **kw), self.collectors)
        self._metrics[name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._get(Counter, _PCounter, name, help, labelnames)

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._get(Gauge, _PGauge, name, help, labelnames)

    def histogram(self, name: str, help: str, labelnames: Sequence[str] = (),
                  buckets: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        return self._get(Histogram, _PHistogram, name, help, labelnames, buckets=buckets)

    def render(self) -> str:
        """The Prometheus text format (version 0.0.4)."""
        return generate_latest(self.collectors).decode()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """Body and content type for a scrape, negotiated from its ``Accept`` header (OpenMetrics or text)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.collectors), content_type

    async def exposition_off_loop(self, accept: str | None) -> tuple[bytes, str]:
        """:meth:`exposition` for a server sharing the event loop with admission and reconciles.

        The collectors run here, on the loop, because they read state the loop changes (caches, queues);
        what they return is a snapshot of plain samples. Encoding that snapshot is the long part (~10 µs
        per line: 80,000 lines at 10,000 Rollouts), so it runs in a worker thread; the loop then waits at
        most one GIL switch interval (5 ms) per turn instead of the whole encoding."""
        encoder, content_type = choose_encoder(accept or "")
        snapshot = _Snapshot(list(self.collectors.collect()))
        return await asyncio.to_thread(encoder, snapshot), content_type


class _Snapshot:
    """Metric families already collected, offered to an encoder as a registry (``collect()`` is all it calls)."""

    def __init__(self, families: list[Any]) -> None:
        self._families = families

    def collect(self) -> Iterable[Any]:
        return iter(self._families)


class RuntimeMetrics:
    """The standard runtime metrics, registered once per registry."""

    def __init__(self, registry: Registry) -> None:
        r = registry
        self.registry = registry
        self.wq_depth = r.gauge("workqueue_depth", "Current depth of the work queue.", ["name"])
        self.wq_adds = r.counter("workqueue_adds_total", "Items added to the work queue.", ["name"])
        self.wq_latency = r.histogram("workqueue_queue_duration_seconds",
                                      "Seconds an item waits in the queue before being handed out.", ["name"])
        self.wq_work = r.histogram("workqueue_work_duration_seconds", "Seconds spent processing an item.", ["name"])
        self.wq_retries = r.counter("workqueue_retries_total", "Rate-limited re-adds.", ["name"])
        self.wq_unfinished = r.gauge("workqueue_unfinished_work_seconds",
                                     "Seconds of work in progress not yet done (stuck workers show here).", ["name"])
        self.wq_longest = r.gauge("workqueue_longest_running_processor_seconds",
                                  "Seconds the longest-running item has been processing.", ["name"])
        self.reconcile_total = r.counter("controller_runtime_reconcile_total",
                                         "Reconciles by result (success, error, requeue, requeue_after).",
                                         ["controller", "result"])
        self.reconcile_errors = r.counter("controller_runtime_reconcile_errors_total",
                                          "Reconciles that raised.", ["controller"])
        self.reconcile_error_reasons = r.counter(
            "controller_runtime_reconcile_errors_by_reason_total",
            "Reconciles that raised, by reason: the API status reason (Conflict, NotFound, ...) or the "
            "exception type (bounded: a fixed set of types).", ["controller", "reason"])
        self.reconcile_time = r.histogram("controller_runtime_reconcile_time_seconds",
                                          "Duration of reconciles.", ["controller"])
        self.api_requests = r.counter("rest_client_requests_total",
                                      "API server requests by verb and HTTP status code.", ["method", "code"])
        self.api_latency = r.histogram("rest_client_request_duration_seconds",
                                       "API request latency (for watches: until the response started).",
                                       ["method"])
        self.api_throttle = r.histogram(
            "rest_client_rate_limiter_duration_seconds",
            "Time a request waited for the client's own QPS/burst budget before it was sent.", ["method"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
        self.leader = r.gauge("leader_election_master_status", "1 while this replica is the leader.", ["name"])

    def workqueue(self, name: str) -> WorkQueueMetrics:
        return WorkQueueMetrics(self, name)

    def api_throttle_hook(self, verb: str, seconds: float) -> None:
        """A :data:`runtime.kube.client.ThrottleHook`: the client-side wait of one request."""
        self.api_throttle.observe(seconds, method=verb)

    def api_request_hook(self, verb: str, code: str, seconds: float) -> None:
        """A :data:`runtime.kube.client.RequestHook` feeding the API request metrics."""
        self.api_requests.inc(method=verb, code=code)
        self.api_latency.observe(seconds, method=verb)


def error_reason(error: BaseException) -> str:
    """A bounded label for an error: the API's ``reason`` when it has one, else the exception type name."""
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, str) and reason.isidentifier() else type(error).__name__


class WorkQueueMetrics:
    """:class:`runtime.workqueue.QueueMetrics` bound to one queue name."""

    def __init__(self, m: RuntimeMetrics, name: str) -> None:
        self._m, self._name = m, name

    def add(self) -> None:
        self._m.wq_adds.inc(name=self._name)

    def depth(self, value: int) -> None:
        self._m.wq_depth.set(value, name=self._name)

    def queue_latency(self, seconds: float) -> None:
        self._m.wq_latency.observe(seconds, name=self._name)

    def work_duration(self, seconds: float) -> None:
        self._m.wq_work.observe(seconds, name=self._name)

    def retry(self) -> None:
        self._m.wq_retries.inc(name=self._name)
