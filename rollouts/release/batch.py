"""Batch arithmetic of the BatchRelease (batch-release.md §3).

Why a separate module: every executor (Deployment partition, CloneSet, StatefulSet, DaemonSet) and
the Rollout step machine need the same numbers — "how many pods run the new version in batch k of a
workload with N replicas" — and upstream pins the rounding in unit tests. All functions are pure.

Vocabulary:
- *replicas*: the workload's desired replica count **now** (it may change during a release; the
  numbers are then recomputed, §3.2 — that is what makes percentages HPA-friendly).
- *planned*: desired number of updated pods of a batch (``canaryReplicas`` scaled, rounded up,
  clamped to ``[0, replicas]``).
- *stable*: pods that keep the old version (``replicas - planned``).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from rollouts.api.intstr import IntOrStrLike, WireIntOrStr, is_string, scaled_value, wire_value

#: Upstream compares "current ≥ desired" after scaling both values against this total, so that a
#: percentage and an integer can be compared without knowing the workload size (§3.5).
COMPARISON_SCALE = 10_000_000


def planned_batch_replicas(canary_replicas: IntOrStrLike | None, replicas: int) -> int:
    """Updated pods wanted by one batch (§3.1): ceil for percentages, clamped to [0, replicas].

    ``canary_replicas`` of ``None`` counts as 0 (upstream validation forbids it, we do not crash).
    """
    value = scaled_value(canary_replicas, replicas, round_up=True)
    return max(0, min(value, replicas))


def planned_per_batch(batches: Sequence[IntOrStrLike | None], replicas: int) -> list[int]:
    """``planned`` for every batch of a plan against the current replica count."""
    return [planned_batch_replicas(b, replicas) for b in batches]


def new_rs_replicas_limit(partition: IntOrStrLike | None, replicas: int) -> int:
    """``NewRSReplicasLimit`` of the advanced Deployment controller (§9.2).

    Same as :func:`planned_batch_replicas`, except that a percentage other than ``"100%"`` never
    updates *all* pods of a multi-replica Deployment (capped at ``replicas - 1``): a user who wrote
    "99%" still expects one old pod to remain.
    """
    limit = planned_batch_replicas(partition, replicas)
    if replicas > 1 and is_string(partition) and wire_value(partition) != "100%":
        limit = min(limit, replicas - 1)
    return limit


def failure_tolerance(failure_threshold: IntOrStrLike | None, updated: int) -> int:
    """Not-ready updated pods tolerated by the readiness check (§3.3 step 2).

    Scaled against the number of **updated** pods (not the workload size), rounded up; absent → 0.
    """
    if failure_threshold is None:
        return 0
    return scaled_value(failure_threshold, updated, round_up=True)


def is_current_more_than_or_equal_to_desired(current: IntOrStrLike | None, desired: IntOrStrLike | None) -> bool:
    """``IsCurrentMoreThanOrEqualToDesired`` (§3.5): compare after scaling both on 10,000,000."""
    cur = scaled_value(current, COMPARISON_SCALE, round_up=True)
    want = scaled_value(desired, COMPARISON_SCALE, round_up=True)
    return cur >= want


def parse_integer_as_percentage_if_possible(
    stable: int, all_replicas: int, canary_replicas: IntOrStrLike | None
) -> str:
    """``ParseIntegerAsPercentageIfPossible`` (§3.4): a stable-pod count as a CloneSet partition %.

    The percentage is rounded *down* so that CloneSet (which rounds the partition up) restores at
    most ``stable`` old pods, i.e. at least the planned number of updated pods. When that would
    round to "no old pod at all" for a batch that is not the final ``"100%"``, ``"1%"`` is used so
    the batch does not silently release everything.
    """
    if stable >= all_replicas:
        return "100%"
    if stable <= 0:
        return "0%"
    percent = stable * 100 // all_replicas
    if scaled_value(f"{percent}%", all_replicas, round_up=True) == 0 and wire_value(canary_replicas) != "100%":
        return "1%"
    return f"{percent}%"


@attrs.frozen
class BatchTarget:
    """Desired split of a workload for one batch (§3.6).

    Invariant: ``desired_stable + desired_update == replicas`` except in ordered StatefulSet mode
    with no-need-update pods, where upstream counts those pods on both sides (see
    :func:`batch_target`).
    """

    replicas: int
    #: planned(batch) computed on the pods that *need* an update (replicas − noNeedUpdate).
    planned: int
    #: Old pods to keep (a CloneSet/StatefulSet "partition").
    desired_stable: int
    #: Pods that should end up on the update revision, including no-need-update ones.
    desired_update: int


def batch_target(
    canary_replicas: IntOrStrLike | None,
    replicas: int,
    *,
    no_need_update: int | None = None,
    ordered: bool = False,
) -> BatchTarget:
    """Batch context numbers with optional no-need-update pods (batch rollback, §3.6).

    ``ordered`` is the StatefulSet-like ordered mode (not ``unorderedUpdate``): there the partition
    is an ordinal, so the no-need-update pods (which are already on the target revision but may sit
    at low ordinals) are added back to the stable side.
    """
    n = no_need_update or 0
    if n <= 0:
        planned = planned_batch_replicas(canary_replicas, replicas)
        return BatchTarget(replicas, planned, replicas - planned, planned)
    new_update = planned_batch_replicas(canary_replicas, replicas - n)
    desired_stable = replicas - n - new_update
    desired_update = replicas - desired_stable
    if ordered:
        desired_stable += n
        desired_update = replicas - desired_stable + n
    return BatchTarget(replicas, new_update, desired_stable, desired_update)


def desired_partition(
    canary_replicas: IntOrStrLike | None,
    replicas: int,
    *,
    no_need_update: int | None = None,
) -> WireIntOrStr:
    """CloneSet partition for a batch: stable count, as a percentage when the batch is a percentage."""
    target = batch_target(canary_replicas, replicas, no_need_update=no_need_update)
    if is_string(canary_replicas):
        return parse_integer_as_percentage_if_possible(target.desired_stable, replicas, canary_replicas)
    return target.desired_stable
