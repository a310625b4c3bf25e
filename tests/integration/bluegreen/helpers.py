"""The seed's ``echoserver`` (5 replicas), its Service and nginx Ingress, released blue-green.

No ingress controller runs: as upstream's e2e does, the routing objects are checked, not traffic.
kube-controller-manager runs in the local cluster, so the surge (new pods beside the old ones) and
the hand-back (old side scaled away) are the native Deployment controller's real work; kwok marks
pods Ready. :meth:`BlueGreen.sides` reads both sides from the ReplicaSets.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from tests.e2e.harness import wait_for
from tests.integration.canarytraffic.helpers import SERVICE, CanaryTraffic
from tests.integration.release.test_canary_style import NAME, ROLLOUT
from tests.unit.trafficrouting.fakes import SEED_INGRESS

PTH = "pod-template-hash"
ORIGINAL = "rollouts.kruise.io/original-deployment-strategy"
CONTROL_INFO = "batchrelease.rollouts.kruise.io/control-info"
#: The upstream e2e's Deployment step table (manual pauses).
STEPS = [{"replicas": "50%", "traffic": "0%", "pause": {}}, {"replicas": "100%", "traffic": "0%", "pause": {}},
         {"replicas": "100%", "traffic": "50%", "pause": {}}, {"replicas": "100%", "traffic": "100%", "pause": {}}]


def rollout_body(ns: str, steps: list[dict[str, Any]] = STEPS, grace: int = 0) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": ROLLOUT, "namespace": ns},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                     "strategy": {"blueGreen": {
                         "steps": copy.deepcopy(steps),
                         "trafficRoutings": [{"service": NAME, "gracePeriodSeconds": grace,
                                              "ingress": {"classType": "nginx", "name": NAME}}]}}}}


class BlueGreen(CanaryTraffic):
    """The canary-traffic views (Service, Ingress, ``get rollout``) plus both sides of a blue-green release."""

    def setup(self, steps: list[dict[str, Any]] = STEPS, grace: int = 0) -> None:  # type: ignore[override]
        for obj in (SERVICE, SEED_INGRESS):
            body = copy.deepcopy(obj)
            body["metadata"]["namespace"] = self.ns
            self.kc("apply", "-f", "-", input=yaml.safe_dump(body))
        self.create(rollout_body(self.ns, steps, grace))
        self.before = self.snapshot()
        self.deploy_before = self.stable()

    def bg_status(self) -> dict[str, Any]:
        return self.rollout()["status"].get("blueGreenStatus") or {}

    def sides(self) -> dict[str, int]:
        """pod-template-hash → ready pods (live ReplicaSets with replicas > 0 only)."""
        out = {}
        for rs in self.kc.json("-n", self.ns, "get", "rs")["items"]:
            if rs["metadata"].get("deletionTimestamp") or not rs["spec"].get("replicas"):
                continue
            out[rs["metadata"]["labels"][PTH]] = int(rs["status"].get("readyReplicas") or 0)
        return out

    def wait_sides(self, want: dict[str, int], timeout: float = 60) -> None:
        wait_for(self.sides, lambda s: s == want, timeout=timeout, what=f"ready pods per revision {want}")

    def assert_step(self, step: int, weight: str, new: int, total: int = 4) -> dict[str, Any]:  # type: ignore[override]
        """Paused at ``step``: ``new`` pods beside all 5 old ones, the canary Ingress weight, the stable
        Service pinned to the old pods, the canary Service on the new, and ``blueGreenStatus``."""
        from tests.e2e.harness import step_paused_message

        self.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, total)))
        bg = self.bg_status()
        stable, new_hash = bg["stableRevision"], bg["podTemplateHash"]
        assert "canaryStatus" not in self.rollout()["status"]
        self.wait_sides({stable: 5, new_hash: new})
        assert bg["currentStepIndex"] == step and bg["currentStepState"] == "StepPaused"
        assert bg["updatedReplicas"] == new and bg["updatedReadyReplicas"] == new, bg
        assert bg["updatedRevision"] and bg["nextStepIndex"] == (step + 1 if step < total else -1)
        got = self.canary_annotations()
        # traffic-routing.md §4.1: no canary Ingress is created for weight 0
        want = None if weight == "0" else {"nginx.ingress.kubernetes.io/canary": "true",
                                           "nginx.ingress.kubernetes.io/canary-weight": weight}
        assert got == want, got
        assert self.selector() == {"app": NAME, PTH: stable}
        assert self.selector(f"{NAME}-canary") == {"app": NAME, PTH: new_hash}
        d = self.stable()
        assert d["spec"]["minReadySeconds"] == 2147483646 and d["spec"]["progressDeadlineSeconds"] == 2147483647
        assert d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert ORIGINAL in d["metadata"]["annotations"] and CONTROL_INFO in d["metadata"]["annotations"]
        return bg

    def assert_handed_back_as_before(self) -> None:
        """The user's strategy, minReadySeconds and progress deadline back; nothing of ours left."""
        d = self.stable()
        assert not d["spec"].get("paused"), d["spec"]
        for key in ("strategy", "minReadySeconds", "progressDeadlineSeconds"):
            assert d["spec"].get(key) == self.deploy_before["spec"].get(key), key
        anns = d["metadata"].get("annotations") or {}
        assert not {ORIGINAL, CONTROL_INFO, "rollouts.kruise.io/in-progressing"} & set(anns), anns
        assert "rollouts.kruise.io/stable-revision" not in (d["metadata"].get("labels") or {})
