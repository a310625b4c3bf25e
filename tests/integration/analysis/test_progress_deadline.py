"""The step progress deadline on the real control plane (issue #16 item 5).

The release's canary pods ask for a node no kwok node matches, so they stay Pending and step 1 stays
in ``StepUpgrade``; with a 3 s deadline the Rollout gets ``Stalled``/``ProgressDeadlineExceeded`` and
a Warning Event, and (action ``none``) nothing else changes. Dropping the nodeSelector (a new release)
moves the step on and clears the condition. With ``progress-deadline-action: pause`` the stalled step
is held in ``StepPaused`` until approved.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, ManagerProcess, wait_for
from tests.integration.canarytraffic.helpers import NAME, ROLLOUT, SERVICE, STEPS, CanaryTraffic, rollout_body
from tests.unit.trafficrouting.fakes import SEED_INGRESS

pytestmark = pytest.mark.integration

ANNOTATION = "analysis.kruise-rollouts-py.io/progress-deadline-seconds"
ACTION = "analysis.kruise-rollouts-py.io/progress-deadline-action"
#: A new version whose pods ask for a node no kwok node matches: they stay Pending.
PIN = {"spec": {"template": {"spec": {"nodeSelector": {"kruise-rollouts-py.io/no-such-node": "x"},
                                      "containers": [{"name": NAME, "env": [{"name": "VERSION", "value": "v2"}]}]}}}}


def _stalled(ro: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in (ro.get("status") or {}).get("conditions") or [] if c["type"] == "Stalled"), None)


@pytest.fixture
def c(manager: ManagerProcess, kc: Kubectl, namespace: str) -> CanaryTraffic:
    return CanaryTraffic(kc, namespace)


def test_a_step_whose_pods_never_become_ready_is_stalled_and_clears_when_it_moves_on(c: CanaryTraffic) -> None:
    for obj in (SERVICE, SEED_INGRESS):
        seed = copy.deepcopy(obj)
        seed["metadata"]["namespace"] = c.ns
        c.kc("apply", "-f", "-", input=yaml.safe_dump(seed))
    body = rollout_body(c.ns, STEPS)
    body["metadata"]["annotations"] = {ANNOTATION: "3"}
    c.create(body)
    c.kc("-n", c.ns, "patch", "deployment", NAME, "-p", json.dumps(PIN))
    ro = wait_for(c.rollout, lambda r: _stalled(r) is not None, timeout=60, what="Stalled condition")
    cond = _stalled(ro)
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "ProgressDeadlineExceeded")
    assert cond["message"].startswith("step 1 has been in StepUpgrade since ")
    assert "past the progress deadline of 3s; waiting for the batch's pods to be ready: 0 of" in cond["message"]
    assert (ro["status"]["phase"], ro["status"]["currentStepState"]) == ("Progressing", "StepUpgrade")
    events = c.kc.json("-n", c.ns, "get", "events", "--field-selector", "involvedObject.kind=Rollout")["items"]
    assert [e["type"] for e in events if e["reason"] == "ProgressDeadlineExceeded"] == ["Warning"]

    unpin = {"spec": {"template": {"spec": {"nodeSelector": None}}}}
    c.kc("-n", c.ns, "patch", "deployment", NAME, "--type=merge", "-p", json.dumps(unpin))
    ro = wait_for(c.rollout, lambda r: (r.get("status") or {}).get("currentStepState") == "StepPaused",
                  timeout=90, what="step 1 paused after the pods became ready")
    assert _stalled(ro) is None


def test_the_pause_action_holds_the_stalled_step_for_a_human_and_a_bad_action_is_refused(c: CanaryTraffic) -> None:
    for obj in (SERVICE, SEED_INGRESS):
        seed = copy.deepcopy(obj)
        seed["metadata"]["namespace"] = c.ns
        c.kc("apply", "-f", "-", input=yaml.safe_dump(seed))
    body = rollout_body(c.ns, STEPS)
    body["metadata"]["annotations"] = {ANNOTATION: "3", ACTION: "pause"}
    c.create(body)
    with pytest.raises(AssertionError) as refused:
        c.kc("-n", c.ns, "annotate", "rollout", ROLLOUT, f"{ACTION}=stop", "--overwrite")
    assert f'metadata.annotations[{ACTION}]: Invalid value: "stop": must be one of none, pause, rollback' \
        in str(refused.value), refused.value
    c.kc("-n", c.ns, "patch", "deployment", NAME, "-p", json.dumps(PIN))

    ro = wait_for(c.rollout, lambda r: _stalled(r) is not None and r["status"].get("currentStepState") == "StepPaused",
                  timeout=60, what="step 1 stalled and paused by the deadline action")
    cond = _stalled(ro)
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "ProgressDeadlineExceeded")
    assert cond["message"].startswith("step 1 has been in StepUpgrade since ")
    assert "progress-deadline-action pause: the step is paused" in cond["message"]
    assert ro["status"]["message"] == f"Rollout is in step(1/3), held by the progress deadline: {cond['message']}"
    c.approve()  # the human: as on any paused step
    ro = wait_for(c.rollout, lambda r: r["status"].get("currentStepIndex") == 2, timeout=30,
                  what="step 2 after approve")
    assert not (_stalled(ro) or {}).get("message", "").startswith("step 1 ")  # step 1's hold is gone with it
