"""Analysis results on ``/metrics``: each check's last measured value and its verdict, per Rollout.

Why a collector over a small in-memory table and not gauges set by the controller: the AnalysisRun
objects are not cached (one GET per analysis reconcile), so the values are known only where the
controller measures them. :meth:`AnalysisMetrics.record` keeps the last checks of each Rollout; at
scrape time :meth:`collect` exports only Rollouts still in the Rollout cache and forgets the others,
so a deleted Rollout loses its series at the next scrape without a delete handler, and the cardinality
is bounded by Rollouts × checks × verdicts. Only the leader measures, and only the leader exports
(``active``), as the other per-Rollout series (``metrics.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rollouts.analysis.template import VERDICTS
from runtime.cache.protocols import CacheReader
from runtime.metrics import Registry

__all__ = ["AnalysisMetrics", "register_analysis_metrics"]

_LABELS = ("namespace", "name", "check")


class AnalysisMetrics(Collector):
    def __init__(self, rollouts: CacheReader, *, active: Callable[[], bool] = lambda: True) -> None:
        self._rollouts, self._active = rollouts, active
        self._lock = threading.Lock()  # scrapes run on the HTTP server's thread, records on the loop
        self._last: dict[tuple[str, str], tuple[tuple[str, str, float | None], ...]] = {}

    def record(self, namespace: str, name: str, checks: Iterable[Mapping[str, Any]]) -> None:
        """The run status's ``checks`` (name, verdict, lastValue) after a measurement round."""
        rows = tuple((str(c.get("name", "")), str(c.get("verdict", "")), _number(c.get("lastValue")))
                     for c in checks if isinstance(c, Mapping) and c.get("name"))
        with self._lock:
            self._last[(namespace, name)] = rows

    def collect(self) -> Iterable[GaugeMetricFamily]:
        value = GaugeMetricFamily("kruise_rollout_analysis_check_value",
                                  "Last value a metrics-analysis check measured (AnalysisRun checks[].lastValue).",
                                  labels=list(_LABELS))
        verdict = GaugeMetricFamily("kruise_rollout_analysis_check_verdict",
                                    "1 for the current verdict of a metrics-analysis check, 0 for the others.",
                                    labels=[*_LABELS, "verdict"])
        if self._active():
            with self._lock:
                for key in [k for k in self._last if self._rollouts.get(k[1], k[0]) is None]:
                    del self._last[key]  # the Rollout is gone: so are its series
                rows = sorted(self._last.items())
            for (ns, name), checks in rows:
                for check, current, number in checks:
                    if number is not None:
                        value.add_metric([ns, name, check], number)
                    for v in VERDICTS:
                        verdict.add_metric([ns, name, check, v], 1.0 if v == current else 0.0)
        return [value, verdict]


def _number(raw: Any) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def register_analysis_metrics(registry: Registry, rollouts: CacheReader, *,
                              active: Callable[[], bool] = lambda: True) -> AnalysisMetrics:
    metrics = AnalysisMetrics(rollouts, active=active)
    registry.register(metrics)
    return metrics
