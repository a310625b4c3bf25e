"""BatchRelease status sync (batch-release.md §2.4) and phase machine (§2.5) with a scripted control."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import attrs

from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease import executor as ex
from rollouts.controllers.rollout.workload import observe_deployment
from rollouts.release.plan import release_plan_hash

NOW = datetime(2024, 1, 1, tzinfo=UTC)
PLAN = {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}],
        "batchPartition": 0, "rolloutID": "r1", "rollingStyle": "Partition", "enableExtraWorkloadForCanary": False}


def br(plan: dict | None = None, **meta: Any) -> dict:
    return {"metadata": {"name": "b", "namespace": "ns", "generation": 1, **meta},
            "spec": {"releasePlan": copy.deepcopy(plan or PLAN)}}


@attrs.define
class Control:
    ready_reason: str | None = None
    calls: list[str] = attrs.field(factory=list)

    async def initialize(self, status: dict) -> bool:
        self.calls.append("initialize")
        return True

    async def upgrade_batch(self, status: dict) -> bool:
        self.calls.append("upgrade")
        return True

    async def batch_ready(self, status: dict) -> str | None:
        return self.ready_reason

    async def finalize(self) -> bool:
        self.calls.append("finalize")
        return True


def test_plan_change_while_progressing_moves_to_the_partition_batch() -> None:
    status = {**ex.initial_status(), "phase": "Progressing", "observedRolloutID": "r1",
              "observedReleasePlanHash": "old", "canaryStatus": {"currentBatch": 0, "batchState": "Ready"}}
    plan = {**PLAN, "batchPartition": 1}
    assert ex.sync_status(br(plan), status, dep.NORMAL, None)
    assert status["canaryStatus"] == {"currentBatch": 1, "batchState": "Upgrading"}
    assert status["observedReleasePlanHash"] == release_plan_hash(plan)


def test_new_rollout_id_restarts_from_batch_zero_and_null_partition_finalizes() -> None:
    status = {"phase": "Progressing", "observedRolloutID": "r0", "observedReleasePlanHash": "old",
              "canaryStatus": {"currentBatch": 1}}
    ex.sync_status(br({**PLAN, "batchPartition": 2}), status, dep.NORMAL, None)
    assert status["canaryStatus"]["currentBatch"] == 0
    status2: dict = {"phase": "Progressing", "canaryStatus": {}}
    ex.sync_status(br({**PLAN, "batchPartition": None}), status2, dep.NORMAL, None)
    assert status2["phase"] == "Finalizing"


def test_replicas_changed_restarts_the_batch_and_completed_does_nothing() -> None:
    info = dep.WorkloadInfo(replicas=20, updated=5, updated_ready=5)
    status = {"phase": "Progressing", "observedReleasePlanHash": release_plan_hash(PLAN), "observedRolloutID": "r1",
              "canaryStatus": {"currentBatch": 0, "batchState": "Ready", "batchReadyTime": "x"}}
    assert ex.sync_status(br(), status, dep.REPLICAS_CHANGED, info)
    assert status["canaryStatus"]["batchState"] == "Upgrading" and status["observedWorkloadReplicas"] == 20
    done = {"phase": "Completed"}
    assert not ex.sync_status(br(), done, dep.NORMAL, None)
    assert done["message"] == "release plan has been completed, will do nothing"


async def test_phase_machine_walks_one_transition_per_call() -> None:
    control = Control()
    status = ex.initial_status()
    b = br()
    assert await ex.execute(b, status, control, NOW) == ex.REQUEUE_SECONDS and status["phase"] == "Progressing"
    await ex.execute(b, status, control, NOW)
    assert status["canaryStatus"]["batchState"] == "Verifying"
    control.ready_reason = "updated 0 < desired 1"
    await ex.execute(b, status, control, NOW)
    assert status["canaryStatus"]["batchState"] == "Upgrading"
    assert status["message"] == "batch 1 is not ready: updated 0 < desired 1"
    await ex.execute(b, status, control, NOW)
    control.ready_reason = None
    await ex.execute(b, status, control, NOW)
    assert status["canaryStatus"]["batchState"] == "Ready" and "message" not in status
    assert await ex.execute(b, status, control, NOW) is None  # partitioned at batch 0: stay
    assert control.calls == ["initialize", "upgrade", "upgrade"]


def test_workload_info_events() -> None:
    d = {"metadata": {"generation": 2, "labels": {"rollouts.kruise.io/stable-revision": "s"}},
         "spec": {"replicas": 10, "template": {"spec": {}}},
         "status": {"observedGeneration": 1, "replicas": 10, "updatedReplicas": 1}}
    b = br()
    b["status"] = {"observedWorkloadReplicas": 10, "updateRevision": "x"}
    assert dep.workload_info(b, None)[0] == dep.HAS_GONE
    assert dep.workload_info(b, d)[0] == dep.STILL_RECONCILING
    d["status"]["observedGeneration"] = 2
    assert dep.workload_info(b, d)[0] == dep.POD_TEMPLATE_CHANGED
    d["spec"]["replicas"] = 20
    assert dep.workload_info(b, d)[0] == dep.REPLICAS_CHANGED


def test_observe_deployment_reads_revisions_from_replica_sets() -> None:
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}}
    d = {"metadata": {"uid": "u", "generation": 3, "labels": {"rollouts.kruise.io/stable-revision": "old"},
                      "annotations": {"rollouts.kruise.io/in-progressing": "{}"}},
         "spec": {"replicas": 10, "template": template}, "status": {"observedGeneration": 3}}
    rs_new = {"metadata": {"name": "d-new", "labels": {"pod-template-hash": "newhash"},
                           "ownerReferences": [{"controller": True, "uid": "u"}]},
              "spec": {"template": {**template, "metadata": {"labels": {"app": "a", "pod-template-hash": "newhash"}}}}}
    wl = observe_deployment(d, [rs_new])
    assert (wl.replicas, wl.stable_revision, wl.pod_template_hash, wl.in_progressing, wl.in_rollback) == (
        10, "old", "newhash", True, False)
    assert wl.status_consistent and wl.canary_revision
    assert observe_deployment(None, []).found is False
    # Outside a release (no label, no in-progressing): the RS running the template is the stable one.
    idle = {**d, "metadata": {"uid": "u", "generation": 3}}
    assert observe_deployment(idle, [rs_new]).stable_revision == "newhash"
    # In a release whose webhook has not labelled it yet: unknown, never the new RS.
    starting = {**d, "metadata": {**d["metadata"], "labels": {}}}
    assert observe_deployment(starting, [rs_new]).stable_revision == ""


async def test_bad_request_from_upgrade_becomes_the_progressing_condition() -> None:
    from runtime.kube.errors import BadRequest

    class Failing(Control):
        async def upgrade_batch(self, status: dict) -> bool:
            raise BadRequest("spec.strategy: invalid partition")

    status = {**ex.initial_status(), "phase": "Progressing", "canaryStatus": {"currentBatch": 0,
                                                                              "batchState": "Upgrading"}}
    await ex.execute(br(), status, Failing(), NOW)
    assert status["message"] == "spec.strategy: invalid partition"
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == [("Progressing", "InRolling")]
    await ex.execute(br(), status, Control(), NOW)
    assert "conditions" not in status and "message" not in status


@attrs.define
class WritingControl(Control):
    """A control whose ``upgrade_batch`` writes the workload only when told to."""

    writes: int = 0
    write_on_upgrade: bool = True

    async def upgrade_batch(self, status: dict) -> bool:
        self.calls.append("upgrade")
        self.writes += int(self.write_on_upgrade)
        return True


def _progressing(batch: int, state: str) -> dict:
    return {**ex.initial_status(), "phase": "Progressing",
            "canaryStatus": {"currentBatch": batch, "batchState": state}}


async def test_run_stops_right_after_a_workload_write() -> None:
    control = WritingControl()
    status = _progressing(0, "Upgrading")
    await ex.run(br(), status, control, NOW, lambda: control.writes)
    assert status["canaryStatus"]["batchState"] == "Verifying"  # not checked against the pre-write workload
    assert control.calls == ["upgrade"]


async def test_run_verifies_at_once_when_the_upgrade_had_nothing_to_write() -> None:
    control = WritingControl(write_on_upgrade=False)
    status = _progressing(0, "Upgrading")
    await ex.run(br(), status, control, NOW, lambda: control.writes)
    assert status["canaryStatus"]["batchState"] == "Ready"
    assert "batchReadyTime" in status["canaryStatus"]


async def test_run_goes_from_ready_to_the_next_batch_upgrade_in_one_call() -> None:
    control = WritingControl()
    status = _progressing(0, "Verifying")
    await ex.run(br({**PLAN, "batchPartition": 1}), status, control, NOW, lambda: control.writes)
    assert status["canaryStatus"]["currentBatch"] == 1
    assert status["canaryStatus"]["batchState"] == "Verifying"
    assert control.calls == ["upgrade"]


async def test_run_does_not_spin_while_the_batch_is_not_ready() -> None:
    control = WritingControl(ready_reason="updated ready 3 < desired 5", write_on_upgrade=False)
    status = _progressing(1, "Upgrading")
    await ex.run(br({**PLAN, "batchPartition": 1}), status, control, NOW, lambda: control.writes)
    assert status["canaryStatus"]["batchState"] == "Upgrading"
    assert status["message"] == "batch 2 is not ready: updated ready 3 < desired 5"
    assert control.calls == ["upgrade"]


async def test_run_from_verifying_keeps_the_reason_the_batch_is_not_ready() -> None:
    control = WritingControl(ready_reason="updated ready 4 < desired 5 (failureThreshold 0)", write_on_upgrade=False)
    status = _progressing(1, "Verifying")
    await ex.run(br({**PLAN, "batchPartition": 1}), status, control, NOW, lambda: control.writes)
    assert status["canaryStatus"]["batchState"] == "Upgrading"
    assert status["message"] == "batch 2 is not ready: updated ready 4 < desired 5 (failureThreshold 0)"
    assert control.calls == []  # the fall-back ends the chain before the next upgrade round
