"""Rollback in batches on the BatchRelease side (batch-release.md §2.4 case 10, §4 Initialize, §6)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from rollouts.api import keys
from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease import executor as ex
from rollouts.controllers.batchrelease.cloneset import CloneSetControl
from rollouts.controllers.workloads import CLONESETS
from rollouts.release.plan import release_plan_hash

NOW = datetime(2024, 1, 1, tzinfo=UTC)
ANN = "rollouts.kruise.io/rollback-in-batch"
NO_NEED = "rollouts.kruise.io/no-need-update"
PLAN = {"batches": [{"canaryReplicas": "20%"}, {"canaryReplicas": "40%"}, {"canaryReplicas": "60%"},
                    {"canaryReplicas": "100%"}],
        "batchPartition": 0, "rolloutID": "rollback-v1", "rollingStyle": "Partition",
        "enableExtraWorkloadForCanary": False}


def br(annotated: bool = True, plan: dict | None = None) -> dict:
    md: dict[str, Any] = {"name": "b", "namespace": "ns", "uid": "br-uid", "generation": 3}
    if annotated:
        md["annotations"] = {ANN: "true"}
    return {"metadata": md, "spec": {"releasePlan": copy.deepcopy(plan or PLAN)}}


def progressing(**cs: Any) -> dict:
    return {"phase": "Progressing", "observedRolloutID": "rollback-v1", "observedReleasePlanHash":
            release_plan_hash(PLAN), "stableRevision": "ws-v1", "updateRevision": "ws-v2",
            "canaryStatus": {"currentBatch": 0, "batchState": "Ready", "batchReadyTime": "t", **cs}}


ROLLED_BACK = dep.WorkloadInfo(replicas=10, updated=4, updated_ready=4, update_revision="ws-v1",
                               stable_revision="ws-v1")


def test_case_10_sends_the_release_back_to_preparing_to_count_no_need_pods() -> None:
    status = progressing()
    assert ex.sync_status(br(), status, dep.ROLLBACK_IN_BATCH, ROLLED_BACK)
    assert status["phase"] == "Preparing" and status["updateRevision"] == "ws-v1"
    assert status["canaryStatus"]["batchState"] == "Upgrading" and "batchReadyTime" not in status["canaryStatus"]


def test_case_10_waits_without_the_annotation_or_before_the_workload_is_back_on_one_revision() -> None:
    status = progressing()
    assert not ex.sync_status(br(annotated=False), status, dep.ROLLBACK_IN_BATCH, ROLLED_BACK)
    assert status["phase"] == "Progressing"
    half = dep.WorkloadInfo(replicas=10, updated=4, update_revision="ws-v1", stable_revision="ws-v2")
    assert not ex.sync_status(br(), progressing(), dep.NORMAL, half)


def test_case_10_is_done_once_the_count_exists() -> None:
    status = progressing(noNeedUpdateReplicas=4)
    assert ex.sync_status(br(), status, dep.NORMAL, ROLLED_BACK)
    assert status["phase"] == "Progressing"


def test_case_10_follows_a_plan_change_in_the_same_round() -> None:
    """The restart's plan change (case 3) must not run a batch before the no-need pods are counted."""
    status = progressing()
    status["observedReleasePlanHash"] = "the v2 plan"
    status["observedRolloutID"] = "v2"
    assert ex.sync_status(br(), status, dep.ROLLBACK_IN_BATCH, ROLLED_BACK)
    assert status["phase"] == "Preparing" and status["canaryStatus"]["currentBatch"] == 0


class Client:
    def __init__(self, pods: list[dict]) -> None:
        self.pods = {p["metadata"]["name"]: p for p in pods}
        self.patched: list[tuple[str, dict]] = []

    async def list(self, res: Any, namespace: str, label_selector: str | None = None) -> dict:
        return {"items": [copy.deepcopy(p) for p in self.pods.values()]}

    async def patch(self, res: Any, name: str, body: dict, namespace: str, patch_type: str = "merge") -> dict:
        self.patched.append((name, body))
        if name in self.pods:
            self.pods[name]["metadata"]["labels"].update(body["metadata"]["labels"])
            return copy.deepcopy(self.pods[name])
        return {}


def cloneset() -> dict:
    return {"metadata": {"name": "ws", "namespace": "ns", "uid": "cs-uid", "generation": 7,
                         "annotations": {keys.BATCH_RELEASE_CONTROL_ANNOTATION: '{"uid":"br-uid"}'}},
            "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "demo"}},
                     "updateStrategy": {"partition": "40%"}},
            "status": {"observedGeneration": 7, "replicas": 10, "updatedReplicas": 4, "updatedReadyReplicas": 4,
                       "updateRevision": "ws-v1", "currentRevision": "ws-v1"}}


def pods() -> list[dict]:
    owner = [{"controller": True, "uid": "cs-uid"}]
    return [{"metadata": {"name": f"p{i}", "ownerReferences": owner,
                          "labels": {"app": "demo", "controller-revision-hash": "ws-v1" if i < 4 else "ws-v2"}}}
            for i in range(10)]


async def test_initialize_marks_pods_on_the_target_revision_then_stores_their_count() -> None:
    client = Client(pods())
    status: dict = {"phase": "Preparing", "canaryStatus": {"currentBatch": 0}}
    control = CloneSetControl(client, br(), cloneset(), CLONESETS)
    assert not await control.initialize(status)  # patched this round: not yet
    assert sorted(n for n, _ in client.patched) == ["p0", "p1", "p2", "p3"]
    assert all(b == {"metadata": {"labels": {NO_NEED: "rollback-v1"}}} for _, b in client.patched)
    assert "noNeedUpdateReplicas" not in status["canaryStatus"]
    again = CloneSetControl(client, br(), cloneset(), CLONESETS)
    assert await again.initialize(status)
    assert status["canaryStatus"]["noNeedUpdateReplicas"] == 4


async def test_initialize_without_rollout_id_takes_the_updated_count() -> None:
    status: dict = {"phase": "Preparing", "canaryStatus": {}}
    control = CloneSetControl(Client(pods()), br(plan={**PLAN, "rolloutID": ""}), cloneset(), CLONESETS)
    assert await control.initialize(status)
    assert status["canaryStatus"]["noNeedUpdateReplicas"] == 4


async def test_a_normal_release_marks_nothing() -> None:
    client = Client(pods())
    status: dict = {"phase": "Preparing", "canaryStatus": {}}
    assert await CloneSetControl(client, br(annotated=False), cloneset(), CLONESETS).initialize(status)
    assert client.patched == [] and "noNeedUpdateReplicas" not in status["canaryStatus"]


async def test_upgrade_moves_only_the_rolled_back_pods_in_the_batch() -> None:
    """20% of the 6 pods that changed → 2 (ceil 1.2): partition keeps 4 of 10 on v2 ("40%")."""
    ps = pods()
    for p in ps[:4]:
        p["metadata"]["labels"][NO_NEED] = "rollback-v1"
    client = Client(ps)
    status = {"phase": "Progressing", "updateRevision": "ws-v1",
              "canaryStatus": {"currentBatch": 0, "noNeedUpdateReplicas": 4}}
    wl = cloneset()
    wl["spec"]["updateStrategy"]["partition"] = "100%"
    assert await CloneSetControl(client, br(), wl, CLONESETS).upgrade_batch(status)
    assert client.patched[0] == ("ws", {"spec": {"updateStrategy": {"partition": "40%"}}})
    # No pod has moved back yet: the never-moved pods are not labelled for the batch.
    assert [n for n, _ in client.patched[1:]] == []
