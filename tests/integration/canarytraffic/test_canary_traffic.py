"""Canary style with traffic (issue 11, items 5 and 6 for Deployment), off the happy path, on the
real control plane: rollback, continuous release, delete, disable, a failing image, scaling,
``spec.strategy.paused`` and step jumps. The kill-at-every-step test is in test_killed_every_step.py.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.canarytraffic.helpers import (
    COMPLETED,
    NAME,
    ROLLOUT,
    CanaryTraffic,
    P,
    Timeline,
    wait_status,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def c(manager: ManagerProcess, kc: Kubectl, namespace: str) -> CanaryTraffic:
    return CanaryTraffic(kc, namespace)


def at_step_two(c: CanaryTraffic) -> str:
    c.setup()
    c.set_env("version2")
    first = c.assert_step(1, "20", 1)
    c.approve()
    assert c.assert_step(2, "60", 3) == first  # one canary Deployment, scaled up
    return first


def test_rollback_at_step_two_removes_the_canary_ingress_first_and_keeps_the_stable_pods(c: CanaryTraffic) -> None:
    c.setup()
    stable_pods = c.stable_pods()
    c.set_env("version2")
    c.assert_step(1, "20", 1)
    c.approve()
    c.assert_step(2, "60", 3)
    with Timeline(c) as t:
        c.set_env("version1")
        c.wait_rollout(("Healthy", None, None, "Rollout progressing has been canceled"))
        c.wait_restored()
    ingress_gone = t.first(lambda s: not s.canary_ingress)
    service_gone = t.first(lambda s: not s.canary_service)
    canary_gone = t.first(lambda s: not s.canaries)
    assert ingress_gone is not None and service_gone is not None and canary_gone is not None
    # rollout-lifecycle.md §8: traffic back to the stable pods before anything else goes
    assert ingress_gone < service_gone and ingress_gone <= canary_gone, t.samples
    assert not any(s.canary_service and not s.canaries and s.canary_ingress for s in t.samples)
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
    assert c.stable_pods() == stable_pods  # not recreated
    (succeeded,) = [x for x in c.rollout()["status"]["conditions"] if x["type"] == "Succeeded"]
    assert succeeded["status"] == "False"


def test_continuous_release_v2_to_v3_at_step_two_restarts_on_a_fresh_canary(c: CanaryTraffic) -> None:
    first = at_step_two(c)
    v2 = c.rollout()["status"]["canaryStatus"]["podTemplateHash"]
    stable_selector = c.selector()
    with Timeline(c) as t:
        c.set_env("version3")
        wait_status(c, lambda st: (st.get("canaryStatus") or {}).get("podTemplateHash") not in (None, "", v2)
                    and st["canaryStatus"].get("currentStepState") == "StepPaused", "version3 paused at step 1")
        second = c.assert_step(1, "20", 1)
    assert second != first
    assert len(c.canaries()) == 1
    (env,) = [d["spec"]["template"]["spec"]["containers"][0]["env"] for d in c.canaries()]
    assert {"name": "NODE_NAME", "value": "version3"} in env
    assert c.selector() == stable_selector  # the stable Service stayed pinned to version1
    assert max(len(s.canaries) for s in t.samples) == 1, [s.canaries for s in t.samples if len(s.canaries) > 1]
    c.approve()
    c.assert_step(2, "60", 3)
    c.approve()
    c.wait_rollout(COMPLETED, timeout=120)
    c.wait_restored()
    wait_for(c.stable_pods, lambda pods: set(pods.values()) == {"version3"} and len(pods) == 5, what="5 on v3")


@pytest.mark.parametrize("how", ["delete", "disable"])
def test_delete_or_disable_mid_release_restores_everything(c: CanaryTraffic, how: str) -> None:
    at_step_two(c)
    if how == "delete":
        c.kc("-n", c.ns, "delete", ROLLOUT_RESOURCE, ROLLOUT, "--wait=true", "--timeout=90s")
    else:
        c.kc("-n", c.ns, "patch", ROLLOUT_RESOURCE, ROLLOUT, "--type=merge", "-p", '{"spec":{"disabled":true}}')
        c.wait_rollout(("Disabled", None, None, "Rollout is disabled"))
    c.wait_restored()
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
    wait_for(c.stable_pods, lambda pods: set(pods.values()) == {"version2"} and len(pods) == 5,
             what="the unpaused stable Deployment rolled natively to version2")


def test_a_failing_canary_is_stuck_in_step_upgrade_and_gets_no_traffic(c: CanaryTraffic) -> None:
    c.setup()
    with Timeline(c) as t:
        c.set_env("version2", image="busybox:failed")
        c.wait_rollout(("Progressing", "1", "StepUpgrade", "Rollout is in step(1/3), and upgrade workload to new "
                                                           "version"))
        why = re.compile(rf"canary Deployment {NAME}-[a-z0-9]{{5}}: 0 of 1 pods available, 1 created "
                         r"\(updated ready 0 < desired 1 \(failureThreshold 0\)\)")
        wait_status(c, lambda st: bool(why.search((st.get("canaryStatus") or {}).get("message") or "")),
                    "the readiness message naming the canary Deployment")
        c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("0/1", "1", "0")})
        c.wait_rollout(("Progressing", "1", "StepUpgrade", None))
    weights = {s.weight for s in t.samples}
    assert weights <= {None, "0"}, weights  # no traffic was ever shifted to the failing pods


def test_scaling_the_stable_up_mid_release_keeps_weights_and_never_shrinks_the_canary(c: CanaryTraffic) -> None:
    at_step_two(c)
    with Timeline(c) as t:
        c.kc("-n", c.ns, "scale", "deploy", NAME, "--replicas=10")
        c.wait_deploys({NAME: ("10/10", "0", "10"), "canary": ("6/6", "6", "6")})  # 60% of 10
        c.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    sizes = [max(s.canaries.values()) for s in t.samples if s.canaries]
    assert sizes == sorted(sizes) and sizes[0] >= 3, sizes
    assert {s.weight for s in t.samples} == {"60"}
    assert c.canary_annotations() == {P + "canary": "true", P + "canary-weight": "60"}


def test_paused_halts_resume_continues_and_a_step_jump_lands_on_its_weight(c: CanaryTraffic) -> None:
    steps = [{"traffic": f"{20 * i}%", "replicas": i, "pause": {}} for i in range(1, 5)] + [
        {"replicas": "100%", "pause": {}}]
    c.setup(steps)
    c.set_env("version2")
    c.assert_step(1, "20", 1, total=5)
    c.kc("-n", c.ns, "patch", ROLLOUT_RESOURCE, ROLLOUT, "--type=merge", "-p", '{"spec":{"strategy":{"paused":true}}}')
    c.wait_rollout(("Progressing", "1", None, "Rollout has been paused, you can resume it by kube-cli"))
    with Timeline(c) as t:
        c.approve()
        for _ in range(4):  # held: several reconciles (3 s requeues) change nothing
            c.wait_rollout(("Progressing", "1", None, "Rollout has been paused, you can resume it by kube-cli"),
                           timeout=5)
        assert c.rollout()["status"]["canaryStatus"]["currentStepIndex"] == 1
    assert {s.weight for s in t.samples} == {"20"} and {tuple(s.canaries.values()) for s in t.samples} == {(1,)}
    c.kc("-n", c.ns, "patch", ROLLOUT_RESOURCE, ROLLOUT, "--type=merge",
         "-p", '{"spec":{"strategy":{"paused":false}}}')
    c.assert_step(2, "40", 2, total=5)
    # a jump by the status edit (rollout-lifecycle.md §6.6) from step 2 over step 3 to step 4
    body = json.dumps({"status": {"canaryStatus": {"nextStepIndex": 4}}})
    c.kc("-n", c.ns, "patch", "rollouts.v1beta1.rollouts.kruise.io", ROLLOUT, "--subresource=status",
         "--type=merge", "-p", body)
    c.assert_step(4, "80", 4, total=5)
    c.approve()
    c.wait_rollout(("Healthy", "5", "Completed", "Rollout progressing has been completed"), timeout=120)
    c.wait_restored()


def test_a_jump_back_to_step_one_restores_its_weight_and_keeps_the_canary_size(c: CanaryTraffic) -> None:
    """rollout-lifecycle.md §6.6 backwards: the weight returns to step 1's; the canary Deployment is
    never scaled down within a release (batch-release.md §7), so its 3 pods stay."""
    at_step_two(c)
    with Timeline(c) as t:
        c.kc("-n", c.ns, "patch", "rollouts.v1beta1.rollouts.kruise.io", ROLLOUT, "--subresource=status",
             "--type=merge", "-p", json.dumps({"status": {"canaryStatus": {"nextStepIndex": 1}}}))
        c.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
        wait_for(c.canary_annotations, lambda a: a == {P + "canary": "true", P + "canary-weight": "20"},
                 what="step 1's weight back on the canary Ingress")
    assert {tuple(s.canaries.values()) for s in t.samples} == {(3,)}, [s.canaries for s in t.samples]
    c.approve()
    c.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    assert c.canary_annotations() == {P + "canary": "true", P + "canary-weight": "60"}
