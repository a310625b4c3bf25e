"""The seed's ``echoserver`` (5 replicas), its Service and nginx Ingress, released blue-green.

No ingress controller runs: as upstream's e2e does, the routing objects are checked, not traffic.
kube-controller-manager runs in the local cluster, so the surge (new pods beside the old ones) and
the hand-back (old side scaled away) are the native Deployment controller's real work; kwok marks
pods Ready. :meth:`BlueGreen.sides` reads both sides from the ReplicaSets.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import attrs
import yaml

from tests.e2e.harness import step_paused_message, wait_for
from tests.integration.canarytraffic.helpers import SERVICE, CanaryTraffic, P, Sampling
from tests.integration.release.test_canary_style import NAME, ROLLOUT
from tests.unit.trafficrouting.fakes import SEED_INGRESS

PTH = "pod-template-hash"
BETA = "rollouts.v1beta1.rollouts.kruise.io"
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

    def look(self) -> dict[tuple[str, str], dict[str, Any]]:
        """One ``kubectl get`` of everything a step is checked on: (kind, name) → object (live ones)."""
        items = self.kc.json("-n", self.ns, "get", f"deploy,rs,svc,ingress,{BETA}", "-o", "json")["items"]
        return {(i["kind"], i["metadata"]["name"]): i for i in items if not i["metadata"].get("deletionTimestamp")}

    @staticmethod
    def sides_of(objs: dict[tuple[str, str], dict[str, Any]]) -> dict[str, int]:
        """pod-template-hash → ready pods of the ReplicaSets with replicas > 0."""
        return {rs["metadata"]["labels"][PTH]: int(rs["status"].get("readyReplicas") or 0)
                for (kind, _), rs in objs.items() if kind == "ReplicaSet" and rs["spec"].get("replicas")}

    def sides(self) -> dict[str, int]:
        return self.sides_of(self.look())

    def wait_sides(self, want: dict[str, int], timeout: float = 60) -> None:
        wait_for(self.sides, lambda s: s == want, timeout=timeout, what=f"ready pods per revision {want}")

    def fast_approve(self) -> None:
        """What ``kubectl kruise rollout approve`` writes (checked once per module; the plugin costs seconds)."""
        body = '{"status":{"currentStepState":"StepReady","blueGreenStatus":{"currentStepState":"StepReady"}}}'
        self.kc("-n", self.ns, "patch", BETA, ROLLOUT, "--subresource=status", "--type=merge", "-p", body)

    def assert_step(self, step: int, weight: str, new: int, total: int = 4) -> dict[str, Any]:  # type: ignore[override]
        """Paused at ``step``: ``new`` pods beside all 5 old ones, the canary Ingress weight, the stable
        Service pinned to the old pods, the canary Service on the new, and ``blueGreenStatus``."""
        message = step_paused_message(step, total)

        def paused(objs: dict[tuple[str, str], dict[str, Any]]) -> bool:
            st = objs[("Rollout", ROLLOUT)].get("status") or {}
            bg = st.get("blueGreenStatus") or {}
            return (st.get("message") == message and bg.get("currentStepState") == "StepPaused"
                    and self.sides_of(objs) == {bg.get("stableRevision"): 5, bg.get("podTemplateHash"): new})

        objs = wait_for(self.look, paused, timeout=60, what=f"step {step} paused with {new} new pods beside 5 old")
        st = objs[("Rollout", ROLLOUT)]["status"]
        bg = st["blueGreenStatus"]
        stable, new_hash = bg["stableRevision"], bg["podTemplateHash"]
        assert "canaryStatus" not in st and (st["phase"], st["currentStepIndex"]) == ("Progressing", step)
        assert bg["currentStepIndex"] == step and bg["updatedRevision"]
        assert bg["updatedReplicas"] == new and bg["updatedReadyReplicas"] == new, bg
        assert bg["nextStepIndex"] == (step + 1 if step < total else -1)
        ing = objs.get(("Ingress", f"{NAME}-canary"))
        got = {k: v for k, v in ing["metadata"].get("annotations", {}).items() if k.startswith(P)} if ing else None
        # traffic-routing.md §4.1: no canary Ingress is created for weight 0
        assert got == (None if weight == "0" else {P + "canary": "true", P + "canary-weight": weight}), got
        assert objs[("Service", NAME)]["spec"]["selector"] == {"app": NAME, PTH: stable}
        assert objs[("Service", f"{NAME}-canary")]["spec"]["selector"] == {"app": NAME, PTH: new_hash}
        d = objs[("Deployment", NAME)]
        assert d["spec"]["minReadySeconds"] == 2147483646 and d["spec"]["progressDeadlineSeconds"] == 2147483647
        assert d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert ORIGINAL in d["metadata"]["annotations"] and CONTROL_INFO in d["metadata"]["annotations"]
        return dict(bg)

    def assert_handed_back_as_before(self) -> None:
        """The user's strategy, minReadySeconds and progress deadline back; nothing of ours left."""
        d = self.stable()
        assert not d["spec"].get("paused"), d["spec"]
        for key in ("strategy", "minReadySeconds", "progressDeadlineSeconds"):
            assert d["spec"].get(key) == self.deploy_before["spec"].get(key), key
        anns = d["metadata"].get("annotations") or {}
        assert not {ORIGINAL, CONTROL_INFO, "rollouts.kruise.io/in-progressing"} & set(anns), anns
        assert "rollouts.kruise.io/stable-revision" not in (d["metadata"].get("labels") or {})


@attrs.frozen
class Look:
    """One sample of a blue-green rollback: the canary Ingress's weight (None: no canary Ingress), the
    new side's ``spec.replicas`` (0: scaled away) and the stable Service's selector."""

    at: float
    weight: str | None
    new_replicas: int
    selector: dict[str, str]


class RollbackTimeline(Sampling[Look]):
    """Samples :meth:`BlueGreen.look` in a thread, so a test can assert the *order* of a rollback:
    traffic back to the old side before a single new pod goes (traffic-routing.md §7)."""

    def __init__(self, c: BlueGreen, new_hash: str) -> None:
        super().__init__()
        self.c, self.new_hash = c, new_hash

    def _sample(self) -> Look:
        objs = self.c.look()
        ing = objs.get(("Ingress", f"{NAME}-canary"))
        weight = (ing["metadata"].get("annotations") or {}).get(P + "canary-weight") if ing else None
        new = [int(rs["spec"].get("replicas") or 0) for (kind, _), rs in objs.items()
               if kind == "ReplicaSet" and rs["metadata"]["labels"].get(PTH) == self.new_hash]
        return Look(time.monotonic(), weight, sum(new), dict(objs[("Service", NAME)]["spec"]["selector"]))
