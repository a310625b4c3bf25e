"""Canary releases through the Lua-scripted Ingress classes, on the real control plane with the real manager.

No ingress controller runs (as upstream's e2e): the tests read the ``<ingress>-canary`` Ingress's
annotations at every paused step, and after finish / rollback / Rollout deletion check that the
stable Service and Ingress equal their pre-release form and the canary objects are gone. Classes:
aliyun-alb with the ConfigMap "conditions" script of lua-contract.md §4.5, the shipped higress and
mse scripts (mse with an A/B header step and requestHeaderModifier), and a class whose ConfigMap
script is broken, then fixed while the release waits.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.luaingress.conftest import Scripts
from tests.integration.rollouttraffic.test_traffic_release import (
    COMPLETED,
    PODS,
    PTH,
    SERVICE,
    TrafficRelease,
    deployment,
)
from tests.integration.workloads.helpers import rollout_body
from tests.unit.trafficrouting.fakes import SEED_INGRESS

pytestmark = pytest.mark.integration

N, A, M = "nginx.ingress.kubernetes.io/", "alb.ingress.kubernetes.io/", "mse.ingress.kubernetes.io/"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ALB_CONDITIONS = (Path(__file__).parents[3] / "docs/examples/aliyun-alb-conditions.lua").read_text()
CM = "ConfigMap kruise-rollout/kruise-rollout-configuration key lua.traffic.routing.ingress."


class LuaRelease(TrafficRelease):
    """TrafficRelease with an Ingress ``classType`` and stable Ingress annotations of the test's choosing."""

    def setup_class(self, class_type: str, steps: list[Any], annotations: dict[str, str] | None = None) -> None:
        ingress = copy.deepcopy(SEED_INGRESS)
        ingress["metadata"]["annotations"] = dict(annotations or {})
        for obj in (copy.deepcopy(SERVICE), ingress):
            self.apply(obj)
        self.apply(deployment())
        self.wait_versions(PODS, PODS, "version-1")
        body = rollout_body(self.ns, "apps/v1", "Deployment", steps=steps)
        body["spec"]["strategy"]["canary"]["trafficRoutings"] = [
            {"service": "echoserver", "ingress": {"name": "echoserver", "classType": class_type},
             "gracePeriodSeconds": 1}]
        self.apply(body)
        self.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
        self.before = self.snapshot()

    def canary_annotations(self) -> dict[str, str]:
        ing = self.get("ingress", "echoserver-canary")
        assert ing is not None, "canary Ingress missing"
        return {k: v for k, v in (ing["metadata"].get("annotations") or {}).items() if k != LAST_APPLIED}

    def at_step(self, step: int, want: dict[str, str]) -> None:
        """Paused at ``step`` with exactly ``want`` as the canary Ingress's annotations."""
        self.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step)))
        assert self.canary_annotations() == want

    def finish(self, last_step: int) -> None:
        """Approve the last paused step: completed, everything restored, every pod on version-2."""
        self.approve()
        self.wait_rollout((*COMPLETED[:1], str(last_step), *COMPLETED[2:]))
        self.wait_restored()
        self.wait_versions(PODS, PODS, "version-2")


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> LuaRelease:
    return LuaRelease(kc, namespace, "deployment")


def test_aliyun_alb_through_the_configmap_conditions_script(release: LuaRelease, scripts: Scripts) -> None:
    r = release
    scripts.set("aliyun-alb", ALB_CONDITIONS)
    headers = [{"name": "Cookie", "value": "demo1=value1;demo2=value2"},
               {"name": "SourceIp", "value": "192.168.0.0/16;172.16.0.0/16"},
               {"name": "headername", "value": "headervalue1;headervalue2"}]
    steps = [{"traffic": "20%", "replicas": 1}, {"matches": [{"headers": headers}], "replicas": 2},
             {"replicas": "100%"}]
    protocols = {A + "backend-svcs-protocols": '{"echoserver":"http"}'}
    r.setup_class("aliyun-alb", steps, protocols)
    r.patch("version-2")
    r.at_step(1, {**protocols, A + "canary": "true", A + "canary-weight": "20"})
    r.approve()
    r.at_step(2, {A + "canary": "true", A + "backend-svcs-protocols": '{"echoserver-canary":"http"}',
                  A + "conditions.echoserver-canary":
                      '[{"cookieConfig":{"values":[{"key":"demo1","value":"value1"},{"key":"demo2","value":"value2"}]},'
                      '"type":"Cookie"},{"sourceIpConfig":{"values":["192.168.0.0/16","172.16.0.0/16"]},'
                      '"type":"SourceIp"},{"headerConfig":{"key":"headername","values":["headervalue1",'
                      '"headervalue2"]},"type":"Header"}]'})
    r.finish(3)


def test_higress_weights_then_finish(release: LuaRelease) -> None:
    r = release
    r.setup_class("higress", [{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"},
                              {"replicas": "100%"}])
    r.patch("version-2")
    r.at_step(1, {N + "canary": "true", N + "canary-weight": "20"})
    r.approve()
    r.at_step(2, {N + "canary": "true", N + "canary-weight": "50"})
    r.finish(3)


MSE_STEPS = [{"replicas": 1, "matches": [{"headers": [{"name": "user-agent", "type": "Exact", "value": "pc"}]}],
              "requestHeaderModifier": {"set": [{"name": "gray", "value": "blue"}]}},
             {"traffic": "50%", "replicas": "50%"}, {"replicas": "100%"}]
MSE_STEP_1 = {M + "service-subset": "gray", N + "canary": "true", N + "canary-by-header": "user-agent",
              N + "canary-by-header-value": "pc", M + "request-header-control-update": "gray blue"}


def test_mse_ab_header_step_with_request_header_modifier_then_finish(release: LuaRelease) -> None:
    r = release
    r.setup_class("mse", MSE_STEPS, {M + "service-subset": "base"})
    r.patch("version-2")
    r.at_step(1, MSE_STEP_1)
    r.approve()
    # mse.lua never clears request-header-control-update (upstream's script, lua-contract.md §4.4)
    r.at_step(2, {M + "service-subset": "gray", N + "canary": "true", N + "canary-weight": "50",
                  M + "request-header-control-update": "gray blue"})
    r.finish(3)


def test_higress_rollback_mid_release_restores(release: LuaRelease) -> None:
    r = release
    r.setup_class("higress", [{"traffic": "20%", "replicas": 1}, {"replicas": "100%"}])
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1, 2)))
    assert r.canary_annotations() == {N + "canary": "true", N + "canary-weight": "20"}
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, "Rollout progressing has been canceled"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-1")


def test_mse_rollout_deleted_mid_release_restores(release: LuaRelease) -> None:
    r = release
    r.setup_class("mse", MSE_STEPS, {M + "service-subset": "base"})
    r.patch("version-2")
    r.at_step(1, MSE_STEP_1)
    cs = r.rollout()["status"]["canaryStatus"]
    assert r.selector() == {"app": "demo", PTH: cs["stableRevision"]}
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    wait_for(lambda: r.get("rollouts.rollouts.kruise.io", "rollouts-demo"), lambda ro: ro is None,
             what="the Rollout gone (its finalizer removed after the cleanup)")
    r.wait_restored()  # stable selector back to {app: demo}, canary Ingress and Service gone


def test_a_broken_configmap_script_holds_the_release_until_fixed(release: LuaRelease, scripts: Scripts) -> None:
    r = release
    scripts.set("custom-broken", 'error("no such annotation scheme")')
    r.setup_class("custom-broken", [{"traffic": "20%", "replicas": 1}, {"replicas": "100%"}])
    r.patch("version-2")
    message = wait_for(lambda: r.rollout().get("status", {}).get("message", ""),
                       lambda m: CM + "custom-broken" in m, what="the status naming the broken script")
    assert "no such annotation scheme" in message, message
    assert r.canary_objects() == []  # nothing written
    scripts.set("custom-broken", 'local a = obj.annotations or {}\na["example.com/weight"] = obj.weight\nreturn a')
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1, 2)), timeout=30)
    assert r.canary_annotations() == {"example.com/weight": "20"}
