"""The seed's part 2 objects released in canary style *with* traffic, and the views the tests check.

``echoserver`` (5 replicas) with its Service and the seed's nginx Ingress, released by a v1beta1
Rollout with ``enableExtraWorkloadForCanary: true`` and traffic steps. No ingress controller runs:
as upstream's e2e does, the routing objects are checked, not traffic. :class:`Timeline` samples the
namespace in the background, so a test can assert what was *never* seen (a second canary
Deployment, a weight on a failing canary, a canary scaled down) and the order things went away in.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any, Generic, Self, TypeVar

import attrs
import yaml

from tests.e2e.harness import step_paused_message, wait_for
from tests.integration.release.test_canary_style import CANARY_NAME, NAME, ROLLOUT, Canary
from tests.unit.trafficrouting.fakes import SEED_INGRESS

S = TypeVar("S")

P = "nginx.ingress.kubernetes.io/"
PTH = "pod-template-hash"
#: Fields the API server changes on every write; "equal to the pre-release form" ignores them.
VOLATILE = ("resourceVersion", "managedFields", "generation")
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME, "labels": {"app": NAME}},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": NAME}}}
#: 20% of traffic on 1 pod, 60% on 3, then all 5 pods without traffic.
STEPS = [{"traffic": "20%", "replicas": 1, "pause": {}}, {"traffic": "60%", "replicas": "60%", "pause": {}},
         {"replicas": "100%", "pause": {}}]
COMPLETED = ("Healthy", "3", "Completed", "Rollout progressing has been completed")


def rollout_body(ns: str, steps: list[dict[str, Any]], grace: int = 1) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": ROLLOUT, "namespace": ns},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
                     "strategy": {"canary": {
                         "enableExtraWorkloadForCanary": True, "steps": copy.deepcopy(steps),
                         "trafficRoutings": [{"service": NAME, "gracePeriodSeconds": grace,
                                              "ingress": {"classType": "nginx", "name": NAME}}]}}}}


def comparable(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}}


@attrs.frozen
class Sample:
    """One look at the namespace: canary Deployments (name → spec.replicas, deleting ones left out),
    whether the canary Service exists, the canary Ingress's weight (None: no Ingress or no weight)."""

    at: float
    canaries: dict[str, int]
    canary_service: bool
    canary_ingress: bool
    weight: str | None


class CanaryTraffic(Canary):
    """:class:`Canary` plus the Service, the Ingress and their pre-release form."""

    before: dict[str, Any]

    def setup(self, steps: list[dict[str, Any]] = STEPS, grace: int = 1) -> None:
        for obj in (SERVICE, SEED_INGRESS):
            body = copy.deepcopy(obj)
            body["metadata"]["namespace"] = self.ns
            self.kc("apply", "-f", "-", input=yaml.safe_dump(body))
        self.create(rollout_body(self.ns, steps, grace))
        self.before = self.snapshot()

    def get(self, resource: str, name: str) -> dict[str, Any] | None:
        out = self.kc("-n", self.ns, "get", resource, name, "-o", "json", "--ignore-not-found")
        return json.loads(out) if out.strip() else None

    def snapshot(self) -> dict[str, Any]:
        return {"svc": comparable(self.get("service", NAME)), "ing": comparable(self.get("ingress", NAME))}

    def selector(self, name: str = NAME) -> dict[str, str]:
        svc = self.get("service", name)
        assert svc is not None, f"Service {name} missing"
        return svc["spec"]["selector"]

    def canary_annotations(self) -> dict[str, str] | None:
        ing = self.get("ingress", f"{NAME}-canary")
        if ing is None:
            return None
        return {k: v for k, v in (ing["metadata"].get("annotations") or {}).items() if k.startswith(P)}

    def sample(self) -> Sample:
        items = self.kc.json("-n", self.ns, "get", "deploy,svc,ingress")["items"]
        live = [i for i in items if not i["metadata"].get("deletionTimestamp")]
        names = {(i["kind"], i["metadata"]["name"]): i for i in live}
        ing = names.get(("Ingress", f"{NAME}-canary"))
        return Sample(at=time.monotonic(),
                      canaries={i["metadata"]["name"]: i["spec"]["replicas"] for i in live
                                if i["kind"] == "Deployment" and CANARY_NAME.match(i["metadata"]["name"])},
                      canary_service=("Service", f"{NAME}-canary") in names, canary_ingress=ing is not None,
                      weight=((ing or {}).get("metadata", {}).get("annotations") or {}).get(P + "canary-weight"))

    def orphans(self) -> list[str]:
        """Canary objects left: canary Deployments (deleting ones too), Service, Ingress, BatchRelease."""
        left = [f"deployment/{d['metadata']['name']}" for d in self.canaries()]
        left += [f"{kind}/{NAME}-canary" for kind in ("service", "ingress") if self.get(kind, f"{NAME}-canary")]
        return left + self.batch_releases()

    def wait_restored(self, timeout: float = 90) -> None:
        """Service and Ingress equal their pre-release form field for field; no canary object left."""
        wait_for(lambda: (self.snapshot(), self.orphans()), lambda s: s == (self.before, []), timeout=timeout,
                 what="Service and Ingress restored, no canary Deployment/Service/Ingress/BatchRelease left")

    def canary_pod_hashes(self, canary: str) -> set[str]:
        pods = self.kc.json("-n", self.ns, "get", "pods", "-l", f"app={NAME}")["items"]
        return {p["metadata"]["labels"][PTH] for p in pods if not p["metadata"].get("deletionTimestamp")
                and p["metadata"]["ownerReferences"][0]["name"].rsplit("-", 1)[0] == canary}

    def assert_step(self, step: int, weight: str, replicas: int, total: int = 3) -> str:
        """Paused at ``step``: weight on the canary Ingress, ``replicas`` ready canary pods selected by
        the canary Service, the stable Service pinned to the stable pods. Returns the canary's name."""
        self.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, total)))
        assert self.canary_annotations() == {P + "canary": "true", P + "canary-weight": weight}
        n = str(replicas)
        rows = self.wait_deploys({NAME: ("5/5", "0", "5"), "canary": (f"{n}/{n}", n, n)})
        (canary,) = [n for n in rows if CANARY_NAME.match(n)]
        cs = self.rollout()["status"]["canaryStatus"]
        assert self.selector(f"{NAME}-canary") == {"app": NAME, PTH: cs["podTemplateHash"]}
        assert self.canary_pod_hashes(canary) == {cs["podTemplateHash"]}
        assert self.selector() == {"app": NAME, PTH: cs["stableRevision"]}
        return canary


class Sampling(Generic[S]):
    """Calls ``_sample`` every 0.15 s in a thread until stopped (a context manager), keeping each sample;
    a sample that raises (a kubectl hiccup, an object between writes) is skipped."""

    def __init__(self) -> None:
        self.samples: list[S] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> S:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self._sample())
            except (AssertionError, ValueError, KeyError):
                pass  # the next sample will do
            self._stop.wait(0.15)

    def __enter__(self) -> Self:
        # the first sample is taken before the body runs, so ``samples[0]`` is the state the body started
        # from even when the thread's first ``kubectl`` would land after a loaded controller already acted
        for _ in range(20):
            try:
                self.samples.append(self._sample())
                break
            except (AssertionError, ValueError, KeyError):
                time.sleep(0.15)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class Timeline(Sampling[Sample]):
    """Samples :meth:`CanaryTraffic.sample` in a thread until stopped (a context manager)."""

    def __init__(self, c: CanaryTraffic) -> None:
        super().__init__()
        self.c = c

    def _sample(self) -> Sample:
        return self.c.sample()

    def first(self, pred: Any) -> float | None:
        return next((s.at for s in self.samples if pred(s)), None)


def wait_status(c: Canary, pred: Any, what: str, timeout: float = 90) -> dict[str, Any]:
    return wait_for(c.rollout, lambda ro: pred(ro.get("status") or {}), timeout=timeout, what=what)
