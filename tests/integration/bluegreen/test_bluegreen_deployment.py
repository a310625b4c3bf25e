"""Blue-green release of a Deployment with the nginx Ingress (issue 13 item 1), on the real control plane.

The upstream e2e step table ``{50%, 0%}``, ``{100%, 0%}``, ``{100%, 50%}``, ``{100%, 100%}`` (manual
pauses): per step the pods of both sides, the canary Ingress weight, the Service selectors and
``blueGreenStatus``; then success, and off the happy path a rollback, a refused new version, disable
and delete. ``gracePeriodSeconds: 0`` keeps the module fast (grace waits are unit-tested).
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess, wait_for
from tests.integration.bluegreen.helpers import BlueGreen
from tests.integration.canarytraffic.helpers import Timeline
from tests.integration.release.test_canary_style import NAME, ROLLOUT

pytestmark = pytest.mark.integration

COMPLETED = ("Healthy", "4", "Completed", "Rollout progressing has been completed")
CANCELED = ("Healthy", None, None, "Rollout progressing has been canceled")
#: An HPA on the Deployment (no metrics server runs: it never scales by itself here).
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": NAME},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                "minReplicas": 5, "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": 80}}}]}}
REFUSED = "new version releasing detected in the progress of blue-green release, please rollback first"


@pytest.fixture
def c(manager: ManagerProcess, kc: Kubectl, namespace: str) -> BlueGreen:
    return BlueGreen(kc, namespace)


def hpa_target(c: BlueGreen) -> str:
    return c.kc("-n", c.ns, "get", "hpa.v2.autoscaling", NAME, "-o", "jsonpath={.spec.scaleTargetRef.name}").strip()


def test_step_table_then_success_hands_the_deployment_back(c: BlueGreen) -> None:
    c.setup()
    c.kc("-n", c.ns, "apply", "-f", "-", input=json.dumps(HPA))
    old = set(c.stable_pods())
    c.set_env("version2")
    bg = c.assert_step(1, "0", 3)  # 50% of 5 → 3 new pods beside the 5 old ones
    assert hpa_target(c) == f"{NAME}-DisableByRollout"  # batch-release.md §8.3: it cannot scale either side
    assert set(c.stable_pods()) >= old  # no old pod was replaced
    c.approve()  # the CLI writes blueGreenStatus.currentStepState (checked by the next step)
    assert c.assert_step(2, "0", 5)["podTemplateHash"] == bg["podTemplateHash"]
    c.fast_approve()
    c.assert_step(3, "50", 5)
    c.fast_approve()
    c.assert_step(4, "100", 5)
    c.fast_approve()
    c.wait_rollout(COMPLETED, timeout=90)
    c.wait_sides({bg["podTemplateHash"]: 5})  # the old side scaled away by the Deployment controller
    c.wait_restored()
    c.assert_handed_back_as_before()
    wait_for(c.stable_pods, lambda pods: set(pods.values()) == {"version2"} and len(pods) == 5, what="5 on v2")
    assert hpa_target(c) == NAME
    st = c.rollout()["status"]
    assert st["blueGreenStatus"]["currentStepState"] == "Completed" and "canaryStatus" not in st
    assert c.batch_releases() == []


def test_rollback_moves_traffic_back_before_new_pods_go(c: BlueGreen) -> None:
    c.setup()
    c.set_env("version2")
    c.assert_step(1, "0", 3)
    c.fast_approve()
    c.assert_step(2, "0", 5)
    c.fast_approve()
    bg = c.assert_step(3, "50", 5)
    stable_pods = {n for n, v in c.stable_pods().items() if v == "version1"}
    with Timeline(c) as t:
        c.set_env("version1")
        c.wait_rollout(CANCELED)
        c.wait_restored()
        c.wait_sides({bg["stableRevision"]: 5})
    ingress_gone = t.first(lambda s: not s.canary_ingress)
    assert ingress_gone is not None
    new_pods_gone = wait_for(c.sides, lambda s: bg["podTemplateHash"] not in s, what="new side gone")
    assert bg["podTemplateHash"] not in new_pods_gone
    c.assert_handed_back_as_before()
    assert {n for n, v in c.stable_pods().items() if v == "version1"} == stable_pods  # old pods kept


def test_new_version_mid_release_is_refused_then_disable_restores_everything(c: BlueGreen) -> None:
    c.setup()
    c.set_env("version2")
    bg = c.assert_step(1, "0", 3)
    c.set_env("version3")
    wait_for(c.rollout, lambda ro: ro["status"].get("message") == REFUSED, what="continuous release refused")
    assert c.stable()["spec"]["paused"] is True  # the workload webhook froze version3
    assert c.sides() == {bg["stableRevision"]: 5, bg["podTemplateHash"]: 3}
    c.kc("-n", c.ns, "patch", ROLLOUT_RESOURCE, ROLLOUT, "--type=merge", "-p", '{"spec":{"disabled":true}}')
    c.wait_rollout(("Disabled", None, None, "Rollout is disabled"))
    c.wait_restored()
    c.assert_handed_back_as_before()
    wait_for(c.stable_pods, lambda pods: set(pods.values()) == {"version3"} and len(pods) == 5, what="5 on v3")


def test_delete_mid_release_restores_everything(c: BlueGreen) -> None:
    c.setup()
    c.set_env("version2")
    c.assert_step(1, "0", 3)
    c.kc("-n", c.ns, "delete", ROLLOUT_RESOURCE, ROLLOUT, "--wait=true", "--timeout=90s")
    c.wait_restored()
    c.assert_handed_back_as_before()
    wait_for(c.stable_pods, lambda pods: set(pods.values()) == {"version2"} and len(pods) == 5, what="5 on v2")
    assert c.kc("-n", c.ns, "get", "deploy", NAME, "-o", "jsonpath={.spec.paused}").strip() in ("", "false")
