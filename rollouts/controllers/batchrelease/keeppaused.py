"""The ``KeepWorkloadPausedOnRolloutDeletion`` gate (batch-release.md §11): when a partition executor
hands the workload back with its partition kept instead of cleared.

Upstream keeps the partition (CloneSet, StatefulSets), the pause (Deployment) or ``OnDelete`` (native
DaemonSet) whenever the gate is on and the finalizing policy is not ``WaitResume`` — that is on
deletion and disabling, so the workload does not suddenly roll the unverified version to every pod,
but also on a rollback. A rollback (the workload's update revision is the stable one again) is where
keeping the partition strands pods: a CloneSet whose partition still counts the old pods never moves
the pods of the abandoned version back, a paused Deployment never scales its stable ReplicaSet up.
So here a release whose target is the stable revision is always handed back in full, whether it is
cancelled or its Rollout is deleted or disabled in the middle of the rollback: rolling to the stable
version is what was asked for and is safe; the gate only holds back a version not yet verified.
docs/operations.md ("Deleting a Rollout with KeepWorkloadPausedOnRolloutDeletion") tells the user.
"""

from __future__ import annotations

from rollouts.api import constants as C


def keep_paused(*, gate: bool, finalizing_policy: str, update_revision: str, stable_revisions: tuple[str, ...]) -> bool:
    """Whether Finalize leaves the workload paused/partitioned.

    ``update_revision`` is the workload's current update revision; ``stable_revisions`` are the
    revisions that count as stable (the workload's own stable revision and the one the BatchRelease
    recorded when the release started; empty strings are ignored).
    """
    if not gate or finalizing_policy == C.FINALIZING_POLICY_WAIT_RESUME:
        return False
    rolling_back = bool(update_revision) and update_revision in {r for r in stable_revisions if r}
    return not rolling_back
