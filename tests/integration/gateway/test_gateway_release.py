"""Partition- and canary-style Rollouts routed through a Gateway API HTTPRoute, real manager, real control plane.

No gateway implementation runs: as upstream's e2e does, the tests check the objects. The HTTPRoute is
read back from the API server, i.e. with the Gateway API v1.6 schema's defaults and validation
applied to every rule the provider writes, so "restored" means equal to the pre-release object field
for field (ignoring resourceVersion/managedFields/generation).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.workloads.helpers import WorkloadRelease, pod_template, rollout_body

pytestmark = pytest.mark.integration

PTH = "pod-template-hash"
HTTPROUTE = "httproutes.gateway.networking.k8s.io"
VOLATILE = ("resourceVersion", "managedFields", "generation")
PODS = 4
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echoserver", "labels": {"app": "echoserver"}},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "demo"}}}
#: Two rules: the routed one, and one to another Service the release must not touch.
ROUTE = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "echoserver"},
         "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["echo.k8s.local"],
                  "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/apis/echo"}}],
                             "backendRefs": [{"name": "echoserver", "port": 80}]},
                            {"matches": [{"path": {"type": "PathPrefix", "value": "/other"}}],
                             "backendRefs": [{"name": "other", "port": 80}]}]}}
PC = {"name": "user-agent", "type": "Exact", "value": "pc"}


def ref(name: str, weight: int) -> dict[str, Any]:
    """A backendRef as the API server stores it (group, kind and weight defaulted)."""
    return {"group": "", "kind": "Service", "name": name, "port": 80, "weight": weight}


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}}


class GatewayRelease(WorkloadRelease):
    """A Deployment of PODS pods, the Service, the HTTPRoute, and a Rollout routed through it."""

    before: dict[str, Any]
    total = 3

    def setup(self, steps: list[dict[str, Any]], *, canary_style: bool = False) -> None:
        self.total = len(steps)
        for obj in (SERVICE, ROUTE):
            self.apply(copy.deepcopy(obj))
        self.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "workload-demo"},
                    "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": "demo"}},
                             "template": pod_template("version-1")}})
        self.wait_versions(PODS, PODS, "version-1")
        body = rollout_body(self.ns, "apps/v1", "Deployment", steps=steps)
        if canary_style:
            body["spec"]["strategy"]["canary"]["enableExtraWorkloadForCanary"] = True
        body["spec"]["strategy"]["canary"]["trafficRoutings"] = [
            {"service": "echoserver", "gateway": {"httpRouteName": "echoserver"}, "gracePeriodSeconds": 1}]
        self.apply(body)
        self.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
        self.before = self.route()

    def route(self) -> dict[str, Any]:
        return comparable(json.loads(self.kc("-n", self.ns, "get", HTTPROUTE, "echoserver", "-o", "json")))

    def rules(self) -> list[dict[str, Any]]:
        return self.route()["spec"]["rules"]

    def canary_service(self) -> bool:
        return bool(self.kc("-n", self.ns, "get", "service", "echoserver-canary", "--ignore-not-found").strip())

    def at_step(self, step: int) -> None:
        self.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, self.total)))

    def assert_weight(self, step: int, canary: int) -> None:
        """Paused at ``step`` with the routed rule split 100-canary / canary, the other rules untouched."""
        self.at_step(step)
        rules = self.rules()
        assert rules[0]["backendRefs"] == [ref("echoserver", 100 - canary), ref("echoserver-canary", canary)]
        assert rules[1:] == self.before["spec"]["rules"][1:]

    def wait_restored(self) -> None:
        wait_for(lambda: (self.route(), self.canary_service()), lambda s: s == (self.before, False),
                 what="HTTPRoute equal to its pre-release form, canary Service gone")


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> GatewayRelease:
    return GatewayRelease(kc, namespace, "deployment")


def test_weights_per_step_then_restored_exactly(release: GatewayRelease) -> None:
    """Stable/canary 80/20, 50/50, 10/90 (partition style allows traffic on at most 50% of the pods)."""
    r = release
    r.setup([{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"},
             {"traffic": "90%", "replicas": "50%"}, {"replicas": "100%"}])
    assert r.before["spec"]["rules"][0]["backendRefs"] == [ref("echoserver", 1)]
    r.patch("version-2")
    for step, canary, pods in ((1, 20, 1), (2, 50, 2), (3, 90, 2)):
        r.assert_weight(step, canary)
        r.wait_versions(PODS, pods, "version-2")
        r.approve()
    r.wait_rollout(("Healthy", "4", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-2")


def test_weight_step_then_match_step_keeps_the_stable_rule(release: GatewayRelease) -> None:
    """Upstream's defects: a match step after a weight step would drop the user's rule (2), and a header
    match beside a path match would be paired with the wrong match's headers (1)."""
    r = release
    v2 = {"path": {"type": "PathPrefix", "value": "/v2"}, "queryParams": [{"name": "canary", "value": "1"}]}
    r.setup([{"traffic": "20%", "replicas": 1}, {"matches": [{"headers": [PC]}, v2], "replicas": "50%"},
             {"replicas": "100%"}])
    r.patch("version-2")
    r.assert_weight(1, 20)
    r.approve()
    r.at_step(2)
    before = r.before["spec"]["rules"]
    # the step's path match stands alone; the header narrows the stable rule's own match (defect 1 fixed);
    # read back from the API server, so the schema defaults (query type Exact) are what was written
    canary_rule = {"matches": [{**v2, "queryParams": [{"name": "canary", "type": "Exact", "value": "1"}]},
                               {"path": {"type": "PathPrefix", "value": "/apis/echo"}, "headers": [PC]}],
                   "backendRefs": [ref("echoserver-canary", 1)]}
    assert r.rules() == [*before, canary_rule]
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()


def test_rollback_mid_release_restores(release: GatewayRelease) -> None:
    r = release
    r.setup([{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"}, {"replicas": "100%"}])
    r.patch("version-2")
    r.assert_weight(1, 20)
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, "Rollout progressing has been canceled"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-1")


def test_delete_mid_release_restores(release: GatewayRelease) -> None:
    r = release
    r.setup([{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"}, {"replicas": "100%"}])
    r.patch("version-2")
    r.assert_weight(1, 20)
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    wait_for(lambda: r.kc("-n", r.ns, "get", "rollouts.rollouts.kruise.io", "--ignore-not-found").strip(),
             lambda out: out == "", what="the Rollout gone (its finalizer removed after the cleanup)")
    r.wait_restored()


def test_canary_style_header_match_then_weight_then_restored(release: GatewayRelease) -> None:
    """The extra canary Deployment behind the canary Service: an A/B step, a weight step, then stable."""
    r = release
    r.setup([{"replicas": 1, "matches": [{"headers": [PC]}]}, {"replicas": "50%", "traffic": "50%"},
             {"replicas": "100%"}], canary_style=True)
    r.patch("version-2")
    r.at_step(1)
    canary_rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/apis/echo"}, "headers": [PC]}],
                   "backendRefs": [ref("echoserver-canary", 1)]}
    assert r.rules() == [*r.before["spec"]["rules"], canary_rule]
    r.approve()
    r.assert_weight(2, 50)
    assert len(r.rules()) == 2, "the A/B rule is gone once the weight step applies"
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()
