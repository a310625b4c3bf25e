"""KeepWorkloadPausedOnRolloutDeletion (batch-release.md §11): the decision and each kind's Finalize patch."""

from __future__ import annotations

import pytest

from rollouts.api import keys
from rollouts.controllers.batchrelease.cloneset import CloneSetControl
from rollouts.controllers.batchrelease.daemonset import AdvancedDaemonSetControl
from rollouts.controllers.batchrelease.keeppaused import keep_paused
from rollouts.controllers.batchrelease.nativedaemonset import NativeDaemonSetControl
from rollouts.controllers.batchrelease.statefulset import StatefulSetControl
from rollouts.controllers.workloads import ADVANCED_DAEMONSETS, CLONESETS
from rollouts.release.deployment_strategy import finalize_patch
from runtime.kube.resources import DAEMONSETS, STATEFULSETS

CONTROL = keys.BATCH_RELEASE_CONTROL_ANNOTATION
BR = {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"releasePlan": {"batches": []}}}


@pytest.mark.parametrize(("gate", "policy", "update", "stable", "want"), [
    (False, "Immediate", "v2", ("v1", "v1"), False),      # gate off: upstream default
    (True, "WaitResume", "v2", ("v1", "v1"), False),      # a successful release always clears partitions
    (True, "Immediate", "v2", ("v1", "v1"), True),        # deleted/disabled mid-release: v2 is held back
    (True, "", "v2", ("v1", ""), True),                   # no policy written counts as not WaitResume
    (True, "Immediate", "v1", ("v1", "v1"), False),       # rollback (or deletion during one): finish it
    (True, "Immediate", "v1", ("v2", "v1"), False),       # native DaemonSet: the BR's recorded stable decides
    (True, "Immediate", "", ("", ""), True),              # nothing known: keep (the safe side of the gate)
])
def test_keep_paused_decision(gate: bool, policy: str, update: str, stable: tuple[str, str], want: bool) -> None:
    assert keep_paused(gate=gate, finalizing_policy=policy, update_revision=update, stable_revisions=stable) is want


def test_cloneset_keeps_its_partition_but_is_unpaused() -> None:
    c = CloneSetControl(None, BR, {"metadata": {"name": "w"}}, CLONESETS)  # type: ignore[arg-type]
    assert c.finalize_patch(True)["spec"] == {"updateStrategy": {"partition": None, "paused": False}}
    assert c.finalize_patch(True, keep=True) == {"metadata": {"annotations": {CONTROL: None}},
                                                 "spec": {"updateStrategy": {"paused": False}}}


def test_statefulset_keeps_its_partition() -> None:
    c = StatefulSetControl(None, BR, {"metadata": {"name": "w"}}, STATEFULSETS)  # type: ignore[arg-type]
    assert c.finalize_patch(True)["spec"] == {"updateStrategy": {"rollingUpdate": {"partition": None}}}
    assert c.finalize_patch(True, keep=True) == {"metadata": {"annotations": {CONTROL: None}}}


def test_advanced_daemonset_keeps_its_partition_but_is_unpaused() -> None:
    c = AdvancedDaemonSetControl(None, BR, {"metadata": {"name": "w"}}, ADVANCED_DAEMONSETS)  # type: ignore[arg-type]
    assert c.finalize_patch(True, keep=True)["spec"] == {"updateStrategy": {"rollingUpdate": {"paused": False}}}


def test_native_daemonset_stays_on_delete_and_drops_the_deleter_instructions() -> None:
    ds = {"metadata": {"name": "w", "annotations": {keys.DAEMONSET_ORIGINAL_UPDATE_STRATEGY_ANNOTATION:
                                                    "RollingUpdate"}}}
    c = NativeDaemonSetControl(None, BR, ds, DAEMONSETS)  # type: ignore[arg-type]
    assert c.finalize_patch(True)["spec"] == {"updateStrategy": {"type": "RollingUpdate"}}
    kept = c.finalize_patch(True, keep=True)
    assert "spec" not in kept and kept["metadata"]["annotations"][keys.DAEMONSET_ADVANCED_CONTROL_ANNOTATION] is None


def test_deployment_stays_paused_with_its_rolling_update_strategy_back() -> None:
    d = {"metadata": {"annotations": {CONTROL: "{}", keys.DEPLOYMENT_STRATEGY_ANNOTATION:
                                      '{"rollingStyle":"Partition","rollingUpdate":{"maxUnavailable":"25%",'
                                      '"maxSurge":"25%"},"paused":false,"partition":1}'}},
         "spec": {"paused": True, "strategy": {"type": "Recreate"}}}
    patch = finalize_patch(d, batch_partition_is_nil=True, keep_paused=True)
    assert patch is not None and patch["spec"]["paused"] is True
    assert patch["spec"]["strategy"] == {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert patch["metadata"]["annotations"][CONTROL] is None
