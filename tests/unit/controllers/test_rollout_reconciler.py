"""Rollout reconciler I/O edge: finalizer, one status patch (skipped when unchanged), stale caches."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from rollouts.controllers.common import STALE_CACHE_RETRY_SECONDS
from rollouts.controllers.rollout.controller import RolloutReconciler
from runtime.cache.store import Store, object_key
from runtime.clock import FakeClock
from runtime.reconcile import Request

TEMPLATE = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}


class Inf:
    def __init__(self, *objs: dict) -> None:
        self.store = Store()
        for o in objs:
            self.put(o)

    def put(self, o: dict) -> None:
        self.store.put(object_key(o), o)


class Client:
    def __init__(self, obj: dict | None = None) -> None:
        """``obj``: the object a metadata PATCH is applied to (the answer is then the whole object, as
        the API server's); without it the answer carries only the name and the finalizers."""
        self.calls: list[tuple] = []
        self.rv = 100
        self.obj = obj

    async def patch(self, res: Any, name: str, body: dict, ns: str | None = None, **_: Any) -> dict:
        self.rv += 1
        self.calls.append(("patch", res.kind, body))
        if self.obj is not None:
            patched = copy.deepcopy(self.obj)
            md, change = patched["metadata"], body.get("metadata") or {}
            md.update({k: v for k, v in change.items() if k != "annotations"}, resourceVersion=str(self.rv))
            md["annotations"] = {**(md.get("annotations") or {}), **(change.get("annotations") or {})}
            return patched
        return {"metadata": {"name": name, "namespace": ns, "resourceVersion": str(self.rv),
                             "finalizers": (body.get("metadata") or {}).get("finalizers", [])}}

    async def patch_status(self, res: Any, name: str, body: dict, ns: str | None = None) -> dict:
        self.rv += 1
        self.calls.append(("status", res.kind, body))
        return {"metadata": {"resourceVersion": str(self.rv)}}


def rollout(**status: Any) -> dict:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": "ro", "namespace": "ns", "uid": "ro-u", "generation": 1, "resourceVersion": "10",
                         "finalizers": ["rollouts.kruise.io/rollout"],
                         "annotations": {"rollouts.kruise.io/hash": "x"}},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}},
            "status": status}


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "d", "namespace": "ns", "uid": "u", "generation": 1,
                           "labels": {"rollouts.kruise.io/workload-type": "deployment"}},
              "spec": {"replicas": 10, "template": TEMPLATE}, "status": {"observedGeneration": 1}}


def reconciler(ro: dict, client: Client) -> RolloutReconciler:
    clock = FakeClock(start=datetime(2024, 1, 1, tzinfo=UTC))
    return RolloutReconciler(client, Inf(ro), Inf(), Inf(DEPLOYMENT), Inf(), None, clock)


async def test_first_round_writes_one_status_patch_then_nothing() -> None:
    client = Client()
    r = reconciler(rollout(), client)
    await r.reconcile(Request("ns", "ro"))
    statuses = [c for c in client.calls if c[0] == "status"]
    assert len(statuses) == 1
    written = statuses[0][2]["status"]
    assert written["phase"] == "Healthy" and written["currentStepIndex"] == 0 and written["currentStepState"] == ""
    # the cache is older than our write: no action on it
    assert (await r.reconcile(Request("ns", "ro"))).requeue_after == STALE_CACHE_RETRY_SECONDS


async def test_unchanged_status_is_not_written() -> None:
    client = Client()
    first = reconciler(rollout(), client)
    await first.reconcile(Request("ns", "ro"))
    stored = rollout()
    stored["status"] = copy.deepcopy([c for c in client.calls if c[0] == "status"][0][2]["status"])
    stored["metadata"]["annotations"]["rollouts.kruise.io/hash"] = [
        c for c in client.calls if c[0] == "patch"][0][2]["metadata"]["annotations"]["rollouts.kruise.io/hash"]
    client2 = Client()
    second = reconciler(stored, client2)
    await second.reconcile(Request("ns", "ro"))  # Healthy → completed sub-status (one more change)
    stored["status"] = {**stored["status"], **[c for c in client2.calls if c[0] == "status"][0][2]["status"]}
    client3 = Client()
    await reconciler(stored, client3).reconcile(Request("ns", "ro"))
    assert [c for c in client3.calls if c[0] == "status"] == []


async def test_finalizer_added_first() -> None:
    ro = rollout()
    ro["metadata"]["finalizers"] = []
    client = Client(ro)
    await reconciler(ro, client).reconcile(Request("ns", "ro"))
    from rollouts.rollout.hashing import rollout_plan_hash
    assert client.calls[0] == ("patch", "Rollout", {"metadata": {
        "finalizers": ["rollouts.kruise.io/rollout"], "resourceVersion": "10",
        "annotations": {"rollouts.kruise.io/hash": rollout_plan_hash(ro)}}})
    # The plan hash went with the finalizer: the round does not PATCH the Rollout's metadata again.
    assert [c[0] for c in client.calls if c[1] == "Rollout"] == ["patch", "status"]


async def test_a_rollout_that_does_not_decode_still_gets_its_finalizer_first() -> None:
    ro = rollout()
    ro["metadata"]["finalizers"] = []
    ro["spec"]["strategy"]["canary"]["steps"] = "not a list"
    client = Client(ro)
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the decoder raises, after the finalizer
        await reconciler(ro, client).reconcile(Request("ns", "ro"))
    assert client.calls == [("patch", "Rollout", {"metadata": {"finalizers": ["rollouts.kruise.io/rollout"],
                                                               "resourceVersion": "10"}})]


async def test_a_stored_hash_is_not_rewritten_with_the_finalizer() -> None:
    from rollouts.rollout.hashing import rollout_plan_hash
    ro = rollout()
    ro["metadata"]["finalizers"] = []
    ro["metadata"].setdefault("annotations", {})["rollouts.kruise.io/hash"] = rollout_plan_hash(ro)
    client = Client()
    await reconciler(ro, client).reconcile(Request("ns", "ro"))
    assert client.calls[0] == ("patch", "Rollout", {"metadata": {"finalizers": ["rollouts.kruise.io/rollout"],
                                                                 "resourceVersion": "10"}})


async def test_unsupported_rollout_only_reports_it() -> None:
    """A Rollout with an unbuilt feature created before the webhook: one status patch saying so, no release work."""
    ro = rollout()
    ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    ro["spec"]["strategy"]["canary"]["steps"][0]["requestHeaderModifier"] = {"set": [{"name": "h", "value": "v"}]}
    client = Client()
    await reconciler(ro, client).reconcile(Request("ns", "ro"))
    assert [c[0] for c in client.calls] == ["status"]
    written = client.calls[0][2]["status"]
    assert written["phase"] == "Initial"
    assert "spec.strategy.canary.steps[0].requestHeaderModifier: request header" in written["message"]
    assert "is not yet supported by this controller" in written["message"]
    assert written["conditions"][0]["reason"] == "Unsupported" and written["conditions"][0]["status"] == "False"


async def test_fixed_rollout_loses_the_unsupported_condition() -> None:
    halted = rollout(phase="Initial", message="Rollout is not run by this controller: x",
                     conditions=[{"type": "Progressing", "status": "False", "reason": "Unsupported",
                                  "message": "x", "lastUpdateTime": "2024-01-01T00:00:00Z",
                                  "lastTransitionTime": "2024-01-01T00:00:00Z"}])
    client = Client()
    await reconciler(halted, client).reconcile(Request("ns", "ro"))
    written = [c for c in client.calls if c[0] == "status"][0][2]["status"]
    assert written["phase"] == "Healthy" and written["conditions"] == []


async def test_missing_crd_is_named_in_the_status() -> None:
    from runtime.kube.errors import NotFound

    class NoKruise(Client):
        async def get(self, res: Any, name: str, ns: str | None = None) -> dict:
            raise NotFound(f"{res.plural} {name} not found")

    ro = rollout()
    ro["spec"]["workloadRef"] = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "name": "c"}
    client = NoKruise()
    await reconciler(ro, client).reconcile(Request("ns", "ro"))
    written = [c for c in client.calls if c[0] == "status"][0][2]["status"]
    assert written["phase"] == "Initial"
    assert written["message"] == ("workloadRef kind CloneSet (apps.kruise.io/v1alpha1): the CRD "
                                  "clonesets.apps.kruise.io is not installed; install OpenKruise or fix "
                                  "spec.workloadRef")
