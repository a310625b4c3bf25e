"""``kubectl kruise describe rollout NAME [-w]``: one screen that answers "where is my release?".

Why a separate view from ``kubectl describe rollout``: that one prints the object's fields, so the
step list, which step runs, how many new and old pods there are and how much traffic the new ones
get have to be pieced together from the spec, the status and the workload. Here they are joined.

The rendering (:func:`render`) is a pure function of what was read — the Rollout (either version),
its workload, a :class:`PodsSummary` and the Rollout's events — plus ``now`` for event ages, so it
is unit-tested without a cluster. :func:`describe` does the reads; ``-w`` re-reads every
:data:`WATCH_INTERVAL_S` and prints the view again only when it changed (polling, not a watch
stream: four small GETs a second cost the apiserver less than four open watches per terminal, and
the loop has nothing to resume after a dropped connection).

Vocabulary: *canary* pods carry the new revision (``status.*.podTemplateHash``), *stable* pods the
old one (``stableRevision``); the revision label is ``pod-template-hash`` for Deployments and
``controller-revision-hash`` for the other kinds.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TextIO

import attrs

from rollouts.api import keys, load_hub
from rollouts.api.v1beta1.rollout import CanaryStep, Rollout

#: Seconds between two reads under ``-w``.
WATCH_INTERVAL_S = 1.0
#: Events shown (the newest); ``kubectl describe`` shows all, which scrolls the steps away.
MAX_EVENTS = 8
_FIRST_CELL = re.compile(r"^\s+\S+\s+")


class DescribeApi(Protocol):
    """The reads of ``describe`` (implemented by :class:`rollouts.cli.api.KubeRolloutApi`)."""

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any]: ...

    async def get_workload(self, namespace: str, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        """The workload, or None when it does not exist."""
        ...

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...

    async def list_events(self, namespace: str, field_selector: str) -> list[dict[str, Any]]: ...


@attrs.frozen
class PodCounts:
    total: int = 0
    ready: int = 0

    def __str__(self) -> str:
        return f"{self.total} ({self.ready} ready)"


@attrs.frozen
class PodsSummary:
    """Pods of the workload by revision; ``other`` holds pods of neither (a third revision)."""

    canary: PodCounts = PodCounts()
    stable: PodCounts = PodCounts()
    other: PodCounts = PodCounts()


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def summarize_pods(pods: Sequence[Mapping[str, Any]], *, label: str, canary: str, stable: str) -> PodsSummary:
    """Count live pods by the value of the revision ``label`` (terminating pods are left out)."""
    counts: dict[str, list[int]] = {"canary": [0, 0], "stable": [0, 0], "other": [0, 0]}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        revision = (meta.get("labels") or {}).get(label, "")
        key = "canary" if canary and revision == canary else "stable" if stable and revision == stable else "other"
        counts[key][0] += 1
        counts[key][1] += int(_ready(pod))
    return PodsSummary(**{k: PodCounts(t, r) for k, (t, r) in counts.items()})


def revision_label(kind: str) -> str:
    return keys.POD_TEMPLATE_HASH_LABEL if kind == "Deployment" else keys.CONTROLLER_REVISION_HASH_LABEL


def _age(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _step_text(step: CanaryStep, last: bool) -> str:
    parts = []
    if step.replicas is not None:
        parts.append(f"replicas {step.replicas}")
    if step.traffic:
        parts.append(f"traffic {step.traffic}")
    if step.matches:
        parts.append(f"{len(step.matches)} match rule(s)")
    duration = step.pause.duration
    if last:
        parts.append("then complete")
    else:
        parts.append("approve to continue" if duration is None else f"pause {duration}s")
    return ", ".join(parts)


def _completed(state: str, phase: str, index: int, total: int) -> bool:
    return state == "Completed" or (phase == "Healthy" and index == total and state in ("", "Completed"))


def _steps(ro: Rollout, index: int, state: str, phase: str) -> list[str]:
    """One line per step: ``done`` before the current one, ``->`` on it. Outside a release (phase not
    Progressing) the sub-status is the last release's, kept by the controller: nothing is marked
    current then, unless that release completed."""
    steps = ro.spec.strategy.steps()
    completed = _completed(state, phase, index, len(steps))
    live = phase == "Progressing"
    lines = []
    for i, step in enumerate(steps, start=1):
        if completed or (live and i < index):
            mark, note = "  done", ""
        elif live and i == index:
            mark, note = "  ->  ", f"  [{state}]"
        else:
            mark, note = "      ", ""
        lines.append(f"{mark} {i:>2}. {_step_text(step, i == len(steps))}{note}")
    return lines or ["  (no steps)"]


def _traffic(ro: Rollout, index: int, phase: str) -> str:
    routings = ro.spec.strategy.traffic_routings()
    if not routings:
        return "no trafficRoutings: the Service spreads requests over all pods"
    names = ", ".join(_routing_name(r) for r in routings)
    steps = ro.spec.strategy.steps()
    if phase != "Progressing" or not 1 <= index <= len(steps):
        return f"all to stable ({names})"
    step = steps[index - 1]
    if step.matches:
        return f"requests matching {len(step.matches)} rule(s) to canary ({names})"
    return f"{step.traffic or 'no weight set'} to canary ({names})"


def _routing_name(r: Any) -> str:
    if r.ingress is not None:
        return f"ingress/{r.ingress.name}"
    if r.gateway is not None:
        return f"httproute/{r.gateway.http_route_name}"
    if r.custom_network_refs:
        return ", ".join(f"{c.kind.lower()}/{c.name}" for c in r.custom_network_refs)
    return f"service/{r.service}"


def _workload_line(ro: Rollout, workload: Mapping[str, Any] | None) -> str:
    ref = ro.spec.workload_ref
    if workload is None:
        return f"{ref.kind}/{ref.name} (not found)"
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    return (f"{ref.kind}/{ref.name} (replicas {spec.get('replicas', '?')}, updated {status.get('updatedReplicas', 0)},"
            f" ready {status.get('readyReplicas', 0)})")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return ["  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *rows]]


def _event_time(e: Mapping[str, Any]) -> str:
    return str(e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or "")


def render(
    rollout: Mapping[str, Any],
    workload: Mapping[str, Any] | None,
    pods: PodsSummary | None,
    events: Sequence[Mapping[str, Any]],
    now: datetime,
) -> str:
    """The view of one Rollout (either version) as text lines; deterministic for equal inputs."""
    ro: Rollout = load_hub(dict(rollout))
    status = ro.status
    meta = rollout.get("metadata") or {}
    phase = status.phase if status else ""
    sub = status.canary_status if status else None
    index = sub.current_step_index if sub else (status.current_step_index if status else 0)
    state = sub.current_step_state if sub else (status.current_step_state if status else "")
    total = len(ro.spec.strategy.steps())
    lines = [
        f"Name:        {meta.get('name', '')}",
        f"Namespace:   {meta.get('namespace', '')}",
        f"Workload:    {_workload_line(ro, workload)}",
        f"Phase:       {phase or '<none>'}" + ("  (spec.strategy.paused)" if ro.spec.strategy.paused else "")
        + ("  (spec.disabled)" if ro.spec.disabled else ""),
        f"Message:     {status.message if status else ''}",
        f"Step:        {_step_line(index, total, state, phase)}",
        f"Revisions:   canary {sub.pod_template_hash if sub else '-'}, stable {sub.stable_revision if sub else '-'}",
    ]
    if sub is not None:
        lines.append(f"Canary:      {sub.canary_replicas} replicas ({sub.canary_ready_replicas} ready) per status")
    if pods is not None:
        pod_line = f"Pods:        canary {pods.canary}, stable {pods.stable}"
        lines.append(pod_line + (f", other {pods.other}" if pods.other.total else ""))
    lines.append(f"Traffic:     {_traffic(ro, index, phase)}")
    lines.append("Steps:")
    lines.extend(_steps(ro, index, state, phase))
    lines.append("Conditions:")
    conds = [(c.type, c.status, c.reason, c.message) for c in (status.conditions if status else [])]
    lines.extend(_table(("TYPE", "STATUS", "REASON", "MESSAGE"), conds) if conds else ["  <none>"])
    lines.append("Events:")
    recent = sorted(events, key=_event_time)[-MAX_EVENTS:]
    rows = [(_age(_event_time(e), now), str(e.get("type", "")), str(e.get("reason", "")), str(e.get("message", "")))
            for e in recent]
    lines.extend(_table(("AGE", "TYPE", "REASON", "MESSAGE"), rows) if rows else ["  <none>"])
    return "\n".join(lines) + "\n"


def _step_line(index: int, total: int, state: str, phase: str) -> str:
    if phase == "Progressing" or _completed(state, phase, index, total):
        return f"{index}/{total} {state}"
    return f"no release in progress (the last one stopped at step {index}/{total} {state})"


def _selector(workload: Mapping[str, Any]) -> str:
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


async def snapshot(api: DescribeApi, namespace: str, name: str, now: datetime) -> str:
    """Read everything :func:`render` needs and render it."""
    rollout = await api.get_rollout(namespace, name)
    ro: Rollout = load_hub(dict(rollout))
    ref = ro.spec.workload_ref
    workload = await api.get_workload(namespace, ref.api_version, ref.kind, ref.name)
    pods = None
    if workload is not None and _selector(workload):
        sub = ro.status.canary_status if ro.status else None
        pods = summarize_pods(await api.list_pods(namespace, _selector(workload)), label=revision_label(ref.kind),
                              canary=sub.pod_template_hash if sub else "", stable=sub.stable_revision if sub else "")
    events = await api.list_events(namespace, f"involvedObject.kind=Rollout,involvedObject.name={name}")
    return render(rollout, workload, pods, events, now)


async def describe(
    api: DescribeApi,
    namespace: str,
    name: str,
    out: TextIO,
    *,
    watch: bool,
    now: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rounds: int | None = None,
) -> None:
    """Print the view once, or (``watch``) again after each change until interrupted.

    ``rounds`` bounds the watch loop (tests); event ages are left out of the change check so that
    an unchanged Rollout is not re-printed every second just because its events got older.
    """
    last = None
    done = 0
    while True:
        text = await snapshot(api, namespace, name, now())
        key = _without_ages(text)
        if key != last:
            if last is not None:
                print("-" * 40, file=out)
            print(text, end="", file=out, flush=True)
            last = key
        done += 1
        if not watch or (rounds is not None and done >= rounds):
            return
        await sleep(WATCH_INTERVAL_S)


def _without_ages(text: str) -> str:
    head, sep, tail = text.partition("Events:\n")
    return head + sep + "\n".join(_FIRST_CELL.sub("", line) for line in tail.splitlines())
