"""Per-Rollout metrics: state read from the Rollout cache at scrape time, events counted from its updates.

Two kinds, for two reasons:

*State* (phase, current step and its state, traffic weight, seconds waiting for approval) is a
:class:`RolloutStateCollector` that decodes each Rollout in the informer's store when Prometheus scrapes.
Nothing is stored, so nothing can be forgotten: a deleted Rollout has no series at the next scrape.

*Events* (steps and releases finished and how long they took, approvals, rollbacks) are counters and
histograms fed by :class:`RolloutEventObserver`, an informer handler that compares each Rollout's old
and new status. It removes a Rollout's series when the Rollout is deleted, so the cardinality stays
bounded by the number of Rollouts (every label set is ``namespace``, ``name`` and a small fixed set).

Only the leader exports per-Rollout series (``active``): both replicas watch the same Rollouts, and two
copies of every series would double each ``sum``. Durations are measured on the injected clock from
the moment this replica saw the change; a step already under way when the replica became leader is not
observed (its start is unknown) rather than observed wrongly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rollouts.api import constants as C
from rollouts.api.decode import as_rollout
from rollouts.api.v1beta1.rollout import Rollout
from rollouts.rollout.model import as_status, parse_time
from runtime.cache.store import Store
from runtime.clock import Clock
from runtime.controller.handlers import unwrap_tombstone
from runtime.metrics import Registry

__all__ = ["RolloutStateCollector", "RolloutEventObserver", "PHASES", "STEP_STATES", "register_rollout_metrics"]

PHASES = (C.PHASE_INITIAL, C.PHASE_HEALTHY, C.PHASE_PROGRESSING, C.PHASE_TERMINATING, C.PHASE_DISABLING,
          C.PHASE_DISABLED)
"""Every phase gets a 0/1 series (kube-state-metrics style): ``== 1`` alerts need no absent() tricks."""
STEP_STATES = (C.STEP_STATE_BEFORE_UPGRADE, C.STEP_STATE_UPGRADE, C.STEP_STATE_TRAFFIC_ROUTING,
               C.STEP_STATE_METRICS_ANALYSIS, C.STEP_STATE_PAUSED, C.STEP_STATE_READY, C.STEP_STATE_COMPLETED)
_AFTER_TRAFFIC = frozenset({C.STEP_STATE_METRICS_ANALYSIS, C.STEP_STATE_PAUSED, C.STEP_STATE_READY,
                            C.STEP_STATE_COMPLETED})
"""Step states reached only once the step's traffic was applied (the machine moves past StepTrafficRouting
when the providers report done)."""
STEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
"""Seconds: steps last from a second (automatic) to a day (a pause waiting for someone)."""
RELEASE_BUCKETS = (10, 30, 60, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 24 * 3600)
LABELS = ("namespace", "name")


def _ident(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def _percent(traffic: str | None) -> float | None:
    if not traffic:
        return None
    try:
        return float(traffic.rstrip("%"))
    except ValueError:
        return None


def traffic_weight(rollout: Rollout, step_index: int, state: str) -> float | None:
    """Percent of traffic the controller has applied to the new version (None: no traffic routing or no release).

    The current step's weight once its state is past StepTrafficRouting, the previous step's before
    (0 before the first step's routing is done)."""
    strategy = rollout.spec.strategy
    active = strategy.active()
    if active is None or not (active.traffic_routings or active.traffic_routing_ref):
        return None
    steps = strategy.steps()
    done = step_index if state in _AFTER_TRAFFIC else step_index - 1
    for step in reversed(steps[:max(done, 0)]):
        weight = _percent(step.traffic)
        if weight is not None:
            return weight
    return 0.0


class RolloutStateCollector(Collector):
    """Gauges computed from the Rollout cache at scrape time (see the module docstring).

    Decoding a Rollout costs ~0.2 ms, and at 10,000 Rollouts decoding all of them made each scrape hold
    the event loop for seconds (admission answers waited behind it). So each Rollout's samples are kept
    by its ``resourceVersion`` and rebuilt only when the Rollout changed; only the seconds waiting for
    approval depend on the clock, and they are recomputed at every scrape from the kept start time.
    Entries of Rollouts gone from the cache are dropped at each scrape; an object without a
    resourceVersion (never in an informer's cache) is decoded every time."""

    def __init__(self, store: Store, clock: Clock, *, active: Callable[[], bool] = lambda: True) -> None:
        self._store, self._clock, self._active = store, clock, active
        self._rows: dict[str, _Row] = {}

    def describe(self) -> Iterable[Any]:
        return _state_families()

    async def warm(self, chunk: int = 200) -> None:
        """Decode every cached Rollout's samples ahead of the first scrape, ``chunk`` at a time.

        Why: the first scrape of a new leader found no samples kept and decoded every Rollout inside
        ``collect`` (1.2 s at 10,000 in one piece, on the loop that answers admission requests). Run when
        leadership starts, this does the same work in slices with the loop free between them; the scrape
        then only fills in what changed since. A Rollout changed while warming is decoded again then."""
        todo = self._store.list()
        for start in range(0, len(todo), chunk):
            if not self._active():
                return  # leadership lost meanwhile: the next leader warms its own
            for obj in todo[start:start + chunk]:
                key, row = self._current(obj)
                if row is not None and row.version:  # a row without a version is never kept
                    self._rows[key] = row
            await asyncio.sleep(0)

    def _current(self, obj: Mapping[str, Any]) -> tuple[str, _Row | None]:
        """``obj``'s key and samples: the kept row while its resourceVersion is the same, else decoded."""
        ns, name = _ident(obj)
        version = (obj.get("metadata") or {}).get("resourceVersion") or ""
        row = self._rows.get(f"{ns}/{name}")
        if row is None or not version or row.version != version:
            row = _row(obj, version)
        return f"{ns}/{name}", row

    def collect(self) -> Iterable[Any]:
        families = _state_families()
        if not self._active():
            self._rows.clear()
            return families
        now, waiting = self._clock.now(), families[-1]
        rows: dict[str, _Row] = {}
        for obj in self._store.list():
            key, row = self._current(obj)
            if row is None:
                continue
            ns, name = _ident(obj)
            rows[key] = row
            for family, samples in zip(families, row.samples, strict=True):
                family.samples.extend(samples)
            if row.paused_since is not None:
                waiting.add_metric([ns, name], max(0.0, (now - row.paused_since).total_seconds()))
        self._rows = rows
        return families


def _state_families() -> list[GaugeMetricFamily]:
    return [
        GaugeMetricFamily("kruise_rollout_phase", "1 for the Rollout's status.phase, 0 for the others.",
                          labels=[*LABELS, "phase"]),
        GaugeMetricFamily("kruise_rollout_step", "status.canaryStatus.currentStepIndex (1-based; 0: no release).",
                          labels=list(LABELS)),
        GaugeMetricFamily("kruise_rollout_step_state", "1 for the current step's currentStepState, 0 for the "
                          "others (no series without a release).", labels=[*LABELS, "state"]),
        GaugeMetricFamily("kruise_rollout_traffic_weight_percent", "Traffic weight applied to the new version "
                          "(Rollouts with traffic routing, during a release).", labels=list(LABELS)),
        GaugeMetricFamily("kruise_rollout_waiting_for_approval_seconds", "Seconds the current step has waited "
                          "for a manual approval (a pause without duration); 0 when not waiting.",
                          labels=list(LABELS)),
    ]


class _Row:
    """One Rollout's samples as of ``version``, one list per family; while it waits for an approval
    (``paused_since``), the wait grows with the clock and is computed at each scrape instead."""

    __slots__ = ("version", "samples", "paused_since")

    def __init__(self, version: str, samples: list[list[Any]], paused_since: datetime | None) -> None:
        self.version, self.samples, self.paused_since = version, samples, paused_since


def _row(obj: Mapping[str, Any], version: str) -> _Row | None:
    """Decode ``obj`` into its samples (None: a Rollout the controller cannot decode has no series)."""
    ns, name = _ident(obj)
    try:
        rollout, status = as_rollout(obj), as_status(obj)
    except Exception:  # noqa: BLE001 - a Rollout the controller cannot decode has no state series
        return None
    phase, step, state, weight, waiting = _state_families()
    for p in PHASES:
        phase.add_metric([ns, name, p], 1.0 if status.phase == p else 0.0)
    sub = status.canary_status or status.blue_green_status
    index = sub.current_step_index if sub is not None else 0
    step.add_metric([ns, name], float(index))
    samples = [phase.samples, step.samples, state.samples, weight.samples, waiting.samples]
    if sub is None or status.phase != C.PHASE_PROGRESSING:
        waiting.add_metric([ns, name], 0.0)
        return _Row(version, samples, None)
    for s in STEP_STATES:
        state.add_metric([ns, name, s], 1.0 if sub.current_step_state == s else 0.0)
    applied = traffic_weight(rollout, index, sub.current_step_state)
    if applied is not None:
        weight.add_metric([ns, name], applied)
    since = parse_time(sub.last_update_time)
    manual = sub.current_step_state == C.STEP_STATE_PAUSED and _manual_pause(rollout, index)
    if not (manual and since):
        waiting.add_metric([ns, name], 0.0)
        return _Row(version, samples, None)
    return _Row(version, samples, since)  # the wait grows with the clock: computed at each scrape


def _manual_pause(rollout: Rollout, index: int) -> bool:
    steps = rollout.spec.strategy.steps()
    return 0 < index <= len(steps) and steps[index - 1].pause.duration is None


class RolloutEventObserver:
    """Informer handler counting release events per Rollout (see the module docstring)."""

    def __init__(self, registry: Registry, clock: Clock, *, active: Callable[[], bool] = lambda: True) -> None:
        self._clock, self._active = clock, active
        r = registry
        self.steps = r.histogram("kruise_rollout_step_duration_seconds",
                                 "Seconds from a step's start to the next step (or completion).",
                                 list(LABELS), buckets=STEP_BUCKETS)
        self.releases = r.histogram("kruise_rollout_release_duration_seconds",
                                    "Seconds from Progressing to the end of the release, by result.",
                                    [*LABELS, "result"], buckets=RELEASE_BUCKETS)
        self.approval_wait = r.histogram("kruise_rollout_approval_wait_seconds",
                                         "Seconds a step waited for its manual approval.", list(LABELS),
                                         buckets=STEP_BUCKETS)
        self.approvals = r.counter("kruise_rollout_approvals_total", "Manual approvals of a paused step.",
                                   list(LABELS))
        self.rollbacks = r.counter("kruise_rollout_rollbacks_total",
                                   "Releases rolled back (workload reverted to the stable revision mid-release).",
                                   list(LABELS))
        self._step_started: dict[tuple[str, str], tuple[int, float]] = {}
        self._release_started: dict[tuple[str, str], float] = {}
        self._paused_since: dict[tuple[str, str], float] = {}

    # EventHandler ------------------------------------------------------------------------------
    def on_add(self, obj: Mapping[str, Any]) -> None:
        return None

    def on_update(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        # Every event here is a status transition; an update that left the status alone (a finalizer,
        # an annotation, the spec before the controller reacts) has none, and is not decoded at all.
        if not self._active() or old.get("status") == new.get("status"):
            return
        try:
            self._observe(_ident(new), as_rollout(new), _progress(old), _progress(new))
        except Exception:  # noqa: BLE001 - metrics never break the informer; undecodable objects are skipped
            return

    def on_delete(self, obj: Any) -> None:
        key = _ident(unwrap_tombstone(obj))
        for metric in (self.steps, self.approval_wait, self.approvals, self.rollbacks):
            metric.remove(namespace=key[0], name=key[1])
        self.releases.remove_matching(namespace=key[0], name=key[1])
        for memory in (self._step_started, self._release_started, self._paused_since):
            memory.pop(key, None)

    # transitions -------------------------------------------------------------------------------
    def _observe(self, key: tuple[str, str], rollout: Rollout, old: _Progress, new: _Progress) -> None:
        now, ns, name = self._clock.monotonic(), key[0], key[1]
        if new.phase == C.PHASE_PROGRESSING and old.phase != C.PHASE_PROGRESSING:
            self._release_started[key] = now
        if old.phase == C.PHASE_PROGRESSING and new.phase != C.PHASE_PROGRESSING:
            started = self._release_started.pop(key, None)
            if started is not None:
                self.releases.observe(now - started, namespace=ns, name=name,
                                      result="cancelled" if old.cancelling else "succeeded")
        if new.rolled_back and not old.rolled_back:
            self.rollbacks.inc(namespace=ns, name=name)
        self._observe_step(key, rollout, old, new, now)

    def _observe_step(self, key: tuple[str, str], rollout: Rollout, old: _Progress, new: _Progress,
                      now: float) -> None:
        ns, name = key
        step_changed = new.index != old.index or (new.state == C.STEP_STATE_COMPLETED != old.state)
        if step_changed:
            started = self._step_started.pop(key, None)
            if started is not None and started[0] == old.index:
                self.steps.observe(now - started[1], namespace=ns, name=name)
            if new.phase == C.PHASE_PROGRESSING and new.state != C.STEP_STATE_COMPLETED:
                self._step_started[key] = (new.index, now)
        if new.state == C.STEP_STATE_PAUSED and old.state != C.STEP_STATE_PAUSED and _manual_pause(rollout, new.index):
            self._paused_since[key] = now
        if old.state == C.STEP_STATE_PAUSED and new.state == C.STEP_STATE_READY and old.index == new.index \
                and _manual_pause(rollout, old.index):
            self.approvals.inc(namespace=ns, name=name)
            since = self._paused_since.pop(key, None)
            if since is not None:
                self.approval_wait.observe(now - since, namespace=ns, name=name)


class _Progress:
    """The few status fields the observer compares (decoded once per event)."""

    __slots__ = ("phase", "index", "state", "cancelling", "rolled_back")

    def __init__(self, phase: str, index: int, state: str, cancelling: bool, rolled_back: bool) -> None:
        self.phase, self.index, self.state = phase, index, state
        self.cancelling, self.rolled_back = cancelling, rolled_back


def _progress(obj: Mapping[str, Any]) -> _Progress:
    status = as_status(obj)
    sub = status.canary_status or status.blue_green_status
    reason = next((c.reason for c in status.conditions if c.type == C.CONDITION_PROGRESSING), "")
    cancelling = reason == C.REASON_CANCELLING
    in_batch_rollback = sub is not None and sub.observed_rollout_id.startswith("rollback-")
    return _Progress(status.phase, sub.current_step_index if sub else 0, sub.current_step_state if sub else "",
                     cancelling, cancelling or in_batch_rollback)


def register_rollout_metrics(registry: Registry, rollouts: Any, clock: Clock, *,
                             active: Callable[[], bool] = lambda: True) -> tuple[RolloutStateCollector,
                                                                                 RolloutEventObserver]:
    """Register the state collector and the event observer for the Rollout informer ``rollouts``.
    The caller runs ``collector.warm`` when leadership starts."""
    collector = RolloutStateCollector(rollouts.store, clock, active=active)
    registry.register(collector)
    observer = RolloutEventObserver(registry, clock, active=active)
    rollouts.add_handler(observer, name="rollout-metrics")
    return collector, observer
