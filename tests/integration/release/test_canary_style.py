"""Canary style with an extra Deployment (batch-release.md §7), on the real control plane, no traffic.

The seed's part 2 workload (``echoserver``, 5 replicas) released by a v1beta1 Rollout with
``enableExtraWorkloadForCanary: true`` and steps 1 / 40% / 100% (manual pauses). kube-controller-manager
runs in the local cluster, so the canary Deployment's ReplicaSet and pods are real, and the garbage
collector deletes the canary Deployment once its BatchRelease is gone.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess, step_paused_message, table, wait_for

pytestmark = pytest.mark.integration

NAME = "echoserver"
ROLLOUT = "rollouts-canary-demo"
CANARY_LABEL = "rollouts.kruise.io/canary-deployment"
CANARY_NAME = re.compile(rf"^{NAME}-[a-z0-9]{{5}}$")
IMAGE = "registry.aliyuncs.com/google_containers/echoserver:1.10"


def deployment(ns: str, replicas: int = 5) -> dict[str, Any]:
    """The seed's ``workload-canary-demo.yaml`` Deployment (env trimmed to the version markers)."""
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": ns, "labels": {"app": NAME}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": NAME}},
                     "template": {"metadata": {"labels": {"app": NAME}},
                                  "spec": {"containers": [{"name": NAME, "image": IMAGE,
                                                           "ports": [{"containerPort": 8080}],
                                                           "env": [{"name": "VERSION", "value": "v1"},
                                                                   {"name": "NODE_NAME", "value": "version1"}]}]}}}}


def v1beta1_rollout(ns: str) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": ROLLOUT, "namespace": ns},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                     "strategy": {"canary": {"enableExtraWorkloadForCanary": True,
                                             "steps": [{"replicas": 1, "pause": {}},
                                                       {"replicas": "40%", "pause": {}},
                                                       {"replicas": "100%", "pause": {}}]}}}}


def seed_v1alpha1_rollout(ns: str) -> dict[str, Any]:
    """Part 2's Rollout without ``trafficRoutings``; the weights go too (a weight without a traffic
    routing is refused, "needs a traffic routing"), the replicas they implied are written out."""
    return {"apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": ROLLOUT, "namespace": ns,
                         "annotations": {"rollouts.kruise.io/rolling-style": "canary"}},
            "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME}},
                     "strategy": {"canary": {"steps": [{"pause": {}, "replicas": 1},
                                                       {"replicas": "40%", "pause": {"duration": 30}},
                                                       {"replicas": "60%", "pause": {"duration": 30}},
                                                       {"replicas": "80%", "pause": {"duration": 30}},
                                                       {"replicas": "100%", "pause": {"duration": 10}}]}}}}


class Canary:
    """The seed's canary objects in one namespace and the kubectl views of part 2."""

    def __init__(self, kc: Kubectl, ns: str) -> None:
        self.kc, self.ns = kc, ns

    def create(self, rollout: dict[str, Any] | None = None) -> None:
        self.kc("apply", "-f", "-", input=yaml.safe_dump(deployment(self.ns)))
        self.wait_deploys({NAME: ("5/5", "5", "5")})
        self.kc("apply", "-f", "-", input=yaml.safe_dump(rollout or v1beta1_rollout(self.ns)))
        self.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))

    def set_env(self, node_name: str, image: str = IMAGE) -> None:
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": NAME, "image": image, "env": [{"name": "VERSION", "value": "v" + node_name[-1]},
                                                   {"name": "NODE_NAME", "value": node_name}]}]}}}}
        self.kc("-n", self.ns, "patch", "deployment", NAME, "-p", json.dumps(patch))

    def deploys(self) -> dict[str, tuple[str, str, str]]:
        """``kubectl get deploy``: name → (READY, UP-TO-DATE, AVAILABLE)."""
        return {r["NAME"]: (r["READY"], r["UP-TO-DATE"], r["AVAILABLE"])
                for r in table(self.kc("-n", self.ns, "get", "deploy"))}

    def wait_deploys(self, want: dict[str, tuple[str, str, str]], timeout: float = 90) -> dict[str, Any]:
        """Wait for ``get deploy``; a key ``"canary"`` stands for the one ``echoserver-xxxxx`` row."""
        def ok(rows: dict[str, tuple[str, str, str]]) -> bool:
            canaries = [n for n in rows if CANARY_NAME.match(n)]
            named = {("canary" if n in canaries else n): v for n, v in rows.items()}
            return len(canaries) <= 1 and named == want
        return wait_for(self.deploys, ok, timeout=timeout, what=f"deploy {want}")

    def canaries(self) -> list[dict[str, Any]]:
        """Every canary Deployment of the namespace, deleting ones included."""
        return self.kc.json("-n", self.ns, "get", "deploy", "-l", f"{CANARY_LABEL}={NAME}")["items"]

    def rollout_row(self) -> tuple[str, str, str, str]:
        row = table(self.kc("-n", self.ns, "get", ROLLOUT_RESOURCE, ROLLOUT))[0]
        return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"], row["MESSAGE"]

    def wait_rollout(self, want: tuple[str | None, ...], timeout: float = 90) -> tuple[str, str, str, str]:
        return wait_for(self.rollout_row, lambda r: all(w is None or w == v for w, v in zip(want, r, strict=True)),
                        timeout=timeout, what=f"rollout {want}")

    def rollout(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", "rollouts.v1beta1.rollouts.kruise.io", ROLLOUT)

    def stable(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", "deploy", NAME)

    def batch_releases(self) -> list[str]:
        return self.kc("-n", self.ns, "get", "batchreleases.rollouts.kruise.io", "-o", "name").split()

    def approve(self) -> None:
        self.kc("kruise", "rollout", "approve", f"rollout/{ROLLOUT}", "-n", self.ns)

    def stable_pods(self) -> dict[str, str]:
        """Pods of the stable Deployment's ReplicaSets: name → NODE_NAME."""
        out = {}
        for pod in self.kc.json("-n", self.ns, "get", "pods", "-l", f"app={NAME}")["items"]:
            owner = (pod["metadata"].get("ownerReferences") or [{}])[0].get("name", "")
            if pod["metadata"].get("deletionTimestamp") or CANARY_NAME.match(owner.rsplit("-", 1)[0]):
                continue
            env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env") or []}
            out[pod["metadata"]["name"]] = env.get("NODE_NAME", "")
        return out

    def canary_pod_batches(self, canary: str) -> list[tuple[str | None, str | None]]:
        """(rollout-id, rollout-batch-id) labels of the canary's pods, sorted."""
        out = []
        for pod in self.kc.json("-n", self.ns, "get", "pods", "-l", f"app={NAME}")["items"]:
            owner = (pod["metadata"].get("ownerReferences") or [{}])[0].get("name", "")
            if owner.rsplit("-", 1)[0] == canary and not pod["metadata"].get("deletionTimestamp"):
                labels = pod["metadata"].get("labels") or {}
                out.append((labels.get("rollouts.kruise.io/rollout-id"),
                            labels.get("rollouts.kruise.io/rollout-batch-id")))
        return sorted(out, key=str)

    def at_step_one(self) -> str:
        """Release version2 and wait for step 1: the stable 5/5 with 0 updated, a 1/1 canary beside it."""
        self.set_env("version2")
        self.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
        rows = self.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("1/1", "1", "1")})
        (canary,) = [n for n in rows if CANARY_NAME.match(n)]
        return canary

    def assert_handed_back(self) -> None:
        """Stable unpaused with no rollouts bookkeeping, no canary Deployment, no BatchRelease."""
        wait_for(self.canaries, lambda items: items == [], what="canary Deployments deleted by the GC")
        d = self.stable()
        assert not d["spec"].get("paused"), d["spec"]
        leftovers = [k for k in (d["metadata"].get("annotations") or {}) if "rollouts.kruise.io" in k]
        assert leftovers == [], leftovers
        assert self.batch_releases() == []


@pytest.fixture
def canary(manager: ManagerProcess, kc: Kubectl, namespace: str) -> Canary:
    return Canary(kc, namespace)


def test_canary_release_steps_through_an_extra_deployment_and_hands_back(canary: Canary) -> None:
    c = canary
    c.create()
    name = c.at_step_one()
    d = c.kc.json("-n", c.ns, "get", "deploy", name)
    assert d["metadata"]["labels"] == {CANARY_LABEL: NAME}
    assert d["metadata"]["finalizers"] == ["finalizer.rollouts.kruise.io/batch-release"]
    (owner,) = d["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("BatchRelease", ROLLOUT, True)
    assert c.stable()["spec"]["paused"] is True
    assert set(c.stable_pods().values()) == {"version1"}
    rollout_id = c.rollout()["status"]["canaryStatus"]["observedRolloutID"]
    assert c.canary_pod_batches(name) == [(rollout_id, "1")]  # batch labels (§5) on the canary's pods
    # the workload webhook keeps the stable Deployment paused for the whole release (workload-webhook.md §2.1 c)
    c.kc("-n", c.ns, "patch", "deploy", NAME, "-p", '{"spec":{"paused":false}}')
    assert c.stable()["spec"]["paused"] is True

    c.approve()
    c.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("2/2", "2", "2")})
    assert c.stable()["spec"]["paused"] is True
    assert c.canary_pod_batches(name) == [(rollout_id, "1"), (rollout_id, "2")]

    c.approve()  # the last step is "100%": no pause, finalising hands the stable Deployment back
    c.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"), timeout=120)
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
    wait_for(c.stable_pods, lambda pods: len(pods) == 5 and set(pods.values()) == {"version2"},
             what="all 5 stable pods on version2")
    succeeded = [x for x in c.rollout()["status"]["conditions"] if x["type"] == "Succeeded"]
    assert succeeded and succeeded[0]["status"] == "True"


def test_rollback_mid_release_keeps_the_stable_pods(canary: Canary) -> None:
    c = canary
    c.create()
    before = c.stable_pods()
    c.at_step_one()
    c.set_env("version1")
    c.wait_rollout(("Healthy", None, None, None))
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
    assert c.stable_pods() == before  # no stable pod was recreated
    succeeded = [x for x in c.rollout()["status"]["conditions"] if x["type"] == "Succeeded"]
    assert succeeded and succeeded[0]["status"] == "False"


def test_continuous_release_replaces_the_canary_deployment(canary: Canary) -> None:
    c = canary
    c.create()
    first = c.at_step_one()
    v2 = c.rollout()["status"]["canaryStatus"]["canaryRevision"]
    c.set_env("version3")
    def sub(ro: dict[str, Any]) -> dict[str, Any]:
        return ro["status"].get("canaryStatus") or {}  # cleared while the release restarts (§8.3)
    wait_for(c.rollout, lambda ro: sub(ro).get("canaryRevision") not in (None, v2)
             and sub(ro).get("currentStepState") == "StepPaused", what="version3 at step 1")
    rows = c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("1/1", "1", "1")})
    wait_for(c.canaries, lambda items: len(items) == 1, what="the version2 canary deleted (no orphan)")
    (second,) = [n for n in rows if CANARY_NAME.match(n)]
    assert second != first
    (env,) = [x["spec"]["template"]["spec"]["containers"][0]["env"] for x in c.canaries()]
    assert {"name": "NODE_NAME", "value": "version3"} in env


def test_scaling_the_stable_deployment_never_scales_the_canary_down(canary: Canary) -> None:
    c = canary
    c.create()
    c.at_step_one()
    c.approve()
    c.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    c.kc("-n", c.ns, "scale", "deploy", NAME, "--replicas=10")
    c.wait_deploys({NAME: ("10/10", "0", "10"), "canary": ("4/4", "4", "4")})  # 40% of 10
    c.kc("-n", c.ns, "scale", "deploy", NAME, "--replicas=2")

    def br_saw_two(br: dict[str, Any]) -> bool:
        status = br.get("status") or {}
        return status.get("observedWorkloadReplicas") == 2 and status["canaryStatus"].get("batchState") == "Ready"
    wait_for(lambda: c.kc.json("-n", c.ns, "get", "batchreleases.rollouts.kruise.io", ROLLOUT), br_saw_two,
             what="the BatchRelease re-ran the batch on 2 replicas")
    c.wait_deploys({NAME: ("2/2", "0", "2"), "canary": ("4/4", "4", "4")})  # 40% of 2 is 1: not scaled down


def test_a_failing_canary_stays_in_step_upgrade_saying_why(canary: Canary) -> None:
    c = canary
    c.create()
    c.set_env("version2", image="busybox:failed")
    msg = "Rollout is in step(1/3), and upgrade workload to new version"
    c.wait_rollout(("Progressing", "1", "StepUpgrade", msg))
    # "0 created" comes first (the pod is not created yet), then the pod exists and stays unready
    why = re.compile(rf"canary Deployment {NAME}-[a-z0-9]{{5}}: 0 of 1 pods available, 1 created "
                     r"\(updated ready 0 < desired 1 \(failureThreshold 0\)\)")
    wait_for(c.rollout, lambda r: bool(why.search((r["status"].get("canaryStatus") or {}).get("message") or "")),
             what="the readiness message in the Rollout status")
    c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("0/1", "1", "0")})
    assert c.rollout_row()[2] == "StepUpgrade"


def test_delete_mid_release_resumes_the_stable_deployment(canary: Canary) -> None:
    """rollout-lifecycle.md §8.1 / batch-release.md §7 Finalize: ``batchPartition`` null unpauses the
    stable Deployment (the KeepWorkloadPausedOnRolloutDeletion gate is off), so it rolls natively."""
    c = canary
    c.create()
    c.at_step_one()
    c.kc("-n", c.ns, "delete", ROLLOUT_RESOURCE, ROLLOUT, "--wait=true", "--timeout=60s")
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()


def test_disable_mid_release_resumes_the_stable_deployment(canary: Canary) -> None:
    c = canary
    c.create()
    c.at_step_one()
    c.kc("-n", c.ns, "patch", "rollouts.v1beta1.rollouts.kruise.io", ROLLOUT, "--type=merge",
         "-p", '{"spec":{"disabled":true}}')
    c.wait_rollout(("Disabled", None, None, "Rollout is disabled"))
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()


@pytest.mark.parametrize("style", ["canary", None], ids=["rolling-style canary", "no rolling-style annotation"])
def test_seed_v1alpha1_rolling_style_canary_reaches_step_one(canary: Canary, style: str | None) -> None:
    """A v1alpha1 Rollout of a Deployment is canary style unless annotated ``partition`` (api.md §2.1)."""
    c = canary
    body = seed_v1alpha1_rollout(c.ns)
    if style is None:
        del body["metadata"]["annotations"]
    c.create(body)
    c.set_env("version2")
    c.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1, total=5)))
    c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("1/1", "1", "1")})
    plan = c.kc.json("-n", c.ns, "get", "batchreleases.rollouts.kruise.io", ROLLOUT)["spec"]["releasePlan"]
    assert (plan["rollingStyle"], plan["enableExtraWorkloadForCanary"]) == ("Canary", True)


def test_kubectl_kruise_pause_resume_status_undo(canary: Canary) -> None:
    """The plugin's verbs on a canary Rollout; ``undo`` mid-release returns to the running revision
    (the paused Deployment's new template never got a ReplicaSet) and cancels the release."""
    c = canary
    c.create()
    before = c.stable_pods()
    c.at_step_one()
    target = (f"rollout/{ROLLOUT}", "-n", c.ns)
    line = c.kc("kruise", "rollout", "status", *target, "-w", "false", check=False)
    assert f'Waiting for rollout "{ROLLOUT}" to finish: phase Progressing, step 1/3 StepPaused' in line, line
    c.kc("kruise", "rollout", "pause", *target)
    c.wait_rollout(("Progressing", "1", None, "Rollout has been paused, you can resume it by kube-cli"))
    c.kc("kruise", "rollout", "resume", *target)
    c.wait_rollout(("Progressing", "1", "StepPaused", None))
    assert "rolled back" in c.kc("kruise", "rollout", "undo", *target)
    c.wait_rollout(("Healthy", None, None, None))
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
    assert c.stable_pods() == before


def test_a_killed_controller_resumes_with_one_canary_deployment(canary: Canary, manager: ManagerProcess) -> None:
    """Killed right after the edit (the canary may or may not exist yet: its name is server-generated,
    so only the cache tells) and right after an approval: exactly one canary at each step, none left."""
    c = canary
    c.create()
    c.set_env("version2")
    manager.stop(kill=True)
    manager.start()
    c.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)), timeout=120)
    c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("1/1", "1", "1")})
    assert len(c.canaries()) == 1
    c.approve()
    manager.stop(kill=True)
    manager.start()
    c.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)), timeout=120)
    c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("2/2", "2", "2")})
    assert len(c.canaries()) == 1
    c.approve()
    c.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"), timeout=120)
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()


def test_patch_pod_template_metadata_marks_only_the_canary_pods(canary: Canary) -> None:
    """The canary template carries ``patchPodTemplateMetadata``; the lookup ignores those keys, so
    the canary is found again (one Deployment), and its pods are still labelled with their batch."""
    c = canary
    body = v1beta1_rollout(c.ns)
    body["spec"]["strategy"]["canary"]["patchPodTemplateMetadata"] = {"labels": {"track": "canary"},
                                                                       "annotations": {"note": "v2"}}
    c.create(body)
    name = c.at_step_one()
    rollout_id = c.rollout()["status"]["canaryStatus"]["observedRolloutID"]
    wait_for(lambda: c.canary_pod_batches(name), lambda b: b == [(rollout_id, "1")], what="batch labels")
    c.approve()
    c.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    c.wait_deploys({NAME: ("5/5", "0", "5"), "canary": ("2/2", "2", "2")})
    assert len(c.canaries()) == 1
    pods = c.kc.json("-n", c.ns, "get", "pods", "-l", f"app={NAME}")["items"]
    tracked = sorted(p["metadata"]["name"] for p in pods if p["metadata"]["labels"].get("track") == "canary")
    assert len(tracked) == 2 and all(n.startswith(f"{name}-") for n in tracked), tracked
    assert all(p["metadata"]["annotations"].get("note") == "v2" for p in pods if p["metadata"]["name"] in tracked)
