"""``kubectl kruise rollout history rollout/NAME [--revision N | --rollout-id ID]``.

Lists the RolloutHistory records of a Rollout (written by the controller with the ``RolloutHistory``
feature gate), one row per release, numbered like ``kubectl rollout history``: revision 1 is the
oldest record (by creation time, then name). ``--revision N`` or ``--rollout-id ID`` prints one
release in detail: the workload and its images, the Service and gateway objects of the snapshot and
the pods released in each step. Rendering is pure (tested without a cluster); the command reads the
Rollout first so a wrong name fails as ``kubectl`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rollouts.api import keys
from rollouts.api.v1alpha1.rollouthistory import RolloutHistory
from rollouts.api.wire import DecodeError, from_dict
from rollouts.cli.api import ApiNotFound, RolloutApi
from rollouts.cli.target import Target

NONE = "<none>"


class HistoryError(Exception):
    """Bad ``--revision``/``--rollout-id``: printed as ``error: ...`` like the other commands' errors."""


def ordered(histories: Sequence[Mapping[str, Any]]) -> list[RolloutHistory]:
    """Records oldest first (creation time, then name); undecodable ones are left out."""
    out = []
    for h in sorted(histories, key=lambda h: ((h.get("metadata") or {}).get("creationTimestamp") or "",
                                              (h.get("metadata") or {}).get("name") or "")):
        try:
            out.append(from_dict(RolloutHistory, h))
        except DecodeError:
            continue
    return out


def _pods(h: RolloutHistory) -> int:
    return sum(len(s.pods) for s in h.status.canary_steps) if h.status is not None else 0


def _phase(h: RolloutHistory) -> str:
    return (h.status.phase if h.status is not None else "") or "recording"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def render_list(target: Target, histories: list[RolloutHistory]) -> str:
    """``kubectl rollout history`` shape: the object, then one row per release."""
    if not histories:
        return f"No rollout history found for {target.display} (is the RolloutHistory feature gate on?)"
    rows = [["REVISION", "ROLLOUT-ID", "PHASE", "STEPS", "PODS", "WORKLOAD", "HISTORY"]]
    for i, h in enumerate(histories, start=1):
        steps = len(h.status.canary_steps) if h.status is not None else 0
        workload = f"{h.spec.workload.kind}/{h.spec.workload.name}" if h.spec.workload.name else NONE
        rows.append([str(i), h.labels.get(keys.ROLLOUT_ID_LABEL, ""), _phase(h), str(steps), str(_pods(h)),
                     workload, str(h.metadata.get("name", ""))])
    return f"{target.display}\n{_table(rows)}"


def select(histories: list[RolloutHistory], *, revision: int = 0, rollout_id: str = "") -> tuple[int, RolloutHistory]:
    """(revision, record) chosen by ``--revision`` (1-based) or ``--rollout-id``."""
    if rollout_id:
        for i, h in enumerate(histories, start=1):
            if h.labels.get(keys.ROLLOUT_ID_LABEL) == rollout_id:
                return i, h
        raise HistoryError(f"unable to find the release with rollout-id {rollout_id!r}; "
                           "run without --rollout-id to list them")
    if not 1 <= revision <= len(histories):
        raise HistoryError(f"unable to find the specified revision {revision} (there are {len(histories)}); "
                           "run without --revision to list them")
    return revision, histories[revision - 1]


def _images(data: Mapping[str, Any] | None) -> str:
    containers = (((data or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ", ".join(f"{c.get('name')}={c.get('image')}" for c in containers) or NONE


def _step_replicas(h: RolloutHistory, index: int) -> str:
    steps = ((((h.spec.rollout.data or {}).get("strategy") or {}).get("canary") or {}).get("steps")) or []
    if index - 1 < len(steps):
        replicas = steps[index - 1].get("replicas")
        return f" (replicas {replicas})" if replicas is not None else ""
    return ""


def render_detail(target: Target, revision: int, h: RolloutHistory) -> str:
    """One release: what was released, through what, and the pods of each step."""
    spec, wl = h.spec, h.spec.workload
    route = spec.traffic_routing
    lines = [
        f"{target.display} with revision {revision}",
        f"RolloutHistory:  {h.metadata.get('name', '')}",
        f"Rollout ID:      {h.labels.get(keys.ROLLOUT_ID_LABEL, '') or spec.rollout.rollout_id}",
        f"Phase:           {_phase(h)}",
        f"Workload:        {f'{wl.kind} {wl.name} ({wl.api_version})' if wl.name else NONE}",
        f"  Containers:    {_images(wl.data)}",
        f"Service:         {spec.service.name or NONE}",
        f"Ingress:         {route.ingress.name if route.ingress else NONE}",
        f"HTTPRoute:       {route.http_route.name if route.http_route else NONE}",
        "Steps:",
    ]
    steps = h.status.canary_steps if h.status is not None else []
    if not steps:
        lines.append("  <none recorded yet>" if _phase(h) == "recording" else f"  {NONE}")
    for s in steps:
        lines.append(f"  Step {s.canary_step_index}{_step_replicas(h, s.canary_step_index)}: {len(s.pods)} pod(s)")
        lines.extend(f"    {p.name}   {p.ip or NONE}   {p.node_name or NONE}" for p in s.pods)
    return "\n".join(lines)


async def history(api: RolloutApi, namespace: str, target: Target, out: TextIO, *, revision: int = 0,
                  rollout_id: str = "") -> None:
    """List the releases, or show one (``revision`` > 0 or ``rollout_id``)."""
    try:
        await api.get_rollout(namespace, target.name)
    except ApiNotFound as exc:
        raise HistoryError(f'rollouts.rollouts.kruise.io "{target.name}" not found in namespace "{namespace}"') from exc
    selector = f"{keys.ROLLOUT_NAME_LABEL}={target.name}"
    histories = ordered(await api.list_rollout_histories(namespace, selector))
    if revision or rollout_id:
        n, h = select(histories, revision=revision, rollout_id=rollout_id)
        print(render_detail(target, n, h), file=out)
    else:
        print(render_list(target, histories), file=out)
