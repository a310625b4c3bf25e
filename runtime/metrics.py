"""A tiny Prometheus metrics registry (counter, gauge, histogram) and the runtime's standard metrics.

Hand-written rather than ``prometheus_client`` to keep the dependency set small and the registry
injectable (one per manager, no process-global state, so tests can run several managers side by
side). Metric names and labels match controller-runtime so existing dashboards and alerts work:
``workqueue_*{name}``, ``controller_runtime_reconcile_*{controller}``, ``rest_client_requests_total``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = ["Registry", "Counter", "Gauge", "Histogram", "WorkQueueMetrics", "RuntimeMetrics", "DEFAULT_BUCKETS"]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help, tuple(labelnames)

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.labelnames)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        return self.header() + [f"{self.name}{_labels(self.labelnames, k)} {_num(v)}" for k, v in self._values.items()]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        self._values[self._key(labels)] = value


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = (),
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help, labelnames)
        self.buckets = tuple(sorted(buckets))
        # per label set: [count per bucket..., +Inf count], sum
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        counts, total = self._series.setdefault(self._key(labels), ([0] * (len(self.buckets) + 1), [0.0]))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
        counts[-1] += 1
        total[0] += value

    def count(self, **labels: str) -> int:
        series = self._series.get(self._key(labels))
        return series[0][-1] if series else 0

    def render(self) -> list[str]:
        out = self.header()
        for key, (counts, total) in self._series.items():
            for bound, c in zip((*self.buckets, math.inf), counts, strict=True):
                le = 'le="' + _num(bound) + '"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {c}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_num(total[0])}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {counts[-1]}")
        return out


class Registry:
    """Holds metrics by name and renders the Prometheus text exposition format."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._collectors: list[Callable[[], None]] = []

    def add_collector(self, collect: Callable[[], None]) -> None:
        """Call ``collect`` before every render (gauges computed at scrape time, e.g. unfinished work)."""
        self._collectors.append(collect)

    def _get(self, cls: type, name: str, help: str, labelnames: Sequence[str], **kw) -> _Metric:
        existing = self._metrics.get(name)
        if existing is not None:
            if type(existing) is not cls or existing.labelnames != tuple(labelnames):
                raise ValueError(f"metric {name} already registered with another type or labels")
            return existing
        metric = cls(name, help, labelnames, **kw)
        self._metrics[name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        return self._get(Counter, name, help, labelnames)  # type: ignore[return-value]

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self._get(Gauge, name, help, labelnames)  # type: ignore[return-value]

    def histogram(self, name: str, help: str, labelnames: Sequence[str] = (),
                  buckets: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        return self._get(Histogram, name, help, labelnames, buckets=buckets)  # type: ignore[return-value]

    def render(self) -> str:
        for collect in self._collectors:
            collect()
        lines: list[str] = []
        for metric in self._metrics.values():
            lines += metric.render()  # type: ignore[attr-defined]
        return "\n".join(lines) + "\n"


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
        self.reconcile_time = r.histogram("controller_runtime_reconcile_time_seconds",
                                          "Duration of reconciles.", ["controller"])
        self.api_requests = r.counter("rest_client_requests_total",
                                      "API server requests by verb and HTTP status code.", ["method", "code"])
        self.api_latency = r.histogram("rest_client_request_duration_seconds",
                                       "API request latency (for watches: until the response started).",
                                       ["method"])
        self.leader = r.gauge("leader_election_master_status", "1 while this replica is the leader.", ["name"])

    def workqueue(self, name: str) -> WorkQueueMetrics:
        return WorkQueueMetrics(self, name)

    def api_request_hook(self, verb: str, code: str, seconds: float) -> None:
        """A :data:`runtime.kube.client.RequestHook` feeding the API request metrics."""
        self.api_requests.inc(method=verb, code=code)
        self.api_latency.observe(seconds, method=verb)


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
