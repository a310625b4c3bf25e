"""Event mapping (workload/pod → Rollout/BatchRelease) and Go zero values of the Rollout status."""

from __future__ import annotations

from rollouts.controllers.batchrelease.controller import batch_release_for_pod, batch_release_for_workload
from rollouts.controllers.rollout.controller import rollouts_for_workload, with_go_zero_values
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_ref_index
from rollouts.release.deployment_strategy import control_info
from runtime.cache.store import Store, object_key
from runtime.reconcile import Request


def store(*objs: dict) -> Store:
    s = Store({WORKLOAD_REF_INDEX: workload_ref_index})
    for o in objs:
        s.put(object_key(o), o)
    return s


def obj(kind: str, name: str, ns: str = "ns", **extra: dict) -> dict:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns, **extra}}


REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}


def test_workload_maps_to_the_rollout_referencing_it() -> None:
    ro = {"metadata": {"name": "ro", "namespace": "ns"}, "spec": {"workloadRef": REF}}
    other = {"metadata": {"name": "other", "namespace": "ns"}, "spec": {"workloadRef": {**REF, "name": "x"}}}
    assert rollouts_for_workload(store(other, ro), obj("Deployment", "d")) == [Request("ns", "ro")]
    assert rollouts_for_workload(store(other), obj("Deployment", "d")) == []


def test_control_info_names_the_batch_release_and_pods_map_through_their_replica_set() -> None:
    d = obj("Deployment", "d", annotations={"batchrelease.rollouts.kruise.io/control-info": control_info("br", "u")})
    assert batch_release_for_workload(store(), d) == [Request("ns", "br")]
    br = {"metadata": {"name": "by-ref", "namespace": "ns"}, "spec": {"workloadRef": REF}}
    assert batch_release_for_workload(store(br), obj("Deployment", "d")) == [Request("ns", "by-ref")]
    rs = obj("ReplicaSet", "d-1", ownerReferences=[{"kind": "Deployment", "name": "d", "controller": True}])
    pod = obj("Pod", "p", ownerReferences=[{"kind": "ReplicaSet", "name": "d-1", "controller": True}])
    assert batch_release_for_pod(store(), store(rs), store(d), pod) == [Request("ns", "br")]
    assert batch_release_for_pod(store(), store(), store(d), pod) == []


def test_go_zero_values_fill_required_status_fields() -> None:
    status = with_go_zero_values({"phase": "Progressing", "canaryStatus": {"currentStepIndex": 1}})
    assert status["currentStepIndex"] == 0 and status["currentStepState"] == ""
    assert status["canaryStatus"]["podTemplateHash"] == "" and status["canaryStatus"]["currentStepIndex"] == 1
