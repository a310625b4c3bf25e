"""The Kubernetes-native check kind: what the canary pods themselves show, compared with the stable pods.

Why: many clusters have no metrics stack, yet the API server already knows the worst signs of a bad
version — containers restarting, OOM-killed or in CrashLoopBackOff, pods not ready, Warning Events.
A check ``kubernetes: {signal: restarts}`` counts one of these over the canary pods and the stable
pods (told apart by the revision label the release already uses for its Services:
``pod-template-hash``, or ``controller-revision-hash`` for StatefulSet-likes and DaemonSets).

What ``result`` is, so that conditions read naturally (``failureCondition: result > 0``):

* ``baseline: stable`` (default): canary count per canary pod **minus** stable count per stable pod
  (0 per pod when there are no stable pods). A per-pod rate keeps one canary pod beside ten stable
  pods comparable; ``result <= 0`` means "no worse than stable".
* ``baseline: none``: the canary pods' total count.

What each signal counts, per pod (:func:`pod_count`):

* ``restarts``: the sum of ``restartCount`` over its containers and init containers;
* ``notReady``: 1 when its ``Ready`` condition is not ``True`` (the state now, not past transitions);
* ``oomKilled``: containers whose current or last termination reason is ``OOMKilled``;
* ``crashLoopBackOff``: containers waiting with reason ``CrashLoopBackOff``;
* ``warningEvents``: the ``count`` of the Warning Events about it (``involvedObject`` the pod).

No canary pods is no data. Pods are listed from the API server (the manager's Pod cache keeps neither
container statuses nor spec; :func:`rollouts.objects.pod.keep_read_fields`), Events by field selector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from rollouts.analysis import template as t
from rollouts.analysis.prometheus import Answer
from rollouts.objects import pod as podobj
from runtime.kube.errors import ApiError
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import EVENTS, PODS

OOM_KILLED: Final = "OOMKilled"
CRASH_LOOP: Final = "CrashLoopBackOff"
WARNING_EVENTS_SELECTOR: Final = "involvedObject.kind=Pod,type=Warning"


def _containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = pod.get("status") or {}
    return [c for key in ("initContainerStatuses", "containerStatuses")
            for c in status.get(key) or [] if isinstance(c, Mapping)]


def _reason(state: Any, phase: str) -> str:
    inner = state.get(phase) if isinstance(state, Mapping) else None
    return str(inner.get("reason", "")) if isinstance(inner, Mapping) else ""


def warning_counts(events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Pod name → how many Warning Events name it (an Event's ``count`` folds repeats)."""
    out: dict[str, int] = {}
    for e in events:
        obj = e.get("involvedObject") or {}
        if e.get("type") != "Warning" or obj.get("kind") != "Pod":
            continue
        raw = e.get("count")
        n = raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else 1
        out[str(obj.get("name", ""))] = out.get(str(obj.get("name", "")), 0) + n
    return out


def pod_count(pod: Mapping[str, Any], signal: str, warnings: Mapping[str, int]) -> int:
    """How much of ``signal`` one pod shows (see the module docstring)."""
    containers = _containers(pod)
    if signal == "restarts":
        return sum(int(c.get("restartCount") or 0) for c in containers)
    if signal == "notReady":
        return 0 if podobj.is_ready(pod) else 1
    if signal == "oomKilled":
        return sum(1 for c in containers
                   if OOM_KILLED in (_reason(c.get("state"), "terminated"), _reason(c.get("lastState"), "terminated")))
    if signal == "crashLoopBackOff":
        return sum(1 for c in containers if _reason(c.get("state"), "waiting") == CRASH_LOOP)
    if signal == "warningEvents":
        return warnings.get(podobj.name(pod), 0)
    raise ValueError(f"unknown signal {signal!r}")  # the template parser admits only SIGNALS


def compare(source: t.KubernetesSource, canary: Sequence[Mapping[str, Any]], stable: Sequence[Mapping[str, Any]],
            warnings: Mapping[str, int]) -> Answer:
    """The measured ``result`` of ``source`` over the pods (pure)."""
    if not canary:
        return Answer()  # no canary pods yet: no data
    total = sum(pod_count(p, source.signal, warnings) for p in canary)
    if source.baseline == "none":
        return Answer(value=float(total))
    stable_total = sum(pod_count(p, source.signal, warnings) for p in stable)
    stable_rate = stable_total / len(stable) if stable else 0.0
    return Answer(value=total / len(canary) - stable_rate)


async def observe(client: KubeApi, namespace: str, revision_key: str, canary_revision: str, stable_revision: str,
                  source: t.KubernetesSource) -> Answer:
    """List the canary and stable pods (and Warning Events when asked) and :func:`compare` them.

    An API error (e.g. RBAC refusing ``list``) is an ``Error`` measurement: inconclusive, never a pass.
    """
    if not canary_revision:
        return Answer()
    try:
        canary = (await client.list(PODS, namespace, label_selector=f"{revision_key}={canary_revision}"))["items"]
        stable: list[Any] = []
        if source.baseline == "stable" and stable_revision and stable_revision != canary_revision:
            selector = f"{revision_key}={stable_revision}"
            stable = (await client.list(PODS, namespace, label_selector=selector))["items"]
        warnings: dict[str, int] = {}
        if source.signal == "warningEvents" and canary:
            events = await client.list(EVENTS, namespace, field_selector=WARNING_EVENTS_SELECTOR)
            warnings = warning_counts(events["items"])
    except ApiError as e:
        return Answer(error=f"listing pods/events in {namespace!r} failed: {e}")
    return compare(source, canary, stable, warnings)
