"""Per-Rollout metrics: state read from the cache at scrape time, events from status transitions, no
series left behind by a deleted Rollout."""

from __future__ import annotations

import copy

from prometheus_client.parser import text_string_to_metric_families

from rollouts.controllers.rollout.metrics import RolloutEventObserver, RolloutStateCollector
from runtime.cache.store import Store, object_key
from runtime.clock import FakeClock
from runtime.metrics import Registry

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}
STEPS = [{"replicas": 1, "traffic": "10%", "pause": {}},
         {"replicas": "50%", "traffic": "50%", "pause": {"duration": 5}},
         {"replicas": "100%"}]


def rollout(name: str = "ro", *, phase: str = "Progressing", index: int = 1, state: str = "StepUpgrade",
            routed: bool = True, updated: str = "2026-01-01T00:00:00Z", reason: str = "InRolling",
            rollout_id: str = "") -> dict:
    canary: dict = {"steps": copy.deepcopy(STEPS)}
    if routed:
        canary["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    return {
        "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {"workloadRef": REF, "strategy": {"canary": canary}},
        "status": {"phase": phase,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": reason, "message": ""}],
                   "canaryStatus": {"currentStepIndex": index, "currentStepState": state, "nextStepIndex": index + 1,
                                    "podTemplateHash": "h", "canaryRevision": "r", "canaryReplicas": 1,
                                    "canaryReadyReplicas": 1, "finalisingStep": "", "lastUpdateTime": updated,
                                    "observedRolloutID": rollout_id}},
    }


def samples(registry: Registry) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(registry.render()) for s in fam.samples}


def series_of(registry: Registry, name: str) -> dict[frozenset, float]:
    return {labels: v for (n, labels), v in samples(registry).items() if n == name}


def setup(*objs: dict, leader: bool = True):
    store, clock, registry = Store(), FakeClock(), Registry()
    for o in objs:
        store.put(object_key(o), o)
    registry.register(RolloutStateCollector(store, clock, active=lambda: leader))
    observer = RolloutEventObserver(registry, clock, active=lambda: leader)
    return store, clock, registry, observer


RO = frozenset({("namespace", "ns"), ("name", "ro")})


def test_state_gauges_show_phase_step_state_weight_and_the_wait_for_approval() -> None:
    store, clock, registry, _ = setup(rollout(state="StepPaused", updated="2026-01-01T00:00:00Z"))
    clock.step(120)  # the fake clock starts at 2026-01-01T00:00:00Z
    got = samples(registry)
    assert got[("kruise_rollout_phase", RO | {("phase", "Progressing")})] == 1
    assert got[("kruise_rollout_phase", RO | {("phase", "Healthy")})] == 0
    assert got[("kruise_rollout_step", RO)] == 1
    assert got[("kruise_rollout_step_state", RO | {("state", "StepPaused")})] == 1
    assert got[("kruise_rollout_step_state", RO | {("state", "StepUpgrade")})] == 0
    assert got[("kruise_rollout_traffic_weight_percent", RO)] == 10  # step 1's traffic, past StepTrafficRouting
    assert got[("kruise_rollout_waiting_for_approval_seconds", RO)] == 120


def test_weight_is_the_previous_steps_until_the_current_step_routed_and_absent_without_routing() -> None:
    store, _, registry, _ = setup(rollout(index=2, state="StepTrafficRouting"),
                                  rollout("plain", routed=False))
    weights = series_of(registry, "kruise_rollout_traffic_weight_percent")
    assert weights == {RO: 10.0}
    store.put("ns/ro", rollout(index=2, state="StepReady"))
    assert series_of(registry, "kruise_rollout_traffic_weight_percent") == {RO: 50.0}


def test_a_timed_pause_is_not_waiting_for_approval() -> None:
    _, clock, registry, _ = setup(rollout(index=2, state="StepPaused"))
    clock.step(3600)
    assert series_of(registry, "kruise_rollout_waiting_for_approval_seconds") == {RO: 0.0}


def test_healthy_rollout_has_phase_and_step_but_no_step_state() -> None:
    _, _, registry, _ = setup(rollout(phase="Healthy", index=3, state="Completed", reason="Completed"))
    assert series_of(registry, "kruise_rollout_step") == {RO: 3.0}
    assert series_of(registry, "kruise_rollout_step_state") == {}


def test_non_leader_exports_no_rollout_series() -> None:
    _, _, registry, observer = setup(rollout(), leader=False)
    observer.on_update(rollout(state="StepPaused"), rollout(state="StepReady"))
    assert not [n for (n, _) in samples(registry) if n.startswith("kruise_rollout_")]


def test_events_steps_approvals_release_duration_and_rollbacks() -> None:
    _, clock, registry, obs = setup()
    obs.on_update(rollout(phase="Healthy", index=3, state="Completed", reason="Completed"),
                  rollout(index=1, state="StepUpgrade"))
    clock.step(10)
    obs.on_update(rollout(state="StepUpgrade"), rollout(state="StepPaused"))
    clock.step(30)
    obs.on_update(rollout(state="StepPaused"), rollout(state="StepReady"))  # approved after 30 s
    obs.on_update(rollout(state="StepReady"), rollout(index=2, state="StepUpgrade"))
    assert obs.approvals.value(namespace="ns", name="ro") == 1
    assert obs.approval_wait.count(namespace="ns", name="ro") == 1
    got = samples(registry)
    assert got[("kruise_rollout_step_duration_seconds_sum", RO)] == 40
    assert got[("kruise_rollout_approval_wait_seconds_sum", RO)] == 30
    # A timed pause ending is no approval.
    obs.on_update(rollout(index=2, state="StepPaused"), rollout(index=2, state="StepReady"))
    assert obs.approvals.value(namespace="ns", name="ro") == 1
    clock.step(20)
    obs.on_update(rollout(index=2, state="StepReady", reason="InRolling"),
                  rollout(index=2, state="StepReady", reason="Cancelling"))
    assert obs.rollbacks.value(namespace="ns", name="ro") == 1
    obs.on_update(rollout(index=2, state="StepReady", reason="Cancelling"),
                  rollout(phase="Healthy", index=2, state="StepReady", reason="Completed"))
    got = samples(registry)
    assert got[("kruise_rollout_release_duration_seconds_count", RO | {("result", "cancelled")})] == 1
    assert got[("kruise_rollout_release_duration_seconds_sum", RO | {("result", "cancelled")})] == 60
    assert obs.rollbacks.value(namespace="ns", name="ro") == 1  # counted once, not on every update


def test_in_batch_rollback_is_counted_by_its_rollout_id() -> None:
    _, _, _, obs = setup()
    obs.on_update(rollout(index=2), rollout(index=1, rollout_id="rollback-abc"))
    obs.on_update(rollout(index=1, rollout_id="rollback-abc"), rollout(index=1, state="StepReady",
                                                                      rollout_id="rollback-abc"))
    assert obs.rollbacks.value(namespace="ns", name="ro") == 1


def test_deleting_a_rollout_removes_every_series_of_it_and_keeps_the_others() -> None:
    other = rollout("other")
    store, clock, registry, obs = setup(rollout(), other)
    for name in ("ro", "other"):
        obs.on_update(rollout(name, phase="Healthy", reason="Completed", state="Completed", index=3),
                      rollout(name, state="StepPaused"))
        clock.step(5)
        obs.on_update(rollout(name, state="StepPaused"), rollout(name, state="StepReady"))
        obs.on_update(rollout(name, state="StepReady"), rollout(name, index=2))
        obs.on_update(rollout(name, index=2), rollout(name, phase="Healthy", reason="Completed", index=3,
                                                      state="Completed"))
    assert any(("name", "ro") in labels for (_, labels) in samples(registry))
    store.remove("ns/ro")
    obs.on_delete(rollout())
    left = [(n, labels) for (n, labels) in samples(registry) if ("name", "ro") in labels]
    assert left == []
    assert any(("name", "other") in labels for (n, labels) in samples(registry)
               if n == "kruise_rollout_release_duration_seconds_count")


def versioned(version: str, **kw) -> dict:
    obj = rollout(**kw)
    obj["metadata"]["resourceVersion"] = version
    return obj


def counting_decodes(monkeypatch) -> list[str]:
    import rollouts.controllers.rollout.metrics as mod
    seen: list[str] = []
    real = mod.as_rollout

    def counted(obj):
        seen.append(obj["metadata"]["name"])
        return real(obj)

    monkeypatch.setattr(mod, "as_rollout", counted)
    return seen


def test_an_unchanged_rollout_is_decoded_once_across_scrapes_and_its_wait_still_grows(monkeypatch) -> None:
    decoded = counting_decodes(monkeypatch)
    store, clock, registry, _ = setup(versioned("7", state="StepPaused"))
    assert series_of(registry, "kruise_rollout_waiting_for_approval_seconds") == {RO: 0.0}
    clock.step(90)
    assert series_of(registry, "kruise_rollout_waiting_for_approval_seconds") == {RO: 90.0}
    assert series_of(registry, "kruise_rollout_step_state")[RO | {("state", "StepPaused")}] == 1
    assert decoded == ["ro"]


def test_a_new_resource_version_is_decoded_again_and_a_deleted_rollout_leaves_the_cache(monkeypatch) -> None:
    decoded = counting_decodes(monkeypatch)
    store, _, registry, _ = setup(versioned("7", state="StepPaused"))
    samples(registry)
    store.put("ns/ro", versioned("8", phase="Healthy", index=3, state="Completed", reason="Completed"))
    assert series_of(registry, "kruise_rollout_phase")[RO | {("phase", "Healthy")}] == 1
    assert series_of(registry, "kruise_rollout_step_state") == {}
    assert decoded == ["ro", "ro"]
    store.remove("ns/ro")
    assert series_of(registry, "kruise_rollout_step") == {}
    store.put("ns/ro", versioned("8", phase="Healthy", index=3, state="Completed", reason="Completed"))
    samples(registry)
    assert decoded == ["ro", "ro", "ro"]  # re-created with the same version string: not served from a stale row


def test_an_object_without_resource_version_is_decoded_at_every_scrape(monkeypatch) -> None:
    decoded = counting_decodes(monkeypatch)
    _, _, registry, _ = setup(rollout())
    samples(registry)
    samples(registry)
    assert decoded == ["ro", "ro"]


def test_losing_leadership_forgets_the_kept_rows(monkeypatch) -> None:
    decoded = counting_decodes(monkeypatch)
    leader = {"on": True}
    store, clock, registry = Store(), FakeClock(), Registry()
    store.put("ns/ro", versioned("7"))
    registry.register(RolloutStateCollector(store, clock, active=lambda: leader["on"]))
    samples(registry)
    leader["on"] = False
    assert series_of(registry, "kruise_rollout_step") == {}
    leader["on"] = True
    assert series_of(registry, "kruise_rollout_step") == {RO: 1.0}
    assert decoded == ["ro", "ro"]


def test_an_update_that_leaves_the_status_alone_is_not_decoded(monkeypatch) -> None:
    decoded = counting_decodes(monkeypatch)
    _, _, _, observer = setup()
    before = rollout(state="StepPaused")
    after = copy.deepcopy(before)
    after["metadata"]["finalizers"] = ["rollouts.kruise.io/rollout"]
    observer.on_update(before, after)
    assert decoded == []
    observer.on_update(before, rollout(state="StepReady"))
    assert decoded == ["ro"]


async def test_warming_decodes_ahead_of_the_first_scrape_in_slices_that_free_the_loop(monkeypatch) -> None:
    import asyncio

    decoded = counting_decodes(monkeypatch)
    store, clock, registry = Store(), FakeClock(), Registry()
    for i in range(5):
        obj = versioned(str(10 + i))
        obj["metadata"]["name"] = f"ro-{i}"
        store.put(f"ns/ro-{i}", obj)
    collector = RolloutStateCollector(store, clock)
    registry.register(collector)
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    await collector.warm(chunk=2)
    other.cancel()
    assert sorted(decoded) == [f"ro-{i}" for i in range(5)] and turns >= 3  # 3 slices, the loop ran between
    assert len(series_of(registry, "kruise_rollout_step")) == 5
    assert len(decoded) == 5  # the scrape decoded nothing more


async def test_warming_stops_when_leadership_is_lost(monkeypatch) -> None:
    decoded = counting_decodes(monkeypatch)
    store = Store()
    store.put("ns/ro", versioned("7"))
    await RolloutStateCollector(store, FakeClock(), active=lambda: False).warm()
    assert decoded == []



def test_the_manager_warms_the_state_collector_when_it_leads() -> None:
    from rollouts.cmd.manager import controller_options, parse_args
    from rollouts.controllers.setup import add_controllers
    from runtime.manager import Manager

    mgr = Manager(object())  # type: ignore[arg-type]
    add_controllers(mgr, controller_options(parse_args([]), frozenset()))
    warm = dict(mgr._leader_runnables)["rollout-metrics-warm"]
    assert isinstance(warm.__self__, RolloutStateCollector)  # type: ignore[attr-defined]
    assert warm.__self__ in mgr.registry.collectors._collector_to_names  # type: ignore[attr-defined]
