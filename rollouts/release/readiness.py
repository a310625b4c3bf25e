"""IsBatchReady (batch-release.md §3.3).

Returns ``None`` when the current batch is ready, otherwise a reason *with the numbers* — those
strings end up in BatchRelease conditions, events and test assertions, so a user can tell at a glance
why a release is waiting ("updated ready 3 < desired 5 (failureThreshold 0)").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rollouts.api import keys
from rollouts.api.intstr import IntOrStrLike
from rollouts.objects import pod as podobj
from rollouts.release.batch import failure_tolerance

ROLLOUT_ID_LABEL = keys.ROLLOUT_ID_LABEL


def is_terminating(obj: Mapping[str, Any]) -> bool:
    """An object with ``metadata.deletionTimestamp`` is on its way out and never counts."""
    return podobj.is_terminating(obj)


def pod_is_ready(pod: Mapping[str, Any]) -> bool:
    """The pod's ``Ready`` condition is ``True``."""
    return podobj.is_ready(pod)


def count_labelled_pods(pods: Iterable[Mapping[str, Any]], rollout_id: str) -> int:
    """Non-terminating pods carrying ``rollouts.kruise.io/rollout-id == rollout_id``."""
    n = 0
    for pod in pods:
        if not podobj.is_terminating(pod) and podobj.labels(pod).get(ROLLOUT_ID_LABEL) == rollout_id:
            n += 1
    return n


def is_batch_ready(
    *,
    updated: int,
    updated_ready: int,
    desired: int,
    planned: int,
    failure_threshold: IntOrStrLike | None = None,
    rollout_id: str = "",
    pods: Iterable[Mapping[str, Any]] | None = None,
    workload_replicas: int | None = None,
) -> str | None:
    """Return ``None`` if the batch is ready, else why not (checks in upstream order).

    ``pods`` is ``None`` when the executor did not list pods (then the label check is skipped, as
    upstream does); an empty list means "listed, none found". A workload scaled to 0
    (``workload_replicas == 0``) is always ready: there is nothing to release.
    """
    if workload_replicas == 0:
        return None
    if updated < desired:
        return f"updated {updated} < desired {desired}"
    tolerance = failure_tolerance(failure_threshold, updated)
    if tolerance + updated_ready < desired:
        shown = 0 if failure_threshold is None else failure_threshold
        if tolerance:
            return (
                f"updated ready {updated_ready} < desired {desired} - tolerated {tolerance} (failureThreshold {shown})"
            )
        return f"updated ready {updated_ready} < desired {desired} (failureThreshold {shown})"
    if desired > 0 and updated_ready <= 0:
        return f"updated ready 0 but desired {desired} > 0: at least one updated pod must be ready"
    if rollout_id and pods is not None:
        labelled = count_labelled_pods(pods, rollout_id)
        if labelled < planned:
            return f"pods labelled with rollout-id {rollout_id!r} {labelled} < planned {planned}"
    return None
