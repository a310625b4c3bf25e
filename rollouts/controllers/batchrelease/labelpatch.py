"""Pod batch labelling (batch-release.md §5): planned as data, applied with :func:`apply_pod_labels`.

:func:`plan_labels` returns ``{pod name: labels to patch}``; pods are chosen exactly as upstream's
``labelpatch/patcher.go``: planned increments per batch, pods already labelled for a batch count
against it, the rest are filled from the last batch down. :func:`list_pods` and
:func:`apply_pod_labels` are the I/O the control planes share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.api import keys
from rollouts.objects import pod as podobj
from rollouts.release.batch import planned_batch_replicas
from rollouts.release.labels import on_revision
from runtime.cache.protocols import SyncedInformer
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import PODS

ROLLOUT_ID_LABEL = keys.ROLLOUT_ID_LABEL
BATCH_ID_LABEL = keys.ROLLOUT_BATCH_ID_LABEL


def plan_labels(
    pods: Sequence[Mapping[str, Any]],
    *,
    batches: Sequence[Any],
    current_batch: int,
    replicas: int,
    rollout_id: str,
    update_revision: str,
) -> dict[str, dict[str, str]]:
    """Labels to patch per pod name (empty when ``rollout_id`` is empty)."""
    if not rollout_id:
        return {}
    planned = [min(planned_batch_replicas(b, replicas), replicas) for b in batches[: current_batch + 1]]
    inc = [p - (planned[i - 1] if i else 0) for i, p in enumerate(planned)]
    to_patch: list[str] = []
    for pod in sorted(pods, key=podobj.name):
        if podobj.is_terminating(pod) or not on_revision(podobj.labels(pod), update_revision):
            continue
        labels = podobj.labels(pod)
        if labels.get(ROLLOUT_ID_LABEL) != rollout_id:
            to_patch.append(podobj.name(pod))
            continue
        try:
            batch_id = int(labels.get(BATCH_ID_LABEL, ""))
        except ValueError:
            batch_id = 0
        if 1 <= batch_id <= len(batches):
            if batch_id - 1 < len(inc):
                inc[batch_id - 1] -= 1
        else:
            to_patch.append(podobj.name(pod))
    out: dict[str, dict[str, str]] = {}
    for i in range(len(inc) - 1, -1, -1):
        while inc[i] > 0 and to_patch:
            out[to_patch.pop()] = {ROLLOUT_ID_LABEL: rollout_id, BATCH_ID_LABEL: str(i + 1)}
            inc[i] -= 1
    return out


async def list_pods(
    client: KubeApi, informer: SyncedInformer | None, namespace: str, match_labels: Mapping[str, str]
) -> list[Any]:
    """Non-terminating pods of ``namespace`` carrying ``match_labels``.

    From the pod informer once it has synced, else with one API LIST. Why: a LIST on every
    BatchRelease round cost 20–90 ms on a batch's critical path; the informer is already running
    (pod events wake the BatchRelease) and its staleness is harmless: a pod it has not seen yet
    wakes the BatchRelease again when it arrives.
    """
    if informer is not None and informer.has_synced():
        items = informer.store.list(namespace, labels=dict(match_labels))
    else:
        sel = ",".join(f"{k}={v}" for k, v in match_labels.items())
        items = (await client.list(PODS, namespace, label_selector=sel or None)).get("items") or []
    return [p for p in items if not podobj.is_terminating(p)]


async def apply_pod_labels(
    client: KubeApi, namespace: str, pods: Sequence[Any], wanted: Mapping[str, Mapping[str, str]]
) -> list[Any]:
    """Patch the planned labels onto the pods at once; returns ``pods`` as written.

    The patches are independent, so they run concurrently (serially they cost one round trip
    each). The returned list holds the API server's answers in place of the patched pods, so a
    readiness check right after sees the labels without a re-list; a pod gone meanwhile is dropped.
    """
    if not wanted:
        return list(pods)

    async def patch(name: str, labels: Mapping[str, str]) -> Any:
        try:
            return await client.patch(PODS, name, {"metadata": {"labels": dict(labels)}}, namespace,
                                      patch_type="strategic")
        except NotFound:
            return None

    names = list(wanted)
    written = dict(zip(names, await asyncio.gather(*(patch(n, wanted[n]) for n in names)), strict=True))
    out = []
    for pod in pods:
        name = podobj.name(pod)
        if name not in written:
            out.append(pod)
        elif written[name] is not None:
            out.append(written[name])
    return out
