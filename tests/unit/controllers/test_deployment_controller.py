"""Advanced Deployment reconciler: plans are executed, and never from a cache older than our writes."""

from __future__ import annotations

import json
from typing import Any

from rollouts.controllers.deployment.controller import (
    EXPECTATION_RETRY_SECONDS,
    EXPECTATION_TIMEOUT_SECONDS,
    AdvancedDeploymentReconciler,
)
from rollouts.release.deployment_strategy import control_info
from runtime.cache.store import Store, object_key
from runtime.clock import FakeClock
from runtime.reconcile import Request

TEMPLATE = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}}


class Inf:
    def __init__(self, *objs: dict) -> None:
        self.store = Store()
        for o in objs:
            self.store.put(object_key(o), o)


class Client:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.rv = 100

    async def create(self, res: Any, body: dict, ns: str | None = None) -> dict:
        self.rv += 1
        self.calls.append(("create", body["metadata"]["name"], body["spec"]["replicas"]))
        return {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.rv)}}

    async def patch(self, res: Any, name: str, body: dict, ns: str | None = None, **_: Any) -> dict:
        self.rv += 1
        self.calls.append(("patch", res.kind, name, body))
        return {"metadata": {"name": name, "resourceVersion": str(self.rv)}}

    async def patch_status(self, res: Any, name: str, body: dict, ns: str | None = None) -> dict:
        self.calls.append(("status", name, body))
        return {}


def deployment() -> dict:
    strategy = {"rollingStyle": "Partition", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                "partition": 1}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "namespace": "ns", "uid": "u", "generation": 2, "resourceVersion": "5",
                         "annotations": {"batchrelease.rollouts.kruise.io/control-info": control_info("br", "b"),
                                         "rollouts.kruise.io/deployment-strategy": json.dumps(strategy)}},
            "spec": {"replicas": 10, "paused": True, "strategy": {"type": "Recreate"},
                     "selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE},
            "status": {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 0}}


def old_rs() -> dict:
    tpl = {"metadata": {"labels": {"app": "a", "pod-template-hash": "old"}},
           "spec": {"containers": [{"name": "c", "image": "i:1"}]}}
    return {"metadata": {"name": "d-old", "namespace": "ns", "resourceVersion": "3",
                         "ownerReferences": [{"controller": True, "uid": "u", "kind": "Deployment", "name": "d"}],
                         "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": 10, "template": tpl},
            "status": {"replicas": 10, "readyReplicas": 10, "availableReplicas": 10}}


async def test_first_sync_creates_the_new_rs_at_the_partition_and_waits_for_the_cache() -> None:
    client, clock = Client(), FakeClock()
    r = AdvancedDeploymentReconciler(client, Inf(deployment()), Inf(old_rs()), clock)
    result = await r.reconcile(Request("ns", "d"))
    creates = [c for c in client.calls if c[0] == "create"]
    assert len(creates) == 1 and creates[0][2] == 1
    assert result.requeue_after == 2.0
    before = len(client.calls)
    assert (await r.reconcile(Request("ns", "d"))).requeue_after == EXPECTATION_RETRY_SECONDS  # cache lags
    assert len(client.calls) == before
    clock.step(EXPECTATION_TIMEOUT_SECONDS + 1)  # an expectation never met is eventually dropped
    await r.reconcile(Request("ns", "d"))
    assert len(client.calls) > before


async def test_deployments_not_under_control_are_ignored() -> None:
    d = deployment()
    d["spec"]["paused"] = False
    client = Client()
    r = AdvancedDeploymentReconciler(client, Inf(d), Inf(old_rs()), FakeClock())
    await r.reconcile(Request("ns", "d"))
    assert client.calls == []


async def test_status_is_written_only_over_the_version_it_was_computed_from() -> None:
    from runtime.kube.errors import Conflict

    class Racing(Client):
        """kube-controller-manager wrote the Deployment's status after our cache read it."""

        async def patch_status(self, res: Any, name: str, body: dict, ns: str | None = None) -> dict:
            self.calls.append(("status", name, body))
            raise Conflict("the object has been modified")

    client = Racing()
    d = deployment()
    d["metadata"]["annotations"]["rollouts.kruise.io/deployment-strategy"] = json.dumps(
        {"rollingStyle": "Partition", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}, "partition": 0})
    d["status"]["updatedReplicas"] = 99  # anything the plan will correct
    r = AdvancedDeploymentReconciler(client, Inf(d), Inf(old_rs()), FakeClock())
    result = await r.reconcile(Request("ns", "d"))
    status_calls = [c for c in client.calls if c[0] == "status"]
    assert status_calls and status_calls[0][2]["metadata"]["resourceVersion"] is not None
    assert result.requeue_after == EXPECTATION_RETRY_SECONDS  # the newer version's event brings a fresh sync


def test_a_zero_counter_the_native_controller_omitted_is_not_written_again() -> None:
    """kube-controller-manager stores ``unavailableReplicas: 0`` as no field; writing it back was a ping-pong."""
    from rollouts.controllers.deployment.controller import status_patch

    stored = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
              "availableReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]}
    planned = {**stored, "unavailableReplicas": 0}
    assert status_patch(stored, planned) == {}
    assert status_patch(stored, {**planned, "unavailableReplicas": 1}) == {"unavailableReplicas": 1}
    # a counter going to zero is still written (as 0), and fields the plan does not carry are kept
    assert status_patch({**stored, "collisionCount": 1}, {**planned, "readyReplicas": 0}) == {"readyReplicas": 0}


async def test_a_synced_deployment_whose_status_omits_zero_counters_gets_no_status_write() -> None:
    first = Client()
    d = deployment()
    d["metadata"]["annotations"]["rollouts.kruise.io/deployment-strategy"] = json.dumps(
        {"rollingStyle": "Partition", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}, "partition": 0})
    await AdvancedDeploymentReconciler(first, Inf(d), Inf(old_rs()), FakeClock()).reconcile(Request("ns", "d"))
    written = next(c[2]["status"] for c in first.calls if c[0] == "status")
    assert "unavailableReplicas" not in written  # 0, and the stored status has no such field: the same
    # kube-controller-manager rewrote it without the zero counters, as Go's omitempty does
    d["status"] = {k: v for k, v in {**d["status"], **written}.items() if v != 0}
    again = Client()
    await AdvancedDeploymentReconciler(again, Inf(d), Inf(old_rs()), FakeClock()).reconcile(Request("ns", "d"))
    assert [c for c in again.calls if c[0] == "status"] == []
