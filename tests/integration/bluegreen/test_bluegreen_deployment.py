"""Blue-green release of a Deployment with the nginx Ingress (issue 13 item 1), on the real control plane.

The upstream e2e step table ``{50%, 0%}``, ``{100%, 0%}``, ``{100%, 50%}``, ``{100%, 100%}`` (manual
pauses): per step the pods of both sides, the canary Ingress weight, the Service selectors and
``blueGreenStatus``; then success, and off the happy path a rollback, a refused new version, disable
and delete. ``gracePeriodSeconds: 0`` keeps the module fast (grace waits are unit-tested).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess, wait_for
from tests.integration.bluegreen.helpers import PTH, BlueGreen, RollbackTimeline
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


#: (step, canary Ingress weight, new pods) of :data:`helpers.STEPS` on 5 replicas.
TABLE = [(1, "0", 3), (2, "0", 5), (3, "50", 5), (4, "100", 5)]


def advance_to(c: BlueGreen, step: int) -> dict[str, Any]:
    """Release version2 and approve up to ``step``; the ``blueGreenStatus`` paused there."""
    c.set_env("version2")
    bg: dict[str, Any] = {}
    for at, weight, new in TABLE[:step]:
        if at > 1:
            c.fast_approve()
        bg = c.assert_step(at, weight, new)
    return bg


@pytest.mark.parametrize("step", [1, 2, 3, 4])
def test_rollback_at_each_step_moves_traffic_back_before_new_pods_go(c: BlueGreen, step: int) -> None:
    c.setup()
    bg = advance_to(c, step)
    old_pods = {n for n, v in c.stable_pods().items() if v == "version1"}
    assert len(old_pods) == 5
    with RollbackTimeline(c, bg["podTemplateHash"]) as t:
        c.set_env("version1")
        c.wait_rollout(CANCELED)
        c.wait_restored()
        c.wait_sides({bg["stableRevision"]: 5})
    assert t.samples, "the rollback was never sampled"
    new_at_step = TABLE[step - 1][2]
    going = [s for s in t.samples if s.new_replicas < new_at_step]
    assert going and going[-1].new_replicas == 0, t.samples[-3:]
    # traffic-routing.md §7: the gateway is restored before the workload resumes; no new pod goes
    # while the canary Ingress still sends it traffic, and the stable Service never selects the new side
    assert [s for s in going if s.weight is not None] == [], going[:3]
    assert all(s.selector.get(PTH) in (None, bg["stableRevision"]) for s in t.samples), t.samples[-3:]
    assert t.samples[-1].selector == {"app": NAME} and t.samples[-1].weight is None
    if step >= 3:  # the canary Ingress had a weight when the rollback began
        assert t.samples[0].weight == TABLE[step - 1][1], t.samples[0]
    c.assert_handed_back_as_before()
    assert set(c.stable_pods()) == old_pods  # the old pods kept, every pod on version1
    assert set(c.stable_pods().values()) == {"version1"}
    assert c.batch_releases() == []


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
