"""The Rollout reconciler's traffic glue with fakes: actions performed through the core, results fed back.

A stored Rollout (partition style, steps ``traffic 5% / replicas 1`` then ``replicas 100%``) is
reconciled repeatedly: each status patch is merged into the stored object, time is stepped by the
requested requeue. Services and the Ingress live in the traffic tests' in-memory client.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from rollouts.api import keys
from rollouts.api.decode import as_rollout
from rollouts.controllers.rollout.controller import RolloutReconciler
from rollouts.controllers.rollout.finalising import TrafficTasks, reset_for_continuous_release, run_finalising
from rollouts.controllers.rollout.traffic import routing_context
from rollouts.controllers.rollout.workload import update_revision
from rollouts.rollout.hashing import plan_hash
from runtime.cache.store import Store, object_key
from runtime.clock import FakeClock
from runtime.kube.resources import INGRESSES, SERVICES, Resource
from runtime.reconcile import Request
from tests.unit.controllers.test_rollout_reconciler import DEPLOYMENT
from tests.unit.trafficrouting.fakes import SEED_INGRESS, SEED_SERVICE, FakeClient, merge_patch

P = "nginx.ingress.kubernetes.io/"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEPS = [{"replicas": 1, "traffic": "5%"}, {"replicas": "100%"}]
ROUTING = [{"service": "echoserver", "ingress": {"name": "echoserver"}, "gracePeriodSeconds": 2}]


class Client(FakeClient):
    """Services/Ingresses as in the traffic tests, plus the Rollout verbs the reconciler uses."""

    def __init__(self) -> None:
        super().__init__()
        self.rv = 100
        self.statuses: list[dict] = []

    async def patch(self, res: Resource, name: str, body: Any, namespace: str | None = None, *,
                    patch_type: str = "merge") -> dict:
        if res.kind == "Rollout":
            self.rv += 1
            return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(self.rv)}}
        return await super().patch(res, name, body, namespace, patch_type=patch_type)

    async def patch_status(self, res: Resource, name: str, body: dict, namespace: str | None = None) -> dict:
        self.rv += 1
        self.statuses.append(body["status"])
        return {"metadata": {"resourceVersion": str(self.rv)}}


class Inf:
    def __init__(self, *objs: dict) -> None:
        self.store = Store()
        for o in objs:
            self.store.put(object_key(o), o)


def rollout(state: str, index: int = 1, **extra: Any) -> dict:
    ro = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
          "metadata": {"name": "ro", "namespace": "default", "uid": "ro-u", "generation": 1, "resourceVersion": "10",
                       "finalizers": [keys.ROLLOUT_FINALIZER]},
          "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                   "strategy": {"canary": {"steps": copy.deepcopy(STEPS), "trafficRoutings": copy.deepcopy(ROUTING)}}}}
    h = plan_hash(as_rollout(ro))
    ro["metadata"]["annotations"] = {keys.ROLLOUT_HASH_ANNOTATION: h}
    ro["status"] = {
        "phase": "Progressing", "observedGeneration": 1, "currentStepIndex": index, "currentStepState": state,
        "conditions": [{"type": "Progressing", "status": "True", "reason": "InRolling", "message": "m",
                        "lastUpdateTime": "2024-01-01T00:00:00Z", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
        "canaryStatus": {"observedWorkloadGeneration": 1, "rolloutHash": h, "observedRolloutID": "",
                         "stableRevision": "s1", "canaryRevision": update_revision(DEPLOYMENT),
                         "podTemplateHash": "c2", "canaryReplicas": 1, "canaryReadyReplicas": 1,
                         "currentStepIndex": index, "nextStepIndex": index + 1 if index < 2 else -1,
                         "currentStepState": state, "finalisingStep": "", "lastUpdateTime": "2024-01-01T00:00:00Z",
                         **extra}}
    return ro


def deployment(**labels: str) -> dict:
    d = copy.deepcopy(DEPLOYMENT)
    d["metadata"]["namespace"] = "default"
    d["metadata"]["annotations"] = {keys.IN_PROGRESSING_ANNOTATION: "{}"}
    d["metadata"]["labels"].update(labels)
    return d


class Harness:
    def __init__(self, ro: dict, *, seed: bool = True) -> None:
        self.client = Client()
        if seed:
            self.client.put(SERVICES, SEED_SERVICE, "default")
            self.client.put(INGRESSES, SEED_INGRESS, "default")
        self.clock = FakeClock(start=T0)
        self.ro = ro
        self.rollouts = Inf(ro)
        self.reconciler = RolloutReconciler(self.client, self.rollouts, Inf(), Inf(deployment()), Inf(), None,
                                            self.clock)

    async def step(self) -> float | None:
        """One reconcile; its status patch merged into the stored Rollout; returns the requeue."""
        n = len(self.client.statuses)
        result = await self.reconciler.reconcile(Request("default", "ro"))
        if len(self.client.statuses) > n:
            self.ro = merge_patch(self.ro, {"status": self.client.statuses[-1]})
            self.ro["metadata"]["resourceVersion"] = str(self.client.rv)
            self.rollouts.store.put(object_key(self.ro), self.ro)
        return result.requeue_after

    async def run_until(self, state: str, rounds: int = 12) -> list[float | None]:
        waits = []
        for _ in range(rounds):
            wait = await self.step()
            waits.append(wait)
            if self.ro["status"]["canaryStatus"]["currentStepState"] == state:
                return waits
            self.clock.step(wait or 3)
        raise AssertionError(f"never reached {state}: {self.ro['status']}")

    def selector(self, name: str = "echoserver") -> dict:
        found = self.client.find(SERVICES, name)
        assert found is not None, name
        return found["spec"]["selector"]


async def test_before_step_upgrade_of_step_one_pins_the_stable_service_then_upgrades() -> None:
    h = Harness(rollout("BeforeStepUpgrade"))
    wait = await h.step()
    assert h.selector() == {"app": "echoserver", "pod-template-hash": "s1"}
    assert h.ro["status"]["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"  # grace after the change
    assert wait == 2.0
    h.clock.step(2)
    await h.step()
    assert h.ro["status"]["canaryStatus"]["currentStepState"] == "StepUpgrade"
    assert h.client.writes == [("patch", "Service", "echoserver"), ("create", "BatchRelease", "ro")]


async def test_step_traffic_routing_creates_canary_objects_and_copies_the_context_back() -> None:
    h = Harness(rollout("StepTrafficRouting"))
    h.clock.step(10)  # past the grace after StepUpgrade
    await h.step()
    sub = h.ro["status"]["canaryStatus"]
    assert sub["currentStepState"] == "StepTrafficRouting"
    assert sub["lastUpdateTime"] == "2024-01-01T00:00:10Z"  # the time of the network change
    assert sub["message"] == "Services echoserver and echoserver-canary updated"
    assert h.selector("echoserver-canary") == {"app": "echoserver", "pod-template-hash": "c2"}
    await h.run_until("StepPaused")
    canary = h.client.find(INGRESSES, "echoserver-canary")
    assert canary is not None
    assert canary["metadata"]["annotations"] == {P + "canary": "true", P + "canary-weight": "5"}
    assert canary["metadata"]["ownerReferences"][0]["uid"] == "ro-u"
    assert h.client.writes == [("create", "Service", "echoserver-canary"), ("patch", "Service", "echoserver"),
                               ("create", "Ingress", "echoserver-canary"), ("patch", "Ingress", "echoserver-canary")]


async def test_a_step_without_traffic_tears_routing_down_before_upgrading() -> None:
    h = Harness(rollout("BeforeStepUpgrade", index=2))
    h.client.put(SERVICES, {**SEED_SERVICE, "metadata": {"name": "echoserver-canary"}}, "default")
    h.client.objects[("services", "default", "echoserver")]["spec"]["selector"]["pod-template-hash"] = "s1"
    h.client.put(INGRESSES, {**SEED_INGRESS, "metadata": {"name": "echoserver-canary"}}, "default")
    await h.run_until("StepUpgrade")
    assert h.client.writes[:3] == [("patch", "Service", "echoserver"), ("delete", "Ingress", "echoserver-canary"),
                                   ("delete", "Service", "echoserver-canary")]
    assert h.selector() == {"app": "echoserver"}


async def test_missing_service_is_the_message_and_nothing_is_written() -> None:
    ro = rollout("BeforeStepUpgrade")
    ro["status"] = {"phase": "Healthy", "observedGeneration": 1}
    h = Harness(ro, seed=False)
    h.client.put(INGRESSES, SEED_INGRESS, "default")
    for _ in range(3):
        await h.step()
        h.clock.step(5)
    status = h.ro["status"]
    assert status["phase"] == "Progressing"
    want = ("Service default/echoserver named in spec.strategy.canary.trafficRoutings[0].service does not exist; "
            "create it or correct the name")
    assert status["message"] == want
    assert [c["reason"] for c in status["conditions"] if c["type"] == "Progressing"] == ["Initializing"]
    assert h.client.writes == []  # no Service, Ingress or BatchRelease touched
    h.client.put(SERVICES, SEED_SERVICE, "default")  # the user fixes it: the release starts
    await h.step()
    assert h.ro["status"]["message"] == "Rollout is in Progressing"


async def test_a_match_nginx_cannot_express_holds_initializing_before_anything_is_written() -> None:
    ro = rollout("BeforeStepUpgrade")
    ro["spec"]["strategy"]["canary"]["steps"][1] = {"replicas": "100%", "matches": [
        {"headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]}]}
    ro["status"] = {"phase": "Healthy", "observedGeneration": 1}
    h = Harness(ro)
    for _ in range(2):
        await h.step()
        h.clock.step(5)
    assert h.ro["status"]["message"].startswith("spec.strategy.canary.steps[1].matches[0].headers: the nginx "
                                                "Ingress provider needs exactly one header per match (got 2)")
    assert h.client.writes == []


async def test_a_step_nginx_cannot_express_is_the_message_and_nothing_is_written() -> None:
    ro = rollout("StepTrafficRouting")
    ro["spec"]["strategy"]["canary"]["steps"][0] = {"replicas": 1, "matches": [{"path": {"value": "/x"}}]}
    ro["metadata"]["annotations"][keys.ROLLOUT_HASH_ANNOTATION] = plan_hash(as_rollout(ro))
    ro["status"]["canaryStatus"]["rolloutHash"] = plan_hash(as_rollout(ro))
    h = Harness(ro)
    await h.step()
    assert h.ro["status"]["message"].startswith("spec.strategy.canary.steps[0].matches[0]: the nginx Ingress "
                                                "provider routes by one header or cookie only")
    assert h.client.writes == []


def _released() -> FakeClient:
    c = FakeClient()
    c.put(SERVICES, {**SEED_SERVICE, "spec": {**SEED_SERVICE["spec"], "selector": {
        "app": "echoserver", "pod-template-hash": "s1"}}}, "default")
    c.put(SERVICES, {**SEED_SERVICE, "metadata": {"name": "echoserver-canary"}}, "default")
    c.put(INGRESSES, SEED_INGRESS, "default")
    c.put(INGRESSES, {**SEED_INGRESS, "metadata": {"name": "echoserver-canary"}}, "default")
    c.put(Resource("rollouts.kruise.io", "v1beta1", "batchreleases", "BatchRelease"), {
        "metadata": {"name": "ro"}, "spec": {"releasePlan": {"batchPartition": 0, "batches": []}}}, "default")
    return c


async def _finalise(reason: str) -> list[tuple[str, str, str]]:
    """Rounds of RunFinalising until complete (grace stepped); the BatchRelease completes when resumed."""
    from rollouts.trafficrouting.manager import TrafficRoutingManager

    client, clock = _released(), FakeClock(start=T0)
    ro = rollout("Completed", index=2)
    ctx = routing_context(as_rollout(ro), ro["status"], revision_label_key="pod-template-hash")
    tasks = TrafficTasks(TrafficRoutingManager(client, clock=clock), ctx)
    for _ in range(12):
        br = client.find(Resource("rollouts.kruise.io", "v1beta1", "batchreleases", "BatchRelease"), "ro")
        if br is not None and br["spec"]["releasePlan"].get("batchPartition") is None:
            br["status"] = {"phase": "Completed"}
        if await run_finalising(client, ro, None, br, wait_ready=False, reason=reason, traffic=tasks):
            return client.writes
        clock.step(3)
    raise AssertionError(client.writes)


async def test_finalising_order_success_and_rollback() -> None:
    restore, gateway, canary_svc = (("patch", "Service", "echoserver"), ("delete", "Ingress", "echoserver-canary"),
                                    ("delete", "Service", "echoserver-canary"))
    resume, release = ("patch", "BatchRelease", "ro"), ("delete", "BatchRelease", "ro")
    for reason in ("Success", "RolloutDeleting", "RolloutDisabled"):
        assert await _finalise(reason) == [restore, gateway, canary_svc, resume, release], reason
    assert await _finalise("Rollback") == [gateway, resume, release, restore, canary_svc]


async def test_continuous_release_reset_keeps_the_stable_service_pinned() -> None:
    from rollouts.trafficrouting.manager import TrafficRoutingManager

    client, clock = _released(), FakeClock(start=T0)
    ro = rollout("StepPaused")
    tasks = TrafficTasks(TrafficRoutingManager(client, clock=clock),
                         routing_context(as_rollout(ro), ro["status"], revision_label_key="pod-template-hash"))
    brs = Resource("rollouts.kruise.io", "v1beta1", "batchreleases", "BatchRelease")
    for _ in range(6):
        if await reset_for_continuous_release(client, client.find(brs, "ro"), tasks):
            break
        clock.step(3)
    assert client.writes == [("delete", "Ingress", "echoserver-canary"), ("delete", "BatchRelease", "ro"),
                             ("delete", "Service", "echoserver-canary")]
    found = client.find(SERVICES, "echoserver")
    assert found is not None and found["spec"]["selector"]["pod-template-hash"] == "s1"


def test_routing_context_reads_the_current_step_and_the_sub_status() -> None:
    ro = rollout("StepTrafficRouting")
    ro["spec"]["strategy"]["canary"]["patchPodTemplateMetadata"] = {"labels": {"app": "canary"}}
    ctx = routing_context(as_rollout(ro), ro["status"], revision_label_key="controller-revision-hash")
    assert (ctx.stable_revision, ctx.canary_revision, ctx.traffic, ctx.step_field) == (
        "s1", "c2", "5%", "spec.strategy.canary.steps[0]")
    assert ctx.revision_label_key == "controller-revision-hash" and ctx.pod_labels == {"app": "canary"}
    assert ctx.owner_ref == {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": "ro",
                             "uid": "ro-u", "controller": True, "blockOwnerDeletion": True}
    assert ctx.last_update_time == T0
    # finalising: an index past the steps reads the first step (upstream), no canary Service → no pod labels
    ro["status"]["canaryStatus"]["currentStepIndex"] = 9
    ro["spec"]["strategy"]["canary"]["disableGenerateCanaryService"] = True
    ctx = routing_context(as_rollout(ro), ro["status"], revision_label_key=PTH_KEY)
    assert ctx.step_field == "spec.strategy.canary.steps[0]" and ctx.pod_labels == {}
    assert ctx.canary_service == "echoserver"


def test_initial_check_only_while_a_release_may_be_initializing() -> None:
    from rollouts.controllers.rollout.traffic import needs_initial_check

    ro = as_rollout(rollout("StepPaused"))
    initializing = {"phase": "Progressing", "conditions": [{"type": "Progressing", "reason": "Initializing"}]}
    in_rolling = {"phase": "Progressing", "conditions": [{"type": "Progressing", "reason": "InRolling"}]}
    assert needs_initial_check(ro, {"phase": "Healthy"}, True)
    assert needs_initial_check(ro, initializing, True)
    assert not needs_initial_check(ro, in_rolling, True)
    assert not needs_initial_check(ro, {"phase": "Healthy"}, False)  # no release under way
    plain = rollout("StepPaused")
    plain["spec"]["strategy"]["canary"].pop("trafficRoutings")
    assert not needs_initial_check(as_rollout(plain), {"phase": "Healthy"}, True)


PTH_KEY = "pod-template-hash"


async def test_a_rollback_is_stored_before_finalising_removes_its_evidence() -> None:
    """The rollback is seen through the in-progressing annotation, which finalising removes first: the
    reconcile that decides ``Cancelling`` writes nothing else, so a controller killed (or a status
    write lost) right after cannot mistake the rollback for a continuous release of the old version."""
    d = deployment(**{keys.STABLE_REVISION_LABEL: "s1"})
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "d-s1", "namespace": "default", "uid": "rs-u", "labels": {"pod-template-hash": "s1"},
                       "ownerReferences": [{"controller": True, "uid": d["metadata"]["uid"], "kind": "Deployment",
                                            "name": "d"}]},
          "spec": {"template": copy.deepcopy(d["spec"]["template"])}}
    h = Harness(rollout("StepPaused", canaryRevision="v2"))  # the template is back on the stable one
    h.reconciler = RolloutReconciler(h.client, h.rollouts, Inf(), Inf(d), Inf(rs), None, h.clock)
    h.client.put(INGRESSES, {**SEED_INGRESS, "metadata": {"name": "echoserver-canary"}}, "default")
    await h.step()
    assert h.ro["status"]["conditions"][0]["reason"] == "Cancelling"
    assert h.client.writes == []
    await h.step()
    assert h.client.writes == [("delete", "Ingress", "echoserver-canary")]
