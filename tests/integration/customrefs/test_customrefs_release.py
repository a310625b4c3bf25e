"""Rollouts routed through customNetworkRefs (Lua over any kind), real manager, real control plane.

No Istio runs (the CRDs are minimal stand-ins): as upstream's e2e does, the tests check the objects,
read back from the API server. "Restored" means spec, labels and annotations equal to the
pre-release object, compared as Go-style JSON text, and the snapshot annotation gone.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from tests.e2e.harness import OPERATOR_NAMESPACE, Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.workloads.helpers import WorkloadRelease, pod_template, rollout_body

pytestmark = pytest.mark.integration

SNAPSHOT = "rollouts.kruise.io/original-spec-configuration"
PODS = 4
VS, DR, WIDGET = ("virtualservices.networking.istio.io", "destinationrules.networking.istio.io",
                  "widgets.customrefs.test.kruise.io")
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echoserver", "labels": {"app": "echoserver"}},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "demo"}}}
VS_OBJ = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService",
          "metadata": {"name": "vs-demo", "labels": {"team": "a"}, "annotations": {"owner": "<web & api>"}},
          "spec": {"gateways": ["nginx-gateway"], "hosts": ["*"],
                   "http": [{"route": [{"destination": {"host": "echoserver"}}]}]}}
DR_OBJ = {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "metadata": {"name": "dr-demo"},
          "spec": {"host": "svc-demo", "subsets": [{"labels": {"version": "base"}, "name": "echoserver"}],
                   "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}}
WIDGET_OBJ = {"apiVersion": "customrefs.test.kruise.io/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"backends": [{"name": "echoserver", "weight": 100}]}}
REFS = [{"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService", "name": "vs-demo"},
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "name": "dr-demo"}]
PC = {"type": "Exact", "name": "user-agent", "value": "pc"}
AB_STEP = {"replicas": 1, "matches": [{"headers": [PC]}, {"queryParams": [PC]},
                                      {"path": {"type": "PathPrefix", "value": "/pc"}}]}
#: lua-contract.md §5.6, upstream's e2e expectations, byte for byte.
VS_AB = ('{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"match":[{"uri":{"prefix":"/pc"}}],"route":'
         '[{"destination":{"host":"echoserver-canary"}}]},{"match":[{"queryParams":{"user-agent":{"exact":"pc"}}}],'
         '"route":[{"destination":{"host":"echoserver-canary"}}]},{"match":[{"headers":{"user-agent":{"exact":"pc"}}}],'
         '"route":[{"destination":{"host":"echoserver-canary"}}]},{"route":[{"destination":{"host":"echoserver"}}]}]}')
VS_50 = ('{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"route":[{"destination":{"host":"echoserver"},'
         '"weight":50},{"destination":{"host":"echoserver-canary"},"weight":50}]}]}')
DR_CANARY = ('{"host":"svc-demo","subsets":[{"labels":{"version":"base"},"name":"echoserver"},{"labels":'
             '{"istio.service.tag":"gray"},"name":"canary"}],"trafficPolicy":{"loadBalancer":{"simple":"ROUND_ROBIN"}}}')
CONFIGMAP = "kruise-rollout-configuration"
WIDGET_KEY = "lua.traffic.routing.Widget.customrefs.test.kruise.io"
WIDGET_SCRIPT = """
local spec = obj.data.spec
if obj.canaryWeight ~= -1 then
  spec.backends[1].weight = obj.stableWeight
  table.insert(spec.backends, {name = obj.canaryService, weight = obj.canaryWeight})
end
return obj.data
"""


def text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def configuration(obj: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, str]]:
    """What a restore must give back: spec as JSON text, labels, annotations."""
    md = obj["metadata"]
    return text(obj.get("spec")), md.get("labels") or {}, md.get("annotations") or {}


class CustomRelease(WorkloadRelease):
    """A Deployment of PODS pods, the Service, the custom objects, and a Rollout routed through them."""

    total = 3
    objects: list[tuple[str, str]]
    before: dict[tuple[str, str], tuple[str, dict[str, str], dict[str, str]]]

    def setup(self, steps: list[dict[str, Any]], objs: list[dict[str, Any]], refs: list[dict[str, Any]],
              **routing: Any) -> None:
        """``routing``: more fields of the trafficRoutings entry (``ingress`` for a composite)."""
        self.total = len(steps)
        self.apply(copy.deepcopy(SERVICE))
        self.objects = []
        for obj in objs:  # created, not applied: no last-applied annotation in the snapshot
            body = copy.deepcopy(obj)
            body["metadata"]["namespace"] = self.ns
            self.kc("create", "-f", "-", input=yaml.safe_dump(body))
            self.objects.append(({"VirtualService": VS, "DestinationRule": DR, "Widget": WIDGET}[obj["kind"]],
                                 obj["metadata"]["name"]))
        self.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "workload-demo"},
                    "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": "demo"}},
                             "template": pod_template("version-1")}})
        self.wait_versions(PODS, PODS, "version-1")
        body = rollout_body(self.ns, "apps/v1", "Deployment", steps=steps)
        body["spec"]["strategy"]["canary"]["trafficRoutings"] = [
            {"service": "echoserver", "customNetworkRefs": refs, "gracePeriodSeconds": 1, **routing}]
        self.apply(body)
        self.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
        self.before = {o: configuration(self.get(*o)) for o in self.objects}

    def get(self, resource: str, name: str) -> dict[str, Any]:
        return json.loads(self.kc("-n", self.ns, "get", resource, name, "-o", "json"))

    def spec(self, resource: str, name: str) -> str:
        return text(self.get(resource, name)["spec"])

    def at_step(self, step: int) -> None:
        self.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, self.total)))

    def assert_snapshots(self) -> None:
        """Each object carries its pre-release configuration, in upstream's JSON layout."""
        for o in self.objects:
            snap = json.loads(self.get(*o)["metadata"]["annotations"][SNAPSHOT])
            spec, labels, annotations = self.before[o]
            assert (text(snap.get("spec")), snap.get("labels") or {}, snap.get("annotations") or {}) == (
                spec, labels, annotations)

    def wait_restored(self) -> None:
        wait_for(lambda: {o: configuration(self.get(*o)) for o in self.objects}, lambda now: now == self.before,
                 what="custom objects back to their pre-release spec/labels/annotations, snapshot removed")


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> CustomRelease:
    return CustomRelease(kc, namespace, "deployment")


def test_istio_ab_step_then_weight_then_restored_byte_for_byte(release: CustomRelease) -> None:
    r = release
    r.setup([AB_STEP, {"replicas": "50%", "traffic": "50%"}, {"replicas": "100%"}], [VS_OBJ, DR_OBJ], REFS)
    r.patch("version-2")
    r.at_step(1)
    assert r.spec(VS, "vs-demo") == VS_AB
    assert r.spec(DR, "dr-demo") == DR_CANARY
    r.assert_snapshots()
    snapshot = r.get(VS, "vs-demo")["metadata"]["annotations"][SNAPSHOT]
    assert snapshot == ('{"spec":{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"route":[{"destination":'
                        '{"host":"echoserver"}}]}]},"labels":{"team":"a"},"annotations":{"owner":'
                        '"\\u003cweb \\u0026 api\\u003e"}}')
    r.approve()
    r.at_step(2)
    assert r.spec(VS, "vs-demo") == VS_50, "the weight step is computed from the snapshot: no A/B routes left"
    assert r.spec(DR, "dr-demo") == DR_CANARY
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-2")


def test_rollback_mid_release_restores(release: CustomRelease) -> None:
    r = release
    r.setup([{"replicas": 1, "traffic": "20%"}, {"replicas": "100%"}], [VS_OBJ, DR_OBJ], REFS)
    r.patch("version-2")
    r.at_step(1)
    assert '"weight":80' in r.spec(VS, "vs-demo") and '"weight":20' in r.spec(VS, "vs-demo")
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, "Rollout progressing has been canceled"))
    r.wait_restored()


def test_delete_mid_release_restores(release: CustomRelease) -> None:
    r = release
    r.setup([{"replicas": 1, "traffic": "20%"}, {"replicas": "100%"}], [VS_OBJ, DR_OBJ], REFS)
    r.patch("version-2")
    r.at_step(1)
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    wait_for(lambda: r.kc("-n", r.ns, "get", "rollouts.rollouts.kruise.io", "--ignore-not-found").strip(),
             lambda out: out == "", what="the Rollout gone (its finalizer removed after the cleanup)")
    r.wait_restored()


def test_disable_mid_release_restores(release: CustomRelease) -> None:
    r = release
    r.setup([{"replicas": 1, "traffic": "20%"}, {"replicas": "100%"}], [VS_OBJ, DR_OBJ], REFS)
    r.patch("version-2")
    r.at_step(1)
    r.kc("-n", r.ns, "patch", "rollouts.rollouts.kruise.io", "rollouts-demo", "--type=merge",
         "-p", '{"spec":{"disabled":true}}')
    wait_for(lambda: r.get("rollouts.rollouts.kruise.io", "rollouts-demo")["status"].get("phase"),
             lambda p: p == "Disabled", what="phase Disabled")
    r.wait_restored()


INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "echoserver"},
           "spec": {"ingressClassName": "nginx", "rules": [{"host": "echo.k8s.local", "http": {"paths": [
               {"path": "/apis/echo", "pathType": "Exact",
                "backend": {"service": {"name": "echoserver", "port": {"number": 80}}}}]}}]}}


def test_custom_and_ingress_in_one_entry_are_driven_together(release: CustomRelease) -> None:
    """Spec §1: a composite (custom first, then the Ingress); both routed per step, both restored."""
    r = release
    r.apply(copy.deepcopy(INGRESS))
    r.setup([{"replicas": 1, "traffic": "20%"}, {"replicas": "100%"}], [VS_OBJ], REFS[:1],
            ingress={"name": "echoserver"})
    r.patch("version-2")
    r.at_step(1)
    assert '"weight":80' in r.spec(VS, "vs-demo") and '"weight":20' in r.spec(VS, "vs-demo")
    canary = r.get("ingress", "echoserver-canary")["metadata"]["annotations"]
    assert canary["nginx.ingress.kubernetes.io/canary-weight"] == "20"
    r.approve()
    r.wait_rollout(("Healthy", "2", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()
    wait_for(lambda: r.kc("-n", r.ns, "get", "ingress", "echoserver-canary", "--ignore-not-found").strip(),
             lambda out: out == "", what="the canary Ingress deleted")


def _set_script(kc: Kubectl, script: str | None) -> None:
    """Add/replace/remove our key only: other modules may keep their own keys in the ConfigMap."""
    if not kc("-n", OPERATOR_NAMESPACE, "get", "configmap", CONFIGMAP, "--ignore-not-found").strip():
        kc("-n", OPERATOR_NAMESPACE, "create", "configmap", CONFIGMAP)
    kc("-n", OPERATOR_NAMESPACE, "patch", "configmap", CONFIGMAP, "--type=merge", "-p",
       json.dumps({"data": {WIDGET_KEY: script}}))


@pytest.fixture
def widget_script(kc: Kubectl) -> Any:
    yield lambda script: _set_script(kc, script)
    _set_script(kc, None)


def test_user_kind_script_from_configmap_broken_then_fixed_without_restart(
        release: CustomRelease, widget_script: Any) -> None:
    r = release
    widget_script('error("broken on purpose")')
    ref = {"apiVersion": "customrefs.test.kruise.io/v1", "kind": "Widget", "name": "w"}
    r.setup([{"replicas": 1, "traffic": "30%"}, {"replicas": "100%"}], [WIDGET_OBJ], [ref])
    r.patch("version-2")
    status = wait_for(lambda: r.get("rollouts.rollouts.kruise.io", "rollouts-demo").get("status") or {},
                      lambda s: "broken on purpose" in s.get("message", ""), what="the script error in the status")
    assert f"key {WIDGET_KEY}" in status["message"] and "customNetworkRefs[0]" in status["message"]
    assert r.get(WIDGET, "w")["spec"] == WIDGET_OBJ["spec"] and SNAPSHOT not in (
        r.get(WIDGET, "w")["metadata"].get("annotations") or {}), "nothing written while the script fails"
    widget_script(WIDGET_SCRIPT)  # fixing the ConfigMap resumes the release (no restart)
    r.at_step(1)
    assert r.get(WIDGET, "w")["spec"] == {"backends": [{"name": "echoserver", "weight": 70},
                                                       {"name": "echoserver-canary", "weight": 30}]}
    r.approve()
    r.wait_rollout(("Healthy", "2", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()
