"""RolloutHistory (rollout-history.md §3, §5): the pure snapshot functions and the reconciler on fakes."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import pytest

from rollouts.api.v1alpha1.rollouthistory import RolloutHistory
from rollouts.api.wire import from_dict
from rollouts.controllers.common import ROLLOUTHISTORIES
from rollouts.controllers.rollouthistory import snapshot as snap
from rollouts.controllers.rollouthistory.controller import (
    RolloutHistoryReconciler,
    rollout_for_history,
    rollout_if_released,
)
from runtime.cache.store import Store
from runtime.kube.resources import DAEMONSETS, DEPLOYMENTS, INGRESSES, PODS, SERVICES, Resource
from runtime.reconcile import Request
from tests.unit.trafficrouting.fakes import FakeClient

NS = "demo"
ROLLOUTS = Resource("rollouts.kruise.io", "v1beta1", "rollouts", "Rollout")


def rollout(phase: str = "Progressing", rollout_id: str = "1", *, traffic: bool = True,
            kind: tuple[str, str] = ("apps/v1", "Deployment")) -> dict[str, Any]:
    canary: dict[str, Any] = {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}
    if traffic:
        canary["trafficRoutings"] = [{"service": "echo", "ingress": {"name": "echo", "classType": "nginx"}}]
    status: dict[str, Any] = {"phase": phase}
    if rollout_id:
        status["canaryStatus"] = {"observedRolloutID": rollout_id, "canaryRevision": "abc",
                                  "canaryReplicas": 0, "canaryReadyReplicas": 0, "currentStepIndex": 3}
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": "ro", "namespace": NS},
            "spec": {"workloadRef": {"apiVersion": kind[0], "kind": kind[1], "name": "web"},
                     "strategy": {"canary": canary}},
            "status": status}


def workload(kind: str = "Deployment") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web", "namespace": NS},
            "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}}}}


def pod(name: str, batch: str, rollout_id: str = "1", *, app: str = "web", deleting: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": NS, "labels": {
        "app": app, "rollouts.kruise.io/rollout-id": rollout_id, "rollouts.kruise.io/rollout-batch-id": batch}}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "spec": {"nodeName": f"node-{name}"}, "status": {"podIP": f"10.0.0.{len(name)}"}}


# ---- pure -------------------------------------------------------------------------------------------

def test_decide_follows_the_spec_table() -> None:
    record = RolloutHistory()
    done = from_dict(RolloutHistory, {"status": {"phase": "completed"}})
    assert snap.decide(snap.v1alpha1_view(rollout("Progressing")), None) is snap.Action.CREATE
    assert snap.decide(snap.v1alpha1_view(rollout("Healthy")), None) is snap.Action.NOTHING  # §5 case 5
    assert snap.decide(snap.v1alpha1_view(rollout("Progressing", "")), None) is snap.Action.NOTHING  # case 3
    assert snap.decide(snap.v1alpha1_view(rollout("Progressing")), record) is snap.Action.NOTHING  # case 4
    assert snap.decide(snap.v1alpha1_view(rollout("Healthy")), record) is snap.Action.RECORD
    assert snap.decide(snap.v1alpha1_view(rollout("Healthy")), done) is snap.Action.NOTHING


def test_a_blue_green_rollout_has_an_empty_v1alpha1_view_and_is_never_recorded() -> None:
    ro = rollout("Progressing")
    ro["spec"]["strategy"] = {"blueGreen": {"steps": [{"replicas": "100%"}]}}
    assert snap.decide(snap.v1alpha1_view(ro), None) is snap.Action.NOTHING


def test_new_record_has_the_labels_and_a_six_character_suffix() -> None:
    body = snap.new_record(NS, "ro", "7")
    name = body["metadata"]["name"]
    assert re.fullmatch(r"ro-[a-z0-9]{6}", name), name
    assert snap.history_name("ro") != snap.history_name("ro")  # random (collision odds 1 in 36**6)
    assert body["metadata"]["labels"] == {"rollouts.kruise.io/rollout-id": "7", "rollouts.kruise.io/rollout-name": "ro"}
    assert "ownerReferences" not in body["metadata"]


def test_build_spec_records_the_rollout_workload_service_and_ingress() -> None:
    ro = snap.v1alpha1_view(rollout("Healthy"))
    svc = {"metadata": {"name": "echo"}, "spec": {"selector": {"app": "web"}}}
    ing = {"metadata": {"name": "echo"}, "spec": {"ingressClassName": "nginx"}}
    spec = snap.build_spec(ro, snap.Fetched(workload=workload(), service=svc, ingress=ing))
    assert (spec.rollout.name, spec.rollout.rollout_id) == ("ro", "1")
    assert spec.rollout.data is not None and spec.rollout.data["objectRef"]["workloadRef"]["name"] == "web"
    assert len(spec.rollout.data["strategy"]["canary"]["steps"]) == 3
    assert (spec.workload.api_version, spec.workload.kind, spec.workload.name) == ("apps/v1", "Deployment", "web")
    assert spec.workload.data == workload()["spec"]
    assert (spec.service.name, spec.service.data) == ("echo", {"selector": {"app": "web"}})
    ingress = spec.traffic_routing.ingress
    assert ingress is not None and ingress.data == {"ingressClassName": "nginx"}
    assert spec.traffic_routing.http_route is None


def test_build_spec_without_traffic_routing_or_workload_records_what_exists() -> None:
    ro = snap.v1alpha1_view(rollout("Healthy", traffic=False))
    assert snap.traffic_ref(ro) is None
    spec = snap.build_spec(ro, snap.Fetched())
    assert spec.rollout.rollout_id == "1" and spec.workload.name == "" and spec.service.name == ""
    assert spec.traffic_routing.ingress is None and spec.traffic_routing.http_route is None


def test_canary_steps_lists_live_pods_of_the_workload_per_batch() -> None:
    pods = [pod("a", "1"), pod("c", "2"), pod("b", "2"), pod("old", "1", rollout_id="0"),
            pod("other", "1", app="other"), pod("gone", "3", deleting=True)]
    steps = snap.canary_steps(pods, {"matchLabels": {"app": "web"}}, "1", 3)
    assert [s.canary_step_index for s in steps] == [1, 2, 3]
    assert [[p.name for p in s.pods] for s in steps] == [["a"], ["b", "c"], []]
    assert (steps[0].pods[0].ip, steps[0].pods[0].node_name) == ("10.0.0.1", "node-a")


def test_canary_steps_without_a_selector_lists_no_pods() -> None:
    assert [s.pods for s in snap.canary_steps([pod("a", "1")], None, "1", 2)] == [[], []]
    bad = {"matchExpressions": [{"key": "app", "operator": "Bogus"}]}
    assert [s.pods for s in snap.canary_steps([pod("a", "1")], bad, "1", 1)] == [[]]


def test_watch_mappers() -> None:
    assert rollout_if_released(rollout()) == [Request(NS, "ro")]
    assert rollout_if_released(rollout(rollout_id="")) == []
    h = {"metadata": {"namespace": NS, "name": "ro-x", "labels": {"rollouts.kruise.io/rollout-id": "1",
                                                                   "rollouts.kruise.io/rollout-name": "ro"}}}
    assert rollout_for_history(h) == [Request(NS, "ro")]
    del h["metadata"]["labels"]["rollouts.kruise.io/rollout-id"]
    assert rollout_for_history(h) == []


# ---- reconciler on fakes ---------------------------------------------------------------------------

class _Client(FakeClient):
    """The traffic tests' fake plus list (label selector by equality) and patch_status."""

    async def list(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                   **_: Any) -> dict:
        wanted = dict(p.split("=", 1) for p in (label_selector or "").split(",") if p)
        items = [copy.deepcopy(o) for (plural, ns, _n), o in self.objects.items()
                 if plural == res.plural and ns == namespace
                 and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
        return {"items": items}

    async def patch_status(self, res: Resource, name: str, body: Any, namespace: str | None = None, **_: Any) -> dict:
        return await self.patch(res, name, body, namespace)


class _Cache:
    """An always-synced cache of one resource of the fake client."""

    def __init__(self, client: _Client, res: Resource) -> None:
        self.client, self.res = client, res

    @property
    def store(self) -> Store:
        s = Store()
        for (plural, ns, name), obj in self.client.objects.items():
            if plural == self.res.plural:
                s.put(f"{ns}/{name}", obj)
        return s


def _setup(ro: dict[str, Any]) -> tuple[_Client, RolloutHistoryReconciler]:
    client = _Client()
    client.put(ROLLOUTS, ro, NS)
    rec = RolloutHistoryReconciler(client, _Cache(client, ROLLOUTS), _Cache(client, ROLLOUTHISTORIES),
                                   _Cache(client, PODS))
    return client, rec


def _histories(client: _Client) -> list[dict]:
    return [o for (plural, _ns, _n), o in client.objects.items() if plural == "rollouthistories"]


def _run(rec: RolloutHistoryReconciler) -> None:
    asyncio.run(rec.reconcile(Request(NS, "ro")))


def test_progressing_creates_one_record_and_healthy_completes_it() -> None:
    client, rec = _setup(rollout("Progressing"))
    _run(rec)
    _run(rec)  # §5 case 4: still one
    assert len(_histories(client)) == 1
    client.put(DEPLOYMENTS, workload(), NS)
    client.put(SERVICES, {"metadata": {"name": "echo"}, "spec": {"selector": {"app": "web"}}}, NS)
    client.put(INGRESSES, {"metadata": {"name": "echo"}, "spec": {"rules": []}}, NS)
    for name, batch in (("p1", "1"), ("p2", "2"), ("p3", "2"), ("p4", "3"), ("p5", "3")):
        client.put(PODS, pod(name, batch), NS)
    client.put(ROLLOUTS, rollout("Healthy"), NS)
    _run(rec)
    (h,) = _histories(client)
    assert h["spec"]["rollout"]["rolloutID"] == "1" and h["spec"]["workload"]["kind"] == "Deployment"
    assert h["spec"]["service"]["name"] == "echo" and h["spec"]["trafficRouting"]["ingress"]["name"] == "echo"
    assert h["status"]["phase"] == "completed"
    assert [[p["name"] for p in s.get("pods", [])] for s in h["status"]["canarySteps"]] == \
        [["p1"], ["p2", "p3"], ["p4", "p5"]]
    writes = len(client.writes)
    _run(rec)  # completed: nothing more
    assert len(client.writes) == writes


@pytest.mark.parametrize("traffic", [False, True])
def test_a_daemonset_rollout_with_missing_pieces_is_recorded_not_crashed(traffic: bool) -> None:
    """No traffic routing (or a missing Service/Ingress) and a DaemonSet: upstream crashes; we record."""
    client, rec = _setup(rollout("Progressing", kind=("apps/v1", "DaemonSet"), traffic=traffic))
    _run(rec)
    client.put(DAEMONSETS, workload("DaemonSet"), NS)
    client.put(PODS, pod("d1", "1"), NS)
    client.put(ROLLOUTS, rollout("Healthy", kind=("apps/v1", "DaemonSet"), traffic=traffic), NS)
    _run(rec)
    (h,) = _histories(client)
    assert h["spec"]["workload"]["kind"] == "DaemonSet" and h["spec"]["service"] == {"name": ""}
    assert h["status"]["canarySteps"][0]["pods"][0]["name"] == "d1"


def test_the_controller_and_its_informer_exist_only_with_the_gate() -> None:
    from rollouts.controllers.setup import ControllerOptions, add_controllers
    from runtime.manager import Manager

    on = Manager(object())  # type: ignore[arg-type]  # nothing is called before start
    ctl = add_controllers(on, ControllerOptions(rollout_history=True, rollouthistory_workers=2, namespace="x"))
    assert ctl.rollout_history is not None and ctl.rollout_history.settings.workers == 2
    assert ROLLOUTHISTORIES in [i.resource for i in ctl.rollout_history.informers]
    off = Manager(object())  # type: ignore[arg-type]
    assert add_controllers(off, ControllerOptions(namespace="x")).rollout_history is None
    assert ROLLOUTHISTORIES not in [i.resource for i in off.informers.informers]


def test_the_record_reads_only_the_release_pods_through_the_label_index() -> None:
    from runtime.cache.store import LABELS_INDEX, label_index

    class IndexedPods(_Cache):
        reads: list[str] = []

        @property
        def store(self) -> Store:
            s = Store({LABELS_INDEX: label_index})
            for (plural, ns, name), obj in self.client.objects.items():
                if plural == "pods":
                    s.put(f"{ns}/{name}", obj)
            real = s._items
            seen = IndexedPods.reads

            class Spy(dict):
                def __getitem__(self, key: str) -> Any:
                    seen.append(key)
                    return real[key]

                def values(self):  # a namespace scan would read every pod
                    seen.extend(real)
                    return real.values()
            s._items = Spy(real)
            return s

    client, rec = _setup(rollout("Progressing"))
    _run(rec)
    client.put(DEPLOYMENTS, workload(), NS)
    client.put(PODS, pod("p1", "1"), NS)
    client.put(PODS, pod("old", "1", rollout_id="0"), NS)  # an earlier release's pod
    rec.pods = IndexedPods(client, PODS)
    client.put(ROLLOUTS, rollout("Healthy"), NS)
    _run(rec)
    (h,) = _histories(client)
    assert [p["name"] for p in h["status"]["canarySteps"][0]["pods"]] == ["p1"]
    assert f"{NS}/old" not in IndexedPods.reads
