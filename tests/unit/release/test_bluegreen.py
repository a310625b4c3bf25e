"""Blue-green takeover and hand-back patches (batch-release.md §8) and the HPA rename (§8.3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rollouts.controllers.batchrelease.hpa import strip_suffix, targets
from rollouts.release import bluegreen as bg
from runtime.kube.resources import DEPLOYMENTS

INFO = '{"uid":"br-uid"}'


def deployment(**spec: Any) -> dict[str, Any]:
    base = {"replicas": 5, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                                   "maxUnavailable": "25%"}}}
    return {"metadata": {"name": "d", "annotations": {}, "labels": {}}, "spec": {**base, **spec}, "status": {}}


def taken_over(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with the Initialize patch applied (a merge patch of plain maps)."""
    patch = bg.deployment_initialize_patch(d, INFO)
    out = json.loads(json.dumps(d))
    out["metadata"]["annotations"].update(patch["metadata"]["annotations"])
    out["spec"].update(patch["spec"])
    return out


def test_takeover_saves_the_users_setting_and_freezes_availability() -> None:
    d = deployment(minReadySeconds=7, progressDeadlineSeconds=300)
    patch = bg.deployment_initialize_patch(d, INFO)
    saved = json.loads(patch["metadata"]["annotations"][bg.ORIGINAL_STRATEGY_ANNOTATION])
    assert saved == {"maxUnavailable": "25%", "maxSurge": "25%", "minReadySeconds": 7, "progressDeadlineSeconds": 300}
    assert patch["metadata"]["annotations"][bg.CONTROL_INFO_ANNOTATION] == INFO
    surge_one = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert patch["spec"] == {"strategy": surge_one,
                             "minReadySeconds": 2147483646, "progressDeadlineSeconds": 2147483647}
    assert "paused" not in patch["spec"]  # the workload webhook paused it; UpgradeBatch unpauses


def test_defaults_fill_what_the_user_left_out_and_a_saved_setting_wins() -> None:
    d = deployment(strategy={"type": "Recreate"})
    anns = bg.deployment_initialize_patch(d, INFO)["metadata"]["annotations"]
    saved = json.loads(anns[bg.ORIGINAL_STRATEGY_ANNOTATION])
    assert saved == {"maxUnavailable": "25%", "maxSurge": "25%", "progressDeadlineSeconds": 600}
    d["metadata"]["annotations"][bg.ORIGINAL_STRATEGY_ANNOTATION] = '{"maxSurge":"10%"}'
    d["spec"]["minReadySeconds"] = bg.MAX_READY_SECONDS  # our own sentinel is never saved as the user's
    again = bg.original_setting(d, cloneset=False)
    assert again.max_surge == "10%" and again.min_ready_seconds == 0
    cs = {"metadata": {}, "spec": {"replicas": 5, "updateStrategy": {}}}
    assert bg.original_setting(cs, cloneset=True) == bg.OriginalSetting(max_surge="0%", max_unavailable="20%")


@pytest.mark.parametrize("surge, replicas, want", [("50%", 5, 3), ("100%", 5, 5), ("99%", 5, 4), (2, 5, 2),
                                                   ("50%", 10, 5)])
def test_new_pods_per_batch(surge: Any, replicas: int, want: int) -> None:
    """The Deployment's NewRSReplicasLimit: ceil, below 100% never all pods (§8.1 e2e: 5 × 50% → 3)."""
    assert bg.desired_updated(surge, replicas, cloneset=False) == want


def test_surge_is_raised_never_lowered_and_the_placeholder_counts_as_nothing() -> None:
    d = taken_over(deployment())
    assert bg.current_surge(d, cloneset=False) == 0
    assert not bg.surge_reached(d, "50%", cloneset=False)
    assert bg.deployment_upgrade_patch("50%") == {"spec": {"paused": False, "strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 0}}}}
    d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = "100%"
    assert bg.surge_reached(d, "50%", cloneset=False) and bg.surge_reached(d, "100%", cloneset=False)


def test_upgrade_refuses_a_half_done_takeover_naming_what_is_missing() -> None:
    d = deployment()
    msg = bg.deployment_not_ready_for_blue_green(d)
    assert msg is not None and msg.startswith("cannot upgrade batch, because deployment d doesn't satisfy conditions")
    assert "spec.minReadySeconds is not 2147483646" in msg and bg.CONTROL_INFO_ANNOTATION in msg
    assert bg.deployment_not_ready_for_blue_green(taken_over(d)) is None
    cs = {"metadata": {"name": "c", "annotations": {bg.CONTROL_INFO_ANNOTATION: INFO}},
          "spec": {"minReadySeconds": bg.MAX_READY_SECONDS, "updateStrategy": {"type": "InPlaceIfPossible"}}}
    assert "InPlaceIfPossible" in (bg.cloneset_not_ready_for_blue_green(cs) or "")


def test_finalize_restores_the_saved_setting_and_removes_our_marks() -> None:
    d = taken_over(deployment(minReadySeconds=7, progressDeadlineSeconds=300))
    d["metadata"]["labels"][bg.STABLE_REVISION_LABEL] = "abc"
    patch = bg.deployment_finalize_patch(d)
    assert patch is not None
    ours = {bg.ORIGINAL_STRATEGY_ANNOTATION: None, bg.CONTROL_INFO_ANNOTATION: None}
    assert patch["metadata"] == {"annotations": ours,
                                 "labels": {bg.STABLE_REVISION_LABEL: None}}
    assert patch["spec"] == {"paused": False, "minReadySeconds": 7, "progressDeadlineSeconds": 300,
                             "strategy": {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}
    restored = deployment()
    assert bg.deployment_finalize_patch(restored) is None  # already handed back: nothing to write


def test_finalize_waits_for_the_native_rollout() -> None:
    d = deployment()
    d["metadata"]["generation"] = 3
    d["status"] = {"observedGeneration": 3, "replicas": 10, "readyReplicas": 10, "updatedReplicas": 5,
                   "availableReplicas": 5}
    assert bg.deployment_wait_reason(d) == "ready replicas 10 != updated replicas 5"
    d["status"] = {"observedGeneration": 3, "replicas": 5, "readyReplicas": 5, "updatedReplicas": 5,
                   "availableReplicas": 5}
    assert bg.deployment_wait_reason(d) is None
    d["spec"]["paused"] = True
    assert bg.deployment_wait_reason(d) == "deployment is still paused"


def test_hpa_is_matched_through_any_number_of_suffixes() -> None:
    assert strip_suffix("d-DisableByRollout-DisableByRollout") == "d"
    hpa = {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d-DisableByRollout"}}}
    assert targets(hpa, {"metadata": {"name": "d"}}, DEPLOYMENTS)
    assert not targets(hpa, {"metadata": {"name": "e"}}, DEPLOYMENTS)
