"""A ``kubernetes`` analysis check on the real control plane (issue #16 item 2b): no metrics stack.

kwok marks pods Ready and never restarts a container, so the test makes a canary pod "OOM-killed"
by patching its status subresource, as the kubelet would report it; the check lists the canary and
stable pods by ``pod-template-hash`` from the API server and compares them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Kubectl, ManagerProcess, wait_for
from tests.integration.canarytraffic.helpers import NAME, PTH, ROLLOUT, SERVICE, STEPS, CanaryTraffic, rollout_body
from tests.unit.trafficrouting.fakes import SEED_INGRESS

pytestmark = pytest.mark.integration

GROUP = "analysis.kruise-rollouts-py.io"
#: A passing verdict keeps measuring (``pass: Wait``), so the step stays in analysis until the canary fails.
TEMPLATE = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "pods"},
            "spec": {"checks": [{"name": "oom", "kubernetes": {"signal": "oomKilled"},
                                 "failureCondition": "result > 0", "intervalSeconds": 1, "count": 1}],
                     "actions": {"pass": "Wait"}}}


class Checked(CanaryTraffic):
    def setup_checked(self) -> None:
        for obj in (SERVICE, SEED_INGRESS, TEMPLATE):
            body = copy.deepcopy(obj)
            body["metadata"]["namespace"] = self.ns
            self.kc("apply", "-f", "-", input=yaml.safe_dump(body))
        body = rollout_body(self.ns, STEPS)
        body["metadata"]["annotations"] = {f"{GROUP}/template": "pods"}
        self.create(body)

    def run(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", f"analysisruns.{GROUP}", ROLLOUT)

    def canary_pod(self, pod_hash: str) -> dict[str, Any]:
        def pods() -> list[dict[str, Any]]:
            items = self.kc.json("-n", self.ns, "get", "pods", "-l", f"{PTH}={pod_hash}")["items"]
            return [p for p in items if (p.get("status") or {}).get("containerStatuses")]
        return wait_for(pods, bool, timeout=60, what="a canary pod with container statuses")[0]

    def oom_kill(self, pod: dict[str, Any]) -> None:
        statuses = copy.deepcopy(pod["status"]["containerStatuses"])
        for s in statuses:
            s["restartCount"] = 1
            s["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                             "startedAt": "2026-01-01T00:00:00Z", "finishedAt": "2026-01-01T00:00:01Z"}}
        self.kc("-n", self.ns, "patch", "pod", pod["metadata"]["name"], "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": {"containerStatuses": statuses}}))


@pytest.fixture
def c(manager: ManagerProcess, kc: Kubectl, namespace: str) -> Checked:
    return Checked(kc, namespace)


def test_an_oom_killed_canary_pod_fails_the_step_and_traffic_goes_back_to_stable(c: Checked) -> None:
    c.setup_checked()
    c.set_env("version2")
    ro = wait_for(c.rollout, lambda r: "metrics analysis pods is pass" in (r.get("status") or {}).get("message", ""),
                  timeout=90, what="the healthy canary measured and passing")
    assert "oom: pass, value 0" in ro["status"]["message"]
    pod_hash = ro["status"]["canaryStatus"]["podTemplateHash"]
    pod = c.canary_pod(pod_hash)
    c.oom_kill(pod)
    live = c.kc.json("-n", c.ns, "get", "pod", pod["metadata"]["name"])
    assert live["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled", \
        "kwok overwrote the patched container status"

    ro = wait_for(c.rollout, lambda r: "verdict fail (Rollback)" in (r.get("status") or {}).get("message", ""),
                  timeout=60, what="the OOM-killed canary failing the step")
    assert "oom: fail, value 1 (failureCondition 'result > 0')" in ro["status"]["message"]
    assert (ro["status"]["currentStepIndex"], ro["status"]["currentStepState"]) == (1, "StepPaused")
    wait_for(c.canary_annotations, lambda a: a is None, timeout=30, what="canary Ingress removed: traffic on stable")
    assert c.selector() == {"app": NAME, PTH: ro["status"]["canaryStatus"]["stableRevision"]}
    run = c.run()
    assert (run["status"]["verdict"], run["status"]["checks"][0]["lastValue"]) == ("fail", "1")
