"""Rollback in batches: which pods need no update (batch-release.md §6, §3.6).

Vocabulary. A *rollback in batches* releases the old version again, step by step, instead of
cancelling the release at once (rollout-lifecycle.md §7.2). When it starts, most pods already run
the version being rolled back to: they *need no update*. They are marked with the label
``rollouts.kruise.io/no-need-update: <rolloutID>`` once, counted into the BatchRelease status
(``canaryStatus.noNeedUpdateReplicas``) and left out of the batch arithmetic (§3.6), so the batches
only walk the pods that really change back.

Why a filter for the labeller: the batch labels (``rollout-batch-id``) must land on the pods this
rollback actually moved, first; a pod that never left the old version is labelled only when the
batch needs more pods than the rollback moved (a step counted in percent of pods that includes
them). Both orders are upstream's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.api import keys
from rollouts.objects import pod as podobj
from rollouts.release.labels import on_revision

NO_NEED_UPDATE_LABEL = keys.NO_NEED_UPDATE_POD_LABEL
ROLLOUT_ID_LABEL = keys.ROLLOUT_ID_LABEL

Pod = Mapping[str, Any]


_labels = podobj.labels
_terminating = podobj.is_terminating


def pods_to_mark(pods: Sequence[Pod], *, update_revision: str, rollout_id: str) -> list[str]:
    """Names of the live pods already on ``update_revision`` that still lack the no-need label."""
    return [podobj.name(p) for p in pods
            if not _terminating(p) and on_revision(_labels(p), update_revision)
            and _labels(p).get(NO_NEED_UPDATE_LABEL) != rollout_id]


def count_no_need(pods: Sequence[Pod], *, update_revision: str, rollout_id: str) -> int:
    """Live pods on ``update_revision`` marked no-need-update for ``rollout_id`` (the refreshed count)."""
    return sum(1 for p in pods if not _terminating(p) and on_revision(_labels(p), update_revision)
               and _labels(p).get(NO_NEED_UPDATE_LABEL) == rollout_id)


def _take(high: list[Pod], low: list[Pod], terminating: list[Pod], *, need_update: int, planned: int) -> list[Pod]:
    """§6 diff rule: the high-priority pods, then as many low-priority ones as the batch still lacks."""
    if need_update <= 0:
        return high
    diff = planned - need_update
    if diff <= 0:
        return high + terminating
    return high + low[: min(diff, len(low))] + terminating


def filter_unordered(pods: Sequence[Pod], *, update_revision: str, rollout_id: str,
                     desired_update: int, planned: int) -> list[Pod]:
    """CloneSet, DaemonSets, unordered StatefulSets: pods the rollback moved come first.

    Low priority: marked no-need for this rollout and not yet labelled with its rollout-id (they
    never changed). ``need_update`` is what the batch must move beyond them.
    """
    high: list[Pod] = []
    low: list[Pod] = []
    terminating: list[Pod] = []
    for pod in pods:
        if _terminating(pod):
            terminating.append(pod)
        elif on_revision(_labels(pod), update_revision):
            marked = _labels(pod).get(NO_NEED_UPDATE_LABEL) == rollout_id
            (low if marked and _labels(pod).get(ROLLOUT_ID_LABEL) != rollout_id else high).append(pod)
    return _take(high, low, terminating, need_update=desired_update - len(low), planned=planned)


def _ordinal(pod: Pod) -> int:
    suffix = podobj.name(pod).rpartition("-")[2]
    return int(suffix) if suffix.isdigit() else -1


def filter_ordered(pods: Sequence[Pod], *, update_revision: str, replicas: int, partition: int,
                   planned: int) -> list[Pod]:
    """Ordered StatefulSets: the partition is an ordinal, so the pods at or above it come first."""
    high: list[Pod] = []
    low: list[Pod] = []
    terminating: list[Pod] = []
    for pod in sorted(pods, key=_ordinal):
        if _terminating(pod):
            terminating.append(pod)
        elif on_revision(_labels(pod), update_revision):
            (high if _ordinal(pod) >= partition else low).append(pod)
    return _take(high, low, terminating, need_update=replicas - partition, planned=planned)
