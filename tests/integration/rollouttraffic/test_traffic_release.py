"""Partition-style Rollouts with traffic routing through the real manager on the real control plane.

The seed-like objects: a Service ``echoserver`` selecting the workload's pods and the seed's nginx
Ingress pointing at it. No ingress controller runs: as upstream's e2e does, the tests check the
objects (canary Service and Ingress per step, the stable Service pin, and after finish / rollback /
disable / delete the Service and Ingress equal to their pre-release form field for field, canary
objects gone). Steps: ``20%`` of traffic on 1 pod, ``50%`` on half the pods, then ``100%`` of the
pods without traffic (its prologue tears the routing down before the last batch).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.rollouttraffic.dies_mid_restore import EXIT_CODE
from tests.integration.workloads.helpers import WorkloadRelease, pod_template, rollout_body
from tests.unit.trafficrouting.fakes import SEED_INGRESS

pytestmark = pytest.mark.integration

P = "nginx.ingress.kubernetes.io/"
PTH, CRH = "pod-template-hash", "controller-revision-hash"
#: Fields the API server changes on every write; "equal to the pre-release form" ignores them.
VOLATILE = ("resourceVersion", "managedFields", "generation")
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echoserver", "labels": {"app": "echoserver"}},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "demo"}}}
STEPS = [{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"}, {"replicas": "100%"}]
PODS = 4
COMPLETED = ("Healthy", "3", "Completed", "Rollout progressing has been completed")


def deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "workload-demo"},
            "spec": {"replicas": PODS, "selector": {"matchLabels": {"app": "demo"}},
                     "template": pod_template("version-1")}}


def statefulset() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "workload-demo"},
            "spec": {"replicas": PODS, "serviceName": "workload-demo", "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": "demo"}}, "template": pod_template("version-1")}}


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}}


class TrafficRelease(WorkloadRelease):
    """The seed's flow plus the traffic objects; ``before`` is their pre-release form."""

    before: dict[str, Any]

    def setup(self, workload: dict[str, Any], *, kind: str = "Deployment", steps: list[Any] | None = None,
              service: str = "echoserver", ingress: str = "echoserver", grace: int = 1) -> None:
        for obj in (SERVICE, SEED_INGRESS):
            self.apply(copy.deepcopy(obj))
        self.apply(workload)
        self.wait_versions(PODS, PODS, "version-1")
        body = rollout_body(self.ns, "apps/v1", kind, steps=steps or STEPS)
        body["spec"]["strategy"]["canary"]["trafficRoutings"] = [
            {"service": service, "ingress": {"name": ingress}, "gracePeriodSeconds": grace}]
        self.apply(body)
        self.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
        self.before = self.snapshot()

    def get(self, resource: str, name: str) -> dict[str, Any] | None:
        out = self.kc("-n", self.ns, "get", resource, name, "-o", "json", "--ignore-not-found")
        return json.loads(out) if out.strip() else None

    def snapshot(self) -> dict[str, Any]:
        svc, ing = self.get("service", "echoserver"), self.get("ingress", "echoserver")
        return {"svc": comparable(svc) if svc else None, "ing": comparable(ing) if ing else None}

    def selector(self, name: str = "echoserver") -> dict[str, str]:
        svc = self.get("service", name)
        assert svc is not None, f"Service {name} missing"
        return svc["spec"]["selector"]

    def canary_annotations(self) -> dict[str, str]:
        ing = self.get("ingress", "echoserver-canary")
        assert ing is not None, "canary Ingress missing"
        # kubectl's last-applied-configuration is copied from the stable Ingress too (as upstream)
        return {k: v for k, v in ing["metadata"]["annotations"].items() if k.startswith(P)}

    def canary_objects(self) -> list[str]:
        return [f"{kind}/echoserver-canary" for kind in ("service", "ingress") if self.get(kind, "echoserver-canary")]

    def wait_restored(self) -> None:
        """The Service and Ingress equal their pre-release form field for field; no canary object left."""
        wait_for(lambda: (self.snapshot(), self.canary_objects()), lambda s: s == (self.before, []),
                 what="Service and Ingress restored, canary objects gone")

    def labels_by_version(self, key: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for p in self.pods():
            env = p["spec"]["containers"][0].get("env") or []
            version = next(e["value"] for e in env if e["name"] == "VERSION")
            out.setdefault(version, set()).add(p["metadata"]["labels"].get(key, ""))
        return out

    def assert_step(self, step: int, weight: str, key: str) -> None:
        """Paused at ``step``: the canary Ingress at ``weight``, the Services selecting each version's pods."""
        self.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step)))
        assert self.canary_annotations() == {P + "canary": "true", P + "canary-weight": weight}
        cs = self.rollout()["status"]["canaryStatus"]
        stable, canary = self.selector(), self.selector("echoserver-canary")
        assert stable == {"app": "demo", key: cs["stableRevision"]}
        assert canary == {"app": "demo", key: cs["podTemplateHash"]}
        versions = self.labels_by_version(key)
        assert versions["version-1"] == {stable[key]} and versions["version-2"] == {canary[key]}, versions


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> TrafficRelease:
    return TrafficRelease(kc, namespace, "deployment")


def test_deployment_steps_route_traffic_and_finish_restores(release: TrafficRelease) -> None:
    r = release
    r.setup(deployment())
    r.patch("version-2")
    r.assert_step(1, "20", PTH)
    r.wait_versions(PODS, 1, "version-2")
    r.approve()
    r.assert_step(2, "50", PTH)
    r.wait_versions(PODS, PODS // 2, "version-2")
    r.approve()
    r.wait_rollout(COMPLETED)
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-2")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


def test_statefulset_routes_by_controller_revision_hash(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    r = TrafficRelease(kc, namespace, "statefulset")
    r.setup(statefulset(), kind="StatefulSet")
    r.patch("version-2")
    r.assert_step(1, "20", CRH)
    r.approve()
    r.assert_step(2, "50", CRH)
    r.approve()
    r.wait_rollout(COMPLETED)
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-2")


def test_ab_header_step_then_a_plain_step_tears_it_down(release: TrafficRelease) -> None:
    r = release
    pc = {"headers": [{"name": "user-agent", "type": "Exact", "value": "pc"}]}
    r.setup(deployment(), steps=[{"replicas": 1, "matches": [pc]}, {"replicas": "50%"}, {"replicas": "100%"}])
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    assert r.canary_annotations() == {P + "canary": "true", P + "canary-by-header": "user-agent",
                                      P + "canary-by-header-value": "pc"}
    r.wait_versions(PODS, 1, "version-2")
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    assert (r.snapshot(), r.canary_objects()) == (r.before, [])  # torn down before the second batch


def _at_step_one(r: TrafficRelease) -> None:
    r.setup(deployment())
    r.patch("version-2")
    r.assert_step(1, "20", PTH)


def test_rollback_mid_release_restores(release: TrafficRelease) -> None:
    r = release
    _at_step_one(r)
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, "Rollout progressing has been canceled"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-1")
    (succeeded,) = [c for c in r.rollout()["status"]["conditions"] if c["type"] == "Succeeded"]
    assert succeeded["status"] == "False"


def test_disable_mid_release_restores(release: TrafficRelease) -> None:
    r = release
    _at_step_one(r)
    r.kc("-n", r.ns, "patch", "rollouts.rollouts.kruise.io", "rollouts-demo", "--type=merge",
         "-p", '{"spec":{"disabled":true}}')
    wait_for(lambda: r.rollout()["status"].get("phase"), lambda p: p == "Disabled", what="phase Disabled")
    r.wait_restored()


def test_delete_mid_release_restores(release: TrafficRelease) -> None:
    r = release
    _at_step_one(r)
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    wait_for(lambda: r.get("rollouts.rollouts.kruise.io", "rollouts-demo"), lambda ro: ro is None,
             what="the Rollout gone (its finalizer removed after the cleanup)")
    r.wait_restored()


def test_missing_service_then_ingress_are_named_and_nothing_is_written(release: TrafficRelease) -> None:
    r = release
    r.setup(deployment(), service="web", ingress="web")
    r.patch("version-2")
    want = (f"Service {r.ns}/web named in spec.strategy.canary.trafficRoutings[0].service does not exist; "
            "create it or correct the name")
    r.wait_rollout(("Progressing", None, None, want))
    for _ in range(3):  # held there: nothing created, pinned or released
        assert r.canary_objects() == [] and r.get("service", "web-canary") is None
        assert r.batch_releases() == [] and r.snapshot() == r.before
        r.wait_rollout(("Progressing", None, None, want), timeout=5)
    r.apply({**copy.deepcopy(SERVICE), "metadata": {"name": "web"}})
    r.wait_rollout(("Progressing", None, None, f"Ingress {r.ns}/web named in spec.strategy.canary."
                                               "trafficRoutings[0].ingress.name does not exist; create it or "
                                               "correct the name"))
    assert r.selector("web") == {"app": "demo"} and r.get("service", "web-canary") is None
    ing = copy.deepcopy(SEED_INGRESS)
    ing["metadata"]["name"] = "web"
    ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "web"
    r.apply(ing)
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    assert r.get("ingress", "web-canary") is not None


def _dies_mid_restore(manager: ManagerProcess, kc: Kubectl, tmp_path: Path, drive: Any, half: list[str],
                      namespace: str) -> None:
    """Swap the module's manager for one that dies right after its first Service-restore write, let
    ``drive`` start a restore, check the half-restored state (``half``: canary objects still there),
    then restart the real manager."""
    manager.stop()
    dying = ManagerProcess(kc.kubeconfig, tmp_path, extra_args=("--no-leader-elect",),
                           module="tests.integration.rollouttraffic.dies_mid_restore",
                           env={"KILL_NAMESPACE": namespace})
    try:
        dying.start()
        r = drive()
        wait_for(lambda: dying.proc.poll() if dying.proc else None, lambda rc: rc == EXIT_CODE,
                 what="the manager to die right after the first restore write")
        assert r.selector() == {"app": "demo"}
        assert r.canary_objects() == half
    finally:
        if dying.proc is not None and dying.proc.poll() is None:
            print(dying.tail())
        dying.stop()
        manager.start()


def test_manager_killed_between_restore_writes_completes_after_restart(
    manager: ManagerProcess, kc: Kubectl, namespace: str, tmp_path: Path,
) -> None:
    """A step without traffic (§6.1 4): restore stable Service → (dies) → gateway → canary Service."""
    r = TrafficRelease(kc, namespace, "deployment")

    def drive() -> TrafficRelease:
        _at_step_one(r)
        r.approve()
        r.assert_step(2, "50", PTH)
        r.approve()  # step 3 has no traffic: its prologue restores the stable Service first, and dies there
        return r

    _dies_mid_restore(manager, kc, tmp_path, drive, ["service/echoserver-canary", "ingress/echoserver-canary"],
                      namespace)
    r.wait_rollout(COMPLETED)
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-2")


def test_manager_killed_in_the_rollback_finalising_completes_after_restart(
    manager: ManagerProcess, kc: Kubectl, namespace: str, tmp_path: Path,
) -> None:
    """Rollback (§8): gateway → workload → restore stable Service → (dies) → canary Service."""
    r = TrafficRelease(kc, namespace, "deployment")

    def drive() -> TrafficRelease:
        _at_step_one(r)
        r.patch("version-1")
        return r

    _dies_mid_restore(manager, kc, tmp_path, drive, ["service/echoserver-canary"], namespace)
    r.wait_rollout(("Healthy", None, None, "Rollout progressing has been canceled"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-1")


def test_continuous_release_tears_traffic_down_and_restarts_routing_for_v3(release: TrafficRelease) -> None:
    r = release
    _at_step_one(r)
    v2 = r.selector("echoserver-canary")[PTH]
    stable = r.selector()
    uids = {kind: r.get(kind, "echoserver-canary")["metadata"]["uid"] for kind in ("service", "ingress")}
    r.patch("version-3")
    wait_for(lambda: r.rollout()["status"].get("canaryStatus") or {},
             lambda cs: cs.get("podTemplateHash") not in (None, "", v2) and cs.get("currentStepState") == "StepPaused",
             what="restarted at step 1 for version-3")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    assert r.selector() == stable  # the stable Service stayed pinned to version-1 throughout (§8.3)
    for kind, uid in uids.items():  # torn down by the reset, created afresh by the new release
        assert r.get(kind, "echoserver-canary")["metadata"]["uid"] != uid, kind
    cs = r.rollout()["status"]["canaryStatus"]
    assert r.selector("echoserver-canary") == {"app": "demo", PTH: cs["podTemplateHash"]}
    assert r.canary_annotations() == {P + "canary": "true", P + "canary-weight": "20"}
    r.wait_versions(PODS, 1, "version-3")
    assert r.labels_by_version(PTH)["version-3"] == {cs["podTemplateHash"]}
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    assert r.canary_annotations() == {P + "canary": "true", P + "canary-weight": "50"}
    r.approve()
    r.wait_rollout(COMPLETED)
    r.wait_restored()
