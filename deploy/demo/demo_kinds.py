"""``make demo KIND=<kind>``: the seed's multi-batch release (1 / 50% / 100%) for the other kinds.

KIND: ``statefulset``, ``daemonset`` (native, on 10 kwok nodes), and — on a local cluster with the
real OpenKruise kruise-manager — ``cloneset``, ``advanced-statefulset``, ``advanced-daemonset``.
Called by ``run.py`` (which owns the Deployment walkthrough, the cluster and manager start-up).
"""

from __future__ import annotations

import json
from typing import Any

from shell import DemoShell

KRUISE = "apps.kruise.io"


def _template() -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "busybox", "image": "busybox:1.28.3",
                                     "command": ["/bin/sh", "-c", "sleep 100d"],
                                     "env": [{"name": "VERSION", "value": "version-1"}]}],
                     "terminationGracePeriodSeconds": 0, "tolerations": [{"operator": "Exists"}]}}


def _spec(replicas: bool = True, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "demo"}}, "template": _template(), **extra}
    if replicas:
        spec["replicas"] = 10
    return spec


#: KIND → (apiVersion, kind, kubectl resource, spec, needs OpenKruise)
KINDS: dict[str, tuple[str, str, str, dict[str, Any], bool]] = {
    "statefulset": ("apps/v1", "StatefulSet", "statefulset",
                    _spec(serviceName="workload-demo", podManagementPolicy="Parallel"), False),
    "daemonset": ("apps/v1", "DaemonSet", "daemonset", _spec(replicas=False), False),
    "cloneset": (f"{KRUISE}/v1alpha1", "CloneSet", f"clonesets.{KRUISE}", _spec(updateStrategy={"type": "ReCreate"}),
                 True),
    "advanced-statefulset": (f"{KRUISE}/v1beta1", "StatefulSet", f"statefulsets.{KRUISE}",
                             _spec(serviceName="workload-demo", podManagementPolicy="Parallel",
                                   updateStrategy={"type": "RollingUpdate",
                                                   "rollingUpdate": {"podUpdatePolicy": "ReCreate"}}), True),
    "advanced-daemonset": (f"{KRUISE}/v1alpha1", "DaemonSet", f"daemonsets.{KRUISE}", _spec(replicas=False), True),
}


def needs_openkruise(kind: str) -> bool:
    return KINDS[kind][4]


class KindDemo(DemoShell):
    def __init__(self, kubeconfig: str, kind: str) -> None:
        super().__init__(kubeconfig)
        self.api_version, self.kind, self.resource, self.spec, _ = KINDS[kind]


    def state(self) -> str:
        return self.run("get", "rollouts.rollouts.kruise.io", "rollouts-demo", "-o",
                        "jsonpath={.status.phase}/{.status.currentStepIndex}/{.status.currentStepState}", show=False)

    def versions(self) -> tuple[int, int]:
        """(ready pods, ready pods on version-2)."""
        pods = json.loads(self.run("get", "pods", "-l", "app=demo", "-o", "json", show=False))["items"]
        ready = [p for p in pods if not p["metadata"].get("deletionTimestamp") and any(
            c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])]
        new = sum(1 for p in ready if p["spec"]["containers"][0]["env"][0]["value"] == "version-2")
        return len(ready), new

    def views(self) -> None:
        self.run("get", self.resource, "workload-demo")
        self.run("get", "pods", "-L", "controller-revision-hash,rollouts.kruise.io/rollout-batch-id")
        self.run("get", "rollouts.rollouts.kruise.io")

    def play(self) -> None:
        body = {"apiVersion": self.api_version, "kind": self.kind,
                "metadata": {"name": "workload-demo", "namespace": "default"}, "spec": self.spec}
        rollout = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
                   "metadata": {"name": "rollouts-demo", "namespace": "default"},
                   "spec": {"workloadRef": {"apiVersion": self.api_version, "kind": self.kind,
                                            "name": "workload-demo"},
                            "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "50%"},
                                                              {"replicas": "100%"}]}}}}
        print(f"# 1. the {self.kind} (version-1, 10 pods)")
        self.run("apply", "-f", "-", stdin=json.dumps(body))
        self.wait("10 ready pods", lambda: self.versions() == (10, 0))
        print("\n# 2. the Rollout (multi-batch: 1 / 50% / 100%)")
        self.run("apply", "-f", "-", stdin=json.dumps(rollout))
        self.wait("Healthy", lambda: self.state() == "Healthy/3/Completed")
        self.run("get", "rollouts.rollouts.kruise.io")
        patch = {"spec": {"template": {"spec": {"containers": [
            {**_template()["spec"]["containers"][0], "env": [{"name": "VERSION", "value": "version-2"}]}]}}}}
        print("\n# 3. release version-2: only the first batch (1 pod) is updated")
        self.run("patch", self.resource, "workload-demo", "--type=merge", "-p", json.dumps(patch))
        self.wait("step 1 paused", lambda: self.state() == "Progressing/1/StepPaused" and self.versions() == (10, 1))
        self.views()
        for step, updated in ((2, 5), (3, 10)):
            print(f"\n# {step + 2}. approve batch {step}")
            self.run("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", "default")
            want = "Healthy/3/Completed" if step == 3 else f"Progressing/{step}/StepPaused"
            self.wait(f"step {step}", lambda w=want, u=updated: self.state() == w and self.versions() == (10, u))
            self.views()


def play(kind: str, kubeconfig: str) -> None:
    KindDemo(kubeconfig, kind).play()
