"""Partition control planes, finders and the pod deleter of the non-Deployment kinds
(batch-release.md §2.2, §2.6, §9.1, §9.3–§9.5; rollout-lifecycle.md §2) against a recording client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease.cloneset import CloneSetControl
from rollouts.controllers.batchrelease.daemonset import AdvancedDaemonSetControl
from rollouts.controllers.batchrelease.nativedaemonset import (
    ADVANCED_CONTROL_ANNOTATION,
    NativeDaemonSetControl,
    pods_to_delete,
)
from rollouts.controllers.batchrelease.registry import STATEFULSET_LIKE, DeploymentAdapter, control_plane
from rollouts.controllers.batchrelease.statefulset import StatefulSetControl
from rollouts.controllers.workloads import (
    CLONESETS,
    KINDS,
    native_daemonset_revisions,
    observe_cloneset,
    observe_statefulset_like,
    resource_of,
)
from runtime.kube.resources import DAEMONSETS, STATEFULSETS

BR = {"metadata": {"name": "ro", "namespace": "ns", "uid": "br-uid"},
      "spec": {"releasePlan": {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"},
                                           {"canaryReplicas": "100%"}], "batchPartition": 0}},
      "status": {"updateRevision": "sts-v2", "stableRevision": "sts-v1", "observedWorkloadReplicas": 10}}


class Client:
    def __init__(self, pods: list[dict] | None = None) -> None:
        self.patches: list[tuple[str, str, dict]] = []
        self.pods = pods or []

    async def patch(self, res: Any, name: str, body: dict, ns: str | None = None, **_: Any) -> dict:
        self.patches.append((res.plural, name, body))
        return {}

    async def list(self, res: Any, ns: str | None = None, **_: Any) -> dict:
        return {"items": self.pods}


def sts(partition: int | None = 32767, **status: Any) -> dict:
    rolling = {} if partition is None else {"partition": partition}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "w-uid", "generation": 2},
            "spec": {"replicas": 10, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling}},
            "status": {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 0, "updateRevision": "sts-v2",
                       "currentRevision": "sts-v1", **status}}


def batch(n: int) -> dict:
    return {"canaryStatus": {"currentBatch": n}, "updateRevision": "sts-v2"}


def test_registry_picks_a_control_plane_per_group_and_kind() -> None:
    assert control_plane("apps", "StatefulSet") is STATEFULSET_LIKE
    assert control_plane("apps.kruise.io", "StatefulSet") is STATEFULSET_LIKE
    assert control_plane("example.com", "Anything") is STATEFULSET_LIKE
    row = KINDS[("apps.kruise.io", "CloneSet")]
    assert isinstance(control_plane("apps.kruise.io", "CloneSet")(None, BR, None, row), CloneSetControl)
    assert isinstance(control_plane("apps.kruise.io", "DaemonSet")(None, BR, None, row), AdvancedDaemonSetControl)
    assert isinstance(control_plane("apps", "DaemonSet")(None, BR, None, row), NativeDaemonSetControl)
    assert isinstance(control_plane("apps", "Deployment")(None, BR, None, row), DeploymentAdapter)


async def test_statefulset_partition_is_lowered_per_batch_never_raised() -> None:
    client = Client()
    for n, want in ((0, 9), (1, 5), (2, 0)):
        await StatefulSetControl(client, BR, sts(32767), STATEFULSETS).upgrade_batch(batch(n))
        assert client.patches[-1][2] == {"spec": {"updateStrategy": {"rollingUpdate": {"partition": want}}}}
    client.patches.clear()
    await StatefulSetControl(client, BR, sts(5), STATEFULSETS).upgrade_batch(batch(0))
    assert client.patches == []


async def test_statefulset_claim_and_hand_back() -> None:
    client = Client()
    control = StatefulSetControl(client, BR, sts(None), STATEFULSETS)
    status: dict = {}
    assert await control.initialize(status)
    body = client.patches[0][2]
    assert body["spec"]["updateStrategy"]["rollingUpdate"]["partition"] == 32767
    assert json.loads(body["metadata"]["annotations"]["batchrelease.rollouts.kruise.io/control-info"])["uid"] == \
        "br-uid"
    assert status == {"stableRevision": "sts-v1", "updateRevision": "sts-v2", "observedWorkloadReplicas": 10}
    br_done = {**BR, "spec": {"releasePlan": {**BR["spec"]["releasePlan"], "batchPartition": None}}}
    await StatefulSetControl(client, br_done, sts(0), STATEFULSETS).finalize()
    assert client.patches[-1][2]["spec"] == {"updateStrategy": {"rollingUpdate": {"partition": None}}}


def ready_pod(name: str, revision: str, *, ready: bool = True, phase: str = "Running", created: str = "") -> dict:
    return {"metadata": {"name": name, "labels": {"controller-revision-hash": revision},
                         "ownerReferences": [{"controller": True, "uid": "w-uid"}], "creationTimestamp": created},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize(("obj", "br_status", "event"), [
    (sts(observedGeneration=1), {}, dep.STILL_RECONCILING),
    (sts(updatedReplicas=10), {}, dep.NORMAL),
    ({**sts(), "spec": {**sts()["spec"], "replicas": 12}}, {"observedWorkloadReplicas": 10}, dep.REPLICAS_CHANGED),
    (sts(updateRevision="sts-v3"), {"updateRevision": "sts-v2"}, dep.POD_TEMPLATE_CHANGED),
    (sts(updateRevision="sts-v1"), {"updateRevision": "sts-v2", "stableRevision": "sts-v1"}, dep.ROLLBACK_IN_BATCH),
])
async def test_statefulset_workload_events(obj: dict, br_status: dict, event: str) -> None:
    br = {**BR, "status": br_status}
    got, info = await StatefulSetControl(Client(), br, obj, STATEFULSETS).workload_info()
    assert got == event and info is not None


async def test_statefulset_readiness_counts_ready_pods_on_the_update_revision() -> None:
    pods = [ready_pod("web-9", "sts-v2", ready=False)] + [ready_pod(f"web-{i}", "sts-v1") for i in range(9)]
    control = StatefulSetControl(Client(pods), BR, sts(9, updatedReplicas=1), STATEFULSETS)
    assert await control.batch_ready(batch(0)) == "updated ready 0 < desired 1 (failureThreshold 0)"
    pods[0] = ready_pod("web-9", "sts-v2")
    assert await StatefulSetControl(Client(pods), BR, sts(9, updatedReplicas=1), STATEFULSETS).batch_ready(
        batch(0)) is None


def cloneset(partition: Any = "100%") -> dict:
    return {"metadata": {"name": "cs", "namespace": "ns", "uid": "w-uid", "generation": 1},
            "spec": {"replicas": 10, "updateStrategy": {"partition": partition}},
            "status": {"observedGeneration": 1, "replicas": 10, "updatedReplicas": 0, "updatedReadyReplicas": 0,
                       "updateRevision": "cs-v2", "currentRevision": "cs-v1"}}


async def test_cloneset_partition_keeps_percentages_in_percent_form() -> None:
    client = Client()
    for n, want in ((0, 9), (1, "50%"), (2, "0%")):
        await CloneSetControl(client, BR, cloneset(), CLONESETS).upgrade_batch(batch(n))
        assert client.patches[-1][2] == {"spec": {"updateStrategy": {"partition": want}}}


async def test_advanced_daemonset_initial_partition_is_the_node_count() -> None:
    client = Client()
    ds = {"metadata": {"name": "ds", "namespace": "ns", "uid": "w-uid"},
          "spec": {"updateStrategy": {"rollingUpdate": {"partition": 32767}}},
          "status": {"desiredNumberScheduled": 7, "daemonSetHash": "abc"}}
    await AdvancedDaemonSetControl(client, BR, ds, DAEMONSETS).initialize({})
    assert client.patches[0][2]["spec"] == {"updateStrategy": {"rollingUpdate": {"paused": False, "partition": 7}}}


async def test_native_daemonset_writes_the_partition_annotation() -> None:
    client = Client()
    ds = {"metadata": {"name": "ds", "namespace": "ns", "uid": "w-uid", "annotations": {}},
          "status": {"desiredNumberScheduled": 10}}
    await NativeDaemonSetControl(client, BR, ds, DAEMONSETS).upgrade_batch(batch(1))
    value = client.patches[0][2]["metadata"]["annotations"][ADVANCED_CONTROL_ANNOTATION]
    assert json.loads(value) == {"partition": "5", "batch-revision": "sts-v2"}


def test_pod_deleter_respects_max_unavailable_and_prefers_unhealthy_pods() -> None:
    ds = {"metadata": {"uid": "w-uid", "annotations": {ADVANCED_CONTROL_ANNOTATION: json.dumps(
        {"partition": "6", "batch-revision": "ds-v2"})}},
          "spec": {"updateStrategy": {"rollingUpdate": {"maxUnavailable": 1}}},
          "status": {"desiredNumberScheduled": 10}}
    pods = [ready_pod(f"p{i}", "v1", created=f"2026-01-0{i}T00:00:00Z") for i in range(1, 10)]
    pods.append(ready_pod("p0", "v2"))
    # 4 updated wanted, 1 updated: 3 needed, but only 1 ready pod may go down at a time → the newest.
    assert [p["metadata"]["name"] for p in pods_to_delete(ds, pods)] == ["p9"]
    pods[2] = ready_pod("p3", "v1", ready=False)
    pods[4] = ready_pod("p5", "v1", phase="Pending", ready=False)
    assert [p["metadata"]["name"] for p in pods_to_delete(ds, pods)] == ["p5", "p3", "p9"]
    done = [ready_pod(f"n{i}", "v2") for i in range(4)] + pods[:6]
    assert pods_to_delete(ds, done) == []


def test_finders_read_revisions_per_kind() -> None:
    wl = observe_statefulset_like({**sts(), "metadata": {**sts()["metadata"], "annotations": {
        "rollouts.kruise.io/in-progressing": "{}"}}})
    assert (wl.stable_revision, wl.canary_revision, wl.in_progressing, wl.in_rollback) == \
        ("sts-v1", "sts-v2", True, False)
    cs = observe_cloneset(cloneset())
    assert (cs.stable_revision, cs.canary_revision, cs.replicas) == ("v1", "v2", 10)
    revs = [{"metadata": {"labels": {"controller-revision-hash": h}, "ownerReferences": [
        {"controller": True, "uid": "u"}]}, "revision": n} for h, n in (("b", 2), ("a", 1), ("c", 3))]
    assert native_daemonset_revisions(revs, "u") == ("b", "c")
    assert native_daemonset_revisions(revs[:1], "u") == ("b", "b")


def test_resource_of_known_and_custom_kinds() -> None:
    assert resource_of({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "StatefulSet"}).version == "v1alpha1"
    assert resource_of({"apiVersion": "example.com/v1", "kind": "Widget"}).plural == "widgets"


class CrdClient:
    def __init__(self, crds: list[dict] | None = None, fail: bool = False) -> None:
        self.crds, self.fail, self.calls = crds or [], fail, 0

    async def list(self, res: Any, ns: str | None = None, **_: Any) -> dict:
        from runtime.kube.errors import NotFound

        self.calls += 1
        if self.fail:
            raise NotFound("no")
        return {"items": self.crds}


def crd(name: str, group: str, kind: str, plural: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"group": group, "names": {"kind": kind, "plural": plural},
                                                 "scope": "Namespaced"}}


async def test_kind_of_known_kinds_need_no_api_call_and_custom_kinds_come_from_their_crd() -> None:
    from rollouts.controllers.workloads import available_kruise_resources, kind_of

    client = CrdClient([crd("widgets.example.com", "example.com", "Widget", "widgets"),
                        crd("clonesets.apps.kruise.io", "apps.kruise.io", "CloneSet", "clonesets")])
    row = await kind_of(client, {"apiVersion": "apps/v1", "kind": "StatefulSet"})
    assert row is not None and row.resource == STATEFULSETS and row.type_label == "statefulset"
    assert client.calls == 0
    custom = await kind_of(client, {"apiVersion": "example.com/v1", "kind": "Widget"})
    assert custom is not None and custom.resource.plural == "widgets" and custom.type_label is None
    assert await kind_of(client, {"apiVersion": "example.com/v1", "kind": "Gadget"}) is None
    assert await available_kruise_resources(client) == frozenset({CLONESETS})
    assert await available_kruise_resources(CrdClient(fail=True)) == frozenset()


async def test_a_custom_kinds_resource_is_looked_up_once_per_reconciler() -> None:
    from rollouts.controllers.workloads import kind_of

    client = CrdClient([crd("widgets.example.com", "example.com", "Widget", "widgets")])
    found: dict = {}
    for _ in range(3):
        row = await kind_of(client, {"apiVersion": "example.com/v1", "kind": "Widget"}, found)
        assert row is not None and row.resource.plural == "widgets"
    assert client.calls == 1
    assert await kind_of(client, {"apiVersion": "example.com/v1", "kind": "Gadget"}, found) is None
    assert await kind_of(client, {"apiVersion": "example.com/v1", "kind": "Gadget"}, found) is None
    assert client.calls == 3  # misses are not remembered: a CRD installed later is found
