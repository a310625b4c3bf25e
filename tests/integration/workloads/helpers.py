"""Helpers of the per-kind release tests: a workload, its Rollout (steps 1 / 50% / 100%) and the
observable state (which pods run the new version), on a real control plane.

The kubectl views of the Rollout come from the e2e harness (:class:`tests.e2e.harness.Release`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.e2e.harness import Kubectl, Release, step_paused_message, wait_for

REVISION_LABEL = "controller-revision-hash"
BATCH_LABEL = "rollouts.kruise.io/rollout-batch-id"


def pod_template(version: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "busybox", "image": "busybox:1.28.3",
                                     "command": ["/bin/sh", "-c", "sleep 100d"],
                                     "env": [{"name": "VERSION", "value": version}]}],
                     "terminationGracePeriodSeconds": 0}}


def rollout_body(ns: str, api_version: str, kind: str, *, steps: list[Any] | None = None) -> dict[str, Any]:
    steps = steps or [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": "rollouts-demo", "namespace": ns},
            "spec": {"workloadRef": {"apiVersion": api_version, "kind": kind, "name": "workload-demo"},
                     "strategy": {"canary": {"steps": steps}}}}


class WorkloadRelease(Release):
    """The seed's flow for any kind: ``resource`` is what kubectl calls it (e.g. ``statefulset``)."""

    def __init__(self, kc: Kubectl, namespace: str, resource: str) -> None:
        super().__init__(kc, namespace)
        self.resource = resource

    def wait_rollout(self, want: tuple[str | None, ...], timeout: float = 90) -> tuple[str, str, str, str]:
        """As the harness, plus the Rollout/BatchRelease/workload status in the failure message."""
        try:
            return super().wait_rollout(want, timeout)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.diagnostics()}") from None

    def diagnostics(self) -> str:
        """The tail of the Rollout, BatchRelease and workload YAML (status last)."""
        views = (("rollouts.rollouts.kruise.io", "rollouts-demo"), ("batchreleases.rollouts.kruise.io",),
                 (self.resource, "workload-demo"))
        return "\n".join(self.kc("-n", self.ns, "get", *v, "-o", "yaml", check=False)[-2500:] for v in views)

    def apply(self, body: dict[str, Any]) -> None:
        body["metadata"]["namespace"] = self.ns
        self.kc("apply", "-f", "-", input=yaml.safe_dump(body))

    def workload(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", self.resource, "workload-demo")

    def patch(self, version: str) -> None:
        """Merge-patch the container (works for CRDs too, which take no strategic merge patch)."""
        body = {"spec": {"template": {"spec": {"containers": pod_template(version)["spec"]["containers"]}}}}
        self.kc("-n", self.ns, "patch", self.resource, "workload-demo", "--type=merge", "-p", json.dumps(body))

    def pods(self) -> list[dict[str, Any]]:
        items = self.kc.json("-n", self.ns, "get", "pods", "-l", "app=demo")["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def versions(self) -> dict[str, str]:
        """Pod name → VERSION env of its spec (what the pod actually runs)."""
        out = {}
        for p in self.pods():
            env = p["spec"]["containers"][0].get("env") or []
            out[p["metadata"]["name"]] = next((e["value"] for e in env if e["name"] == "VERSION"), "")
        return out

    def ready_versions(self) -> dict[str, str]:
        """Like :meth:`versions`, only Ready pods."""
        ready = {p["metadata"]["name"] for p in self.pods()
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])}
        return {k: v for k, v in self.versions().items() if k in ready}

    def wait_versions(self, total: int, new: int, version: str, timeout: float = 60) -> dict[str, str]:
        """Wait for exactly ``total`` ready pods of which ``new`` run ``version``."""
        def ok(v: dict[str, str]) -> bool:
            return len(v) == total and sum(1 for x in v.values() if x == version) == new
        return wait_for(self.ready_versions, ok, timeout=timeout, what=f"{new}/{total} pods on {version}")

    def batch_labels(self) -> list[str]:
        return sorted(p["metadata"]["labels"].get(BATCH_LABEL, "") for p in self.pods())

    def leftovers(self) -> list[str]:
        """What a hand-back must not leave: rollouts annotations on the workload and any BatchRelease
        in the namespace (ReleaseWorkloadControl deletes it, rollout-lifecycle.md §8)."""
        anns = self.workload()["metadata"].get("annotations") or {}
        return [k for k in anns if "rollouts.kruise.io" in k] + self.batch_releases()


def rollback_restarts_as_new_release(r: WorkloadRelease, n: int) -> None:
    """Back to version-1 at step 1 for kinds that are "never in rollback" (native and Advanced
    DaemonSet, rollout-lifecycle.md §2 table): the finder sees a new release of version-1, so (as
    upstream) it restarts at step 1, where enough pods already run version-1, and approvals finish it."""
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    v2 = r.rollout()["status"]["canaryStatus"]["canaryRevision"]
    r.patch("version-1")
    wait_for(lambda: r.rollout()["status"].get("canaryStatus") or {},
             lambda cs: cs.get("canaryRevision") not in (None, "", v2) and cs.get("currentStepState") == "StepPaused",
             what="restarted on version-1")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(n, n, "version-1")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


def continuous_release_to_v3(r: WorkloadRelease, n: int) -> None:
    """version-2 released to step 1, then version-3 patched in: wait until the Rollout has restarted
    at step 1 for version-3 with exactly one pod on it (the caller checks which one, then approves)."""
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    v2 = r.rollout()["status"]["canaryStatus"]["canaryRevision"]
    r.patch("version-3")
    wait_for(r.rollout, lambda ro: (ro["status"].get("canaryStatus") or {}).get("canaryRevision") not in (None, v2)
             and ro["status"]["canaryStatus"].get("currentStepState") == "StepPaused", what="v3 at step 1")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-3")
