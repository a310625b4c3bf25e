"""The Rollout side of a TrafficRouting object, through the real Rollout reconciler with fakes.

A Rollout annotated ``rollouts.kruise.io/trafficrouting: tr-demo`` (no trafficRoutings of its own)
waits in Initializing for the object, attaches with ``progressing.rollouts.kruise.io/ro`` and writes
no traffic object itself; finalising (any reason) detaches, also when nothing had started.
"""

from __future__ import annotations

from rollouts.api import keys
from rollouts.api.decode import as_rollout
from rollouts.controllers.common import TRAFFICROUTINGS
from rollouts.controllers.rollout.finalising import run_finalising
from rollouts.rollout.hashing import plan_hash
from tests.unit.controllers.test_rollout_traffic import Harness, rollout

ATTACHED = "progressing.rollouts.kruise.io/ro"
TR = {"apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "TrafficRouting",
      "metadata": {"name": "tr-demo", "finalizers": [keys.TRAFFIC_ROUTING_FINALIZER]},
      "spec": {"objectRef": [{"service": "echoserver", "ingress": {"name": "echoserver"}}], "strategy": {"weight": 5}},
      "status": {"phase": "Healthy"}}


def annotated() -> dict:
    ro = rollout("BeforeStepUpgrade")
    canary = ro["spec"]["strategy"]["canary"]
    del canary["trafficRoutings"]
    canary["steps"] = [{"replicas": 1}, {"replicas": "100%"}]
    ro["metadata"]["annotations"][keys.TRAFFIC_ROUTING_ANNOTATION] = "tr-demo"
    ro["metadata"]["annotations"][keys.ROLLOUT_HASH_ANNOTATION] = plan_hash(as_rollout(ro))
    ro["status"] = {"phase": "Healthy", "observedGeneration": 1}
    return ro


def finalizers(h: Harness) -> list[str]:
    tr = h.client.find(TRAFFICROUTINGS, "tr-demo")
    assert tr is not None
    return tr["metadata"]["finalizers"]


def reason(h: Harness) -> str:
    (cond,) = [c for c in h.ro["status"]["conditions"] if c["type"] == "Progressing"]
    return cond["reason"]


async def rounds(h: Harness, n: int) -> None:
    for _ in range(n):
        h.clock.step(await h.step() or 3)


async def test_initializing_waits_for_the_trafficrouting_then_attaches_and_writes_no_traffic_object() -> None:
    h = Harness(annotated())
    await rounds(h, 3)
    assert h.ro["status"]["phase"] == "Progressing" and reason(h) == "Initializing"
    assert h.ro["status"]["message"] == ("TrafficRouting default/tr-demo named in metadata.annotations"
                                         "[rollouts.kruise.io/trafficrouting] does not exist; create it or correct "
                                         "the name")
    h.client.put(TRAFFICROUTINGS, TR, "default")
    await rounds(h, 3)
    assert finalizers(h) == [keys.TRAFFIC_ROUTING_FINALIZER, ATTACHED]
    assert reason(h) == "InRolling"
    assert [w for w in h.client.writes if w[1] in ("Service", "Ingress")] == []  # the object routes, not the Rollout


async def test_a_restoring_trafficrouting_is_waited_for() -> None:
    h = Harness(annotated())
    h.client.put(TRAFFICROUTINGS, {**TR, "status": {"phase": "Finalizing"}}, "default")
    await rounds(h, 4)
    assert reason(h) == "Initializing" and "to restore its traffic (phase Finalizing)" in h.ro["status"]["message"]
    assert finalizers(h) == [keys.TRAFFIC_ROUTING_FINALIZER]
    h.client.objects[(TRAFFICROUTINGS.plural, "default", "tr-demo")]["status"]["phase"] = "Healthy"
    await rounds(h, 2)
    assert finalizers(h) == [keys.TRAFFIC_ROUTING_FINALIZER, ATTACHED] and reason(h) == "InRolling"


async def test_finalising_detaches_even_before_anything_started() -> None:
    h = Harness(annotated())
    h.client.put(TRAFFICROUTINGS, {**TR, "metadata": {**TR["metadata"], "finalizers": [
        keys.TRAFFIC_ROUTING_FINALIZER, ATTACHED, "progressing.rollouts.kruise.io/other"]}}, "default")
    ro = annotated()
    ro["status"] = {"phase": "Terminating"}  # no sub-status: nothing was started
    assert await run_finalising(h.client, ro, None, None, wait_ready=False, reason="RolloutDeleting")
    assert finalizers(h) == [keys.TRAFFIC_ROUTING_FINALIZER, "progressing.rollouts.kruise.io/other"]
    h.client.objects.pop((TRAFFICROUTINGS.plural, "default", "tr-demo"))
    assert await run_finalising(h.client, ro, None, None, wait_ready=False, reason="RolloutDeleting")  # NotFound ok
