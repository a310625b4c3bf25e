"""``kubectl kruise describe rollout`` mid-release, and the Argo CD health script on live Rollouts.

The seed's multi-batch release (v1alpha1 ``rollouts-demo``, partition style, steps 1 / 50% / 100%)
is driven through: created (Healthy), step 1 waiting for approval, step 2, paused by the user,
rolled back (quick rollback: Cancelling), disabled. At each state the Rollout is read in both
versions and ``deploy/argocd/health.lua`` must give the expected Argo CD status on the live object.

With ``KRUISE_CAPTURE_ARGOCD_FIXTURES=1`` the objects read are also written to
``tests/unit/argocd/fixtures/`` (that is how those fixtures were made; managedFields dropped).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests import argocd_lua
from tests.e2e.harness import KUBECTL, Kubectl, ManagerProcess, manifest, wait_for

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "argocd" / "fixtures"
CAPTURE = os.environ.get("KRUISE_CAPTURE_ARGOCD_FIXTURES") == "1"
NAME = "rollouts-demo"


def patch_version(kc: Kubectl, ns: str, version: str) -> None:
    env = [{"name": "VERSION", "value": version}]
    body = {"spec": {"template": {"spec": {"containers": [{"name": "busybox", "env": env}]}}}}
    kc("-n", ns, "patch", "deployment", "workload-demo", "-p", json.dumps(body))


def read(kc: Kubectl, ns: str, version: str) -> dict[str, Any]:
    obj = kc.json("-n", ns, "get", f"rollouts.{version}.rollouts.kruise.io", NAME)
    obj["metadata"].pop("managedFields", None)
    return obj


def status_of(kc: Kubectl, ns: str) -> dict[str, Any]:
    return read(kc, ns, "v1beta1").get("status") or {}


def progressing_reason(obj: dict[str, Any]) -> str:
    conds = (obj.get("status") or {}).get("conditions") or []
    return next((c.get("reason", "") for c in conds if c.get("type") == "Progressing"), "")


def check_state(kc: Kubectl, ns: str, label: str, expected: str, objs: dict[str, dict] | None = None) -> None:
    """Both versions of the live Rollout get ``expected`` from health.lua (and are saved if capturing)."""
    objs = objs or {v: read(kc, ns, v) for v in ("v1alpha1", "v1beta1")}
    for version, obj in objs.items():
        status, message = argocd_lua.health(obj)
        assert status == expected, f"{label} {version}: {status} {message!r}\n{json.dumps(obj.get('status'))}"
        if CAPTURE:
            (FIXTURES / f"{label}.{version}.json").write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def describe(kc: Kubectl, ns: str) -> str:
    return kc("kruise", "describe", "rollout", NAME, "-n", ns)


class Watcher:
    """``kubectl kruise describe rollout -w`` in the background, its output collected."""

    def __init__(self, kc: Kubectl, ns: str) -> None:
        self.proc = subprocess.Popen([KUBECTL, "kruise", "describe", "rollout", NAME, "-n", ns, "-w"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=kc.env)
        self.output = ""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output += line

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_describe_and_argocd_health_through_a_release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    ns = namespace
    kc("apply", "-f", "-", input=manifest("workload-demo.yaml", ns))
    kc("apply", "-f", "-", input=manifest("rollouts-demo.yaml", ns))
    wait_for(lambda: status_of(kc, ns), lambda s: s.get("phase") == "Healthy"
             and s.get("currentStepState") == "Completed", what="Healthy after creation")
    check_state(kc, ns, "healthy", "Healthy")

    patch_version(kc, ns, "version-2")
    wait_for(lambda: status_of(kc, ns), lambda s: s.get("currentStepState") == "StepPaused"
             and s.get("currentStepIndex") == 1 and s["canaryStatus"].get("canaryReadyReplicas") == 1,
             timeout=90, what="step 1 waiting for approval")
    check_state(kc, ns, "paused-step1", "Suspended")
    view = wait_for(lambda: describe(kc, ns), lambda out: "upgrade step(1) canary pods" in out
                    and "canary 1 (1 ready), stable 9 (9 ready)" in out, what="describe at step 1")
    assert "Workload:    Deployment/workload-demo (replicas 10, updated 1, ready 10)" in view
    assert "Step:        1/3 StepPaused" in view
    assert "  ->    1. replicas 1, approve to continue  [StepPaused]" in view
    assert "        2. replicas 50%, approve to continue" in view
    assert "Traffic:     no trafficRoutings" in view
    assert "Progressing  True    InRolling" in view

    watcher = Watcher(kc, ns)
    try:
        wait_for(lambda: watcher.output, lambda out: "[StepPaused]" in out, what="describe -w first view")
        kc("kruise", "rollout", "approve", f"rollout/{NAME}", "-n", ns)
        step2 = "  ->    2. replicas 50%, approve to continue  [StepPaused]"
        wait_for(lambda: watcher.output, lambda out: step2 in out and "canary 5 (5 ready), stable 5 (5 ready)" in out,
                 timeout=90, what="describe -w re-rendered at step 2")
        assert "  done  1. replicas 1" in watcher.output.rsplit("-" * 40, 1)[-1]
    finally:
        watcher.stop()

    kc("kruise", "rollout", "pause", f"rollout/{NAME}", "-n", ns)
    wait_for(lambda: progressing_reason(read(kc, ns, "v1beta1")), lambda r: r == "Paused", what="reason Paused")
    check_state(kc, ns, "paused-by-user", "Suspended")
    kc("kruise", "rollout", "resume", f"rollout/{NAME}", "-n", ns)
    wait_for(lambda: progressing_reason(read(kc, ns, "v1beta1")), lambda r: r == "InRolling", what="resumed")

    patch_version(kc, ns, "version-1")  # back to the stable template: a quick rollback (Cancelling)
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        beta = read(kc, ns, "v1beta1")
        if progressing_reason(beta) == "Cancelling" and "v1beta1" not in seen:
            seen["v1beta1"] = beta
            alpha = read(kc, ns, "v1alpha1")
            if progressing_reason(alpha) == "Cancelling":
                seen["v1alpha1"] = alpha
        if (beta.get("status") or {}).get("phase") == "Healthy":
            break
        time.sleep(0.05)
    assert status_of(kc, ns)["message"] == "Rollout progressing has been canceled"
    if seen:  # the Cancelling state lasts about one reconcile round; checked whenever it was caught
        check_state(kc, ns, "rolling-back", "Progressing", seen)
    check_state(kc, ns, "healthy-after-rollback", "Healthy")

    kc("-n", ns, "patch", f"rollouts.v1beta1.rollouts.kruise.io/{NAME}", "--type=merge", "-p",
       '{"spec":{"disabled":true}}')
    wait_for(lambda: status_of(kc, ns).get("phase"), lambda p: p == "Disabled", what="Disabled")
    check_state(kc, ns, "disabled", "Healthy")
    assert "(spec.disabled)" in describe(kc, ns)
