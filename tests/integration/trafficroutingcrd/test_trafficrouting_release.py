"""End-to-end canary through a TrafficRouting object, on the real control plane with the real manager.

The shape of upstream's e2e: one Service ``echoserver`` and the seed's nginx Ingress in front of it,
shared by two applications (Deployments ``app-a`` and ``app-b``, both selected by the Service), each
with its own Rollout naming the TrafficRouting ``tr-demo`` by the annotation
``rollouts.kruise.io/trafficrouting``. The Rollouts route no traffic themselves; while any of them
releases, the TrafficRouting holds the canary route its strategy describes (only-traffic-routing
mode: the canary Ingress points at the stable Service, for a data plane that splits by lane), and
restores the Ingress when the last one finishes or when the object is deleted.

No ingress controller runs; as upstream's e2e, the tests check the objects.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, table, wait_for
from tests.integration.workloads.helpers import pod_template
from tests.unit.trafficrouting.fakes import SEED_INGRESS

pytestmark = pytest.mark.integration

P = "nginx.ingress.kubernetes.io/"
TR = "trafficroutings.rollouts.kruise.io"
ROLLOUTS = "rollouts.rollouts.kruise.io"
TR_FINALIZER = "rollouts.kruise.io/trafficrouting"
VOLATILE = ("resourceVersion", "managedFields", "generation")
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echoserver", "labels": {"app": "echoserver"}},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "demo"}}}
TRAFFIC_ROUTING = {
    "apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "TrafficRouting", "metadata": {"name": "tr-demo"},
    "spec": {"objectRef": [{"service": "echoserver", "ingress": {"name": "echoserver"}, "gracePeriodSeconds": 1}],
             "strategy": {"weight": 20}},
}
PODS = 2
HEALTHY = ("Healthy", "TrafficRouting is Healthy")
PROGRESSING = ("Progressing", "TrafficRouting is Progressing")


def deployment(app: str) -> dict[str, Any]:
    labels = {"app": "demo", "component": app}
    template = pod_template("version-1")
    template["metadata"]["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
            "spec": {"replicas": PODS, "selector": {"matchLabels": labels}, "template": template}}


def rollout(app: str) -> dict[str, Any]:
    """A v1alpha1 Rollout as upstream's e2e writes it: the annotation, partition style, no trafficRoutings."""
    return {"apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": f"rollout-{app}", "annotations": {
                "rollouts.kruise.io/trafficrouting": "tr-demo", "rollouts.kruise.io/rolling-style": "partition"}},
            "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app}},
                     "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}}}


def comparable(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}}


class Shared:
    """The namespace's shared gateway, its TrafficRouting and the two applications."""

    def __init__(self, kc: Kubectl, ns: str) -> None:
        self.kc, self.ns = kc, ns
        self.before: dict[str, Any] | None = None

    def apply(self, body: dict[str, Any]) -> None:
        self.kc("-n", self.ns, "apply", "-f", "-", input=json.dumps(body))

    def get(self, resource: str, name: str) -> dict[str, Any] | None:
        out = self.kc("-n", self.ns, "get", resource, name, "-o", "json", "--ignore-not-found")
        return json.loads(out) if out.strip() else None

    def tr_row(self) -> tuple[str, str] | None:
        rows = table(self.kc("-n", self.ns, "get", TR, "--ignore-not-found"))
        return (rows[0]["STATUS"], rows[0]["MESSAGE"]) if rows else None

    def wait_tr(self, want: tuple[str, str] | None) -> None:
        wait_for(self.tr_row, lambda r: r == want, what=f"TrafficRouting {want}", timeout=30)

    def rollout_row(self, app: str) -> tuple[str, str, str]:
        row = table(self.kc("-n", self.ns, "get", ROLLOUTS, f"rollout-{app}"))[0]
        return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"]

    def wait_rollout(self, app: str, want: tuple[str, str | None, str]) -> None:
        def ok(row: tuple[str, str, str]) -> bool:
            return all(w is None or w == v for w, v in zip(want, row, strict=True))
        wait_for(lambda: self.rollout_row(app), ok, what=f"rollout-{app} {want}", timeout=60)

    def ingress_state(self) -> tuple[Any, Any]:
        return comparable(self.get("ingress", "echoserver")), self.get("ingress", "echoserver-canary")

    def setup(self) -> None:
        for body in (SERVICE, SEED_INGRESS, TRAFFIC_ROUTING):
            self.apply(copy.deepcopy(body))
        self.wait_tr(HEALTHY)
        tr = self.get(TR, "tr-demo")
        assert tr is not None and tr["metadata"]["finalizers"] == [TR_FINALIZER]
        assert tr["status"]["observedGeneration"] == tr["metadata"]["generation"]
        for app in ("a", "b"):
            self.apply(deployment(app))
        for app in ("a", "b"):
            wait_for(lambda app=app: (self.get("deployment", app) or {}).get("status", {}).get("readyReplicas"),
                     lambda n: n == PODS, what=f"{app} ready")
            self.apply(rollout(app))
            self.wait_rollout(app, ("Healthy", None, "Completed"))
        self.before = comparable(self.get("ingress", "echoserver"))

    def release(self, app: str) -> None:
        env = '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","env":[{"name":"VERSION",' \
              '"value":"version-2"}]}]}}}}'
        self.kc("-n", self.ns, "patch", "deployment", app, "-p", env)
        self.wait_rollout(app, ("Progressing", "1", "StepPaused"))

    def approve(self, app: str) -> None:
        self.kc("kruise", "rollout", "approve", f"rollout/rollout-{app}", "-n", self.ns)

    def progressing_finalizers(self) -> list[str]:
        tr = self.get(TR, "tr-demo")
        return sorted(f for f in (tr or {}).get("metadata", {}).get("finalizers", []) if f.startswith("progressing."))

    def canary_weight(self) -> str | None:
        canary = self.get("ingress", "echoserver-canary")
        return None if canary is None else canary["metadata"]["annotations"].get(P + "canary-weight")

    def wait_restored(self) -> None:
        wait_for(self.ingress_state, lambda s: s == (self.before, None),
                 what="the Ingress as before the release, no canary Ingress", timeout=30)


def test_two_rollouts_share_one_trafficrouting(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    s = Shared(kc, namespace)
    s.setup()
    s.release("a")
    assert s.progressing_finalizers() == ["progressing.rollouts.kruise.io/rollout-a"]
    s.wait_tr(PROGRESSING)
    wait_for(s.canary_weight, lambda w: w == "20", what="canary weight 20 (the TrafficRouting's strategy)")
    canary = s.get("ingress", "echoserver-canary")
    assert canary is not None
    assert canary["metadata"]["ownerReferences"][0]["kind"] == "TrafficRouting"
    assert canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "echoserver"
    assert s.get("service", "echoserver-canary") is None  # only-traffic-routing mode: no canary Service
    assert s.get("service", "echoserver")["spec"]["selector"] == {"app": "demo"}  # never pinned

    # the route follows the object's strategy: an edit mid-release reaches the canary Ingress
    s.kc("-n", namespace, "patch", TR, "tr-demo", "--type=merge", "-p", '{"spec":{"strategy":{"weight":50}}}')
    wait_for(s.canary_weight, lambda w: w == "50", what="canary weight 50 after the strategy edit")
    tr = s.get(TR, "tr-demo")
    wait_for(lambda: (s.get(TR, "tr-demo") or {})["status"]["observedGeneration"],
             lambda g: g == tr["metadata"]["generation"], what="observedGeneration follows the edit")

    s.release("b")  # a second application releases through the same gateway
    assert s.progressing_finalizers() == ["progressing.rollouts.kruise.io/rollout-a",
                                          "progressing.rollouts.kruise.io/rollout-b"]
    s.approve("a")
    s.wait_rollout("a", ("Healthy", None, "Completed"))
    wait_for(s.progressing_finalizers, lambda f: f == ["progressing.rollouts.kruise.io/rollout-b"],
             what="rollout-a detached")
    assert s.tr_row() == PROGRESSING and s.canary_weight() == "50"  # b still releases: the route stays

    s.approve("b")
    s.wait_rollout("b", ("Healthy", None, "Completed"))
    s.wait_tr(HEALTHY)
    s.wait_restored()
    assert s.progressing_finalizers() == []


def test_deleting_the_trafficrouting_mid_release_restores_the_ingress_first(
    manager: ManagerProcess, kc: Kubectl, namespace: str,
) -> None:
    s = Shared(kc, namespace)
    s.setup()
    s.release("a")
    wait_for(s.canary_weight, lambda w: w == "20", what="canary weight 20")
    s.kc("-n", namespace, "delete", TR, "tr-demo", "--wait=false")
    # restored while the object still exists; our finalizer goes only after that
    s.wait_restored()
    wait_for(lambda: s.get(TR, "tr-demo"), lambda tr: tr is not None and tr["metadata"]["finalizers"] == [
        "progressing.rollouts.kruise.io/rollout-a"] and tr["status"]["phase"] == "Terminating",
        what="Terminating, held only by the releasing Rollout")
    s.approve("a")  # the release finishes without routing and detaches: the object goes
    s.wait_rollout("a", ("Healthy", None, "Completed"))
    wait_for(lambda: s.get(TR, "tr-demo"), lambda tr: tr is None, what="the TrafficRouting gone")
    s.wait_restored()


def test_a_rollout_waits_for_its_trafficrouting_to_exist(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    s = Shared(kc, namespace)
    s.setup()
    s.kc("-n", namespace, "delete", TR, "tr-demo")
    s.kc("-n", namespace, "patch", "deployment", "a", "-p",
         '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","env":[{"name":"VERSION","value":"v2"}]}]}}}}')
    want = f"TrafficRouting {namespace}/tr-demo named in metadata.annotations[rollouts.kruise.io/trafficrouting] " \
           "does not exist; create it or correct the name"
    wait_for(lambda: (s.get(ROLLOUTS, "rollout-a") or {}).get("status", {}).get("message"), lambda m: m == want,
             what="the Rollout names the missing TrafficRouting")
    assert s.kc("-n", namespace, "get", "batchreleases.rollouts.kruise.io", "-o", "name").split() == []  # held
    s.apply(copy.deepcopy(TRAFFIC_ROUTING))
    s.wait_rollout("a", ("Progressing", "1", "StepPaused"))
    wait_for(s.canary_weight, lambda w: w == "20", what="canary weight 20")
    # The annotation removed mid-release (through v1alpha1, so trafficRoutingRef goes too): the object lets
    # the Rollout go and restores the Ingress, instead of holding both until the Rollout is deleted.
    s.kc("-n", namespace, "annotate", "rollouts.v1alpha1.rollouts.kruise.io/rollout-a",
         "rollouts.kruise.io/trafficrouting-")
    s.wait_tr(HEALTHY)
    s.wait_restored()
    assert s.progressing_finalizers() == []
    assert s.rollout_row("a")[0] == "Progressing"  # the release itself goes on


def test_an_httproute_is_refused_and_left_untouched(manager: ManagerProcess, kc: Kubectl, namespace: str,
                                                    local_cluster: Any) -> None:
    """Only-traffic-routing mode over an HTTPRoute would finalise the user's own rules away (docs/traffic.md):
    the object says so and never writes the route, not even when it is deleted."""
    from localcluster import gatewayapi

    gatewayapi.install(local_cluster)
    s = Shared(kc, namespace)
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "echoserver"},
             "spec": {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "echoserver", "port": 80}]}]}}
    tr = copy.deepcopy(TRAFFIC_ROUTING)
    tr["spec"]["objectRef"] = [{"service": "echoserver", "gateway": {"httpRouteName": "echoserver"}}]
    for body in (SERVICE, route, tr):
        s.apply(copy.deepcopy(body))
    wait_for(s.tr_row, lambda r: r is not None and r[0] == "Initial" and r[1].startswith(
        "spec.objectRef[0].gateway: a TrafficRouting cannot route an HTTPRoute yet"), what="the refusal")
    before = comparable(s.get("httproutes.gateway.networking.k8s.io", "echoserver"))
    s.kc("-n", namespace, "delete", TR, "tr-demo", "--timeout=30s")
    assert comparable(s.get("httproutes.gateway.networking.k8s.io", "echoserver")) == before
