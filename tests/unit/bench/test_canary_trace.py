"""The canary bench's logic on recorded events: end states, writers, and the attribution of each gap
to us, the cluster or a designed timer (``bench/canary_trace.py`` on top of ``bench/step_trace.py``).

The bench itself needs a cluster; these checks pin what it counts, so a figure in bench/RESULTS.md
means what the text says.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import canary_trace as ct  # noqa: E402
import step_trace as st  # noqa: E402

from rollouts.api import keys  # noqa: E402

OURS, KCM, KWOK = "kruise-rollouts-py", "kube-controller-manager", "kwok"
STABLE_HASH, CANARY_HASH = "stable1", "canary2"


def event(t: float, kind: str, manager: str, after: dict[str, Any], before: dict[str, Any] | None = None, *,
          name: str = "x", etype: str = "MODIFIED", gen: bool = False, obj: dict | None = None) -> st.Event:
    return st.Event(t, kind, name, etype, manager, before or {}, after, gen, obj or {})


def pod(name: str, ready: bool, hash_: str = CANARY_HASH) -> dict:
    return {"metadata": {"name": name, "labels": {"pod-template-hash": hash_}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def approve_step_events() -> list[st.Event]:
    """Approve step 1 → step 2 (40 %, 2 canary pods) as the bench records it; t0 = 0."""
    p1, p2 = pod("c-1", True), pod("c-2", False)
    return [
        event(-5.0, "Pod", KWOK, {"ready": "True"}, name="c-1", etype="ADDED", obj=p1),
        event(0.000, "Rollout", "step-trace", {"state": "StepReady"}),  # the approval: the user's
        event(0.020, "Rollout", OURS, {"step": 2, "state": "StepUpgrade"}),
        event(0.030, "BatchRelease", OURS, {"partition": 1}),
        event(0.050, "Deployment", OURS, {"specReplicas": 2}, {"specReplicas": 1}, name="echoserver-abcde", gen=True),
        event(0.060, "ReplicaSet", KCM, {"spec": 2}),
        event(0.070, "Pod", KCM, {"node": None}, name="c-2", etype="ADDED", obj=p2),
        event(0.080, "Pod", "kube-scheduler", {"node": "n1"}, name="c-2", obj=p2),
        event(0.600, "Pod", KWOK, {"ready": "True"}, name="c-2", obj=pod("c-2", True)),
        event(0.620, "ReplicaSet", KCM, {"ready": 2}),
        event(0.640, "Deployment", KCM, {"ready": 2}, name="echoserver-abcde"),
        event(0.700, "BatchRelease", OURS, {"batchState": "Ready"}),
        event(0.750, "Ingress", OURS, {"canary-weight": "40"}, {"canary-weight": "5"}, name=ct.CANARY_INGRESS,
              obj=ingress("40")),
        event(3.760, "Rollout", OURS, {"state": "StepPaused"}),
    ]


def ingress(weight: str) -> dict:
    return {"metadata": {"name": ct.CANARY_INGRESS, "annotations": {
        keys.NGINX_CANARY_ANNOTATION: "true", keys.NGINX_CANARY_WEIGHT_ANNOTATION: weight}}}


def totals(ivs: list[st.Interval]) -> dict[str, int]:
    return {k: round(v) for k, v in ct.split(ivs).items()}


def test_an_approved_step_splits_into_our_reactions_the_clusters_work_and_the_grace_period() -> None:
    evs = approve_step_events()
    ivs = ct.attribute(evs, 0.0, 3.760, grace=3)
    # ours: 20 + 10 + 20 (approve → scale), 60 (Deployment ready → BR), 50 (→ Ingress), 10 beyond the grace
    assert totals(ivs) == {"ours": 170, "cluster": 590, "fixed": 3000}
    assert round(sum(iv.ms for iv in ivs)) == 3760


def test_a_controller_slower_than_the_grace_period_is_charged_for_the_excess() -> None:
    evs = approve_step_events()
    evs[-1] = event(4.750, "Rollout", OURS, {"state": "StepPaused"})
    assert totals(ct.attribute(evs, 0.0, 4.750, grace=3)) == {"ours": 1160, "cluster": 590, "fixed": 3000}


def test_the_issue_measure_ends_at_the_later_of_weight_applied_and_canary_pods_ready() -> None:
    evs = approve_step_events()
    assert ct.weight_applied_at(evs, 0.0, 3.760, 40) == 0.750
    assert ct.weight_applied_at(evs, 0.0, 3.760, 60) == 3.760  # never: the step's end
    assert st.pods_updated_at(evs, 0.0, 3.760, STABLE_HASH, 2) == 0.600
    assert totals(ct.attribute(evs, 0.0, 0.750, grace=3)) == {"ours": 160, "cluster": 590, "fixed": 0}


def test_creating_the_canary_deployment_is_work_handed_to_the_cluster() -> None:
    """The gap before our creation of the canary Deployment is our reaction, although the cluster's
    next event (its ReplicaSet) follows: step_trace's rule (spec changes only) would call it the
    cluster's."""
    evs = [event(0.05, "BatchRelease", OURS, {"phase": "Progressing"}),
           event(0.15, "Deployment", OURS, {"specReplicas": 1}, name="echoserver-abcde", etype="ADDED"),
           event(0.17, "ReplicaSet", KCM, {"spec": 1}, etype="ADDED")]
    assert totals(ct.attribute(evs, 0.0, 0.17, grace=3)) == {"ours": 150, "cluster": 20, "fixed": 0}
    assert totals(st.attribute(evs, 0.0, 0.17)) == {"ours": 0, "cluster": 170, "fixed": 0}


def test_a_cluster_event_inside_a_grace_window_stays_the_clusters() -> None:
    evs = [event(0.1, "Service", OURS, {"selector": {"app": "e", "pod-template-hash": "s"}}),
           event(0.5, "Deployment", KCM, {"ready": 5}),
           event(3.2, "BatchRelease", OURS, {"partition": 0})]
    ivs = ct.attribute(evs, 0.0, 3.2, grace=3)
    # 0 → 0.1 is the cluster's too: its work was still in flight (step_trace's rule)
    assert totals(ivs) == {"ours": 100, "cluster": 500, "fixed": 2600}
    assert [(iv.who, round(iv.ms)) for iv in ivs] == [("cluster", 100), ("cluster", 400), ("fixed", 2600),
                                                      ("ours", 100)]


def test_the_initializing_settle_is_a_timer_window() -> None:
    evs = [event(0.04, "Rollout", OURS, {"reason": "Initializing"}, {"reason": "Completed"}),
           event(3.10, "Rollout", OURS, {"reason": "InRolling"}, {"reason": "Initializing"})]
    (window,) = ct.timer_windows(evs, grace=3)
    assert window[:2] == (0.04, 0.04 + st.INITIALIZING_SETTLE_SECONDS)
    assert totals(ct.attribute(evs, 0.0, 3.10, grace=3)) == {"ours": 100, "cluster": 0, "fixed": 3000}


def test_step_trace_still_charges_the_whole_settle_gap_as_fixed() -> None:
    """The refactor (parameters for the trigger and timer rules) keeps the partition bench's rule."""
    evs = [event(0.05, "Rollout", OURS, {"reason": "Initializing"}, {"reason": "Completed"}),
           event(3.35, "Rollout", OURS, {"reason": "InRolling"}, {"reason": "Initializing"})]
    ivs = st.attribute(evs, 0.0, 3.35)
    assert [(iv.who, round(iv.ms)) for iv in ivs] == [("ours", 50), ("fixed", 3300)]


def tracer(objs: dict[tuple[str, str], dict]) -> st.Tracer:
    tr = st.Tracer(None, "ns", kinds=ct.KINDS, signature_of=ct.signature, writer_of=ct.writer,  # type: ignore[arg-type]
                   rollout=ct.ROLLOUT)
    tr.latest = dict(objs)
    return tr


def canary_deploy(spec: int, ready: int) -> dict:
    return {"metadata": {"name": "echoserver-abcde", "labels": {keys.CANARY_DEPLOYMENT_LABEL: "uid"}},
            "spec": {"replicas": spec}, "status": {"replicas": spec, "readyReplicas": ready}}


def rollout(index: int, state: str, phase: str = "Progressing") -> dict:
    return {"status": {"phase": phase, "currentStepIndex": index, "currentStepState": state}}


@pytest.mark.parametrize(("ro", "weight", "deploy", "done"), [
    (rollout(2, "StepPaused"), "40", canary_deploy(2, 2), True),
    (rollout(2, "StepTrafficRouting"), "40", canary_deploy(2, 2), False),
    (rollout(2, "StepPaused"), "5", canary_deploy(2, 2), False),
    (rollout(2, "StepPaused"), "40", canary_deploy(2, 1), False),
    (rollout(1, "StepPaused"), "40", canary_deploy(2, 2), False),
])
def test_a_step_is_done_with_weight_on_the_ingress_canary_pods_ready_and_the_rollout_paused(
        ro: dict, weight: str, deploy: dict, done: bool) -> None:
    tr = tracer({("Rollout", ct.ROLLOUT): ro, ("Ingress", ct.CANARY_INGRESS): ingress(weight),
                 ("Deployment", "echoserver-abcde"): deploy})
    assert ct.step_done(2, 40, 2)(tr) is done


def test_the_release_is_done_only_once_every_canary_object_is_gone() -> None:
    stable = {"metadata": {"name": "echoserver", "generation": 3},
              "spec": {"replicas": 5, "paused": False},
              "status": {"observedGeneration": 3, "replicas": 5, "updatedReplicas": 5, "readyReplicas": 5}}
    objs = {("Rollout", ct.ROLLOUT): rollout(5, "Completed", "Healthy"), ("Deployment", "echoserver"): stable,
            ("Service", "echoserver"): {"spec": {"selector": {"app": "echoserver"}}}}
    done = ct.release_done(5, {"app": "echoserver"})
    assert done(tracer(objs))
    assert not done(tracer({**objs, ("Ingress", ct.CANARY_INGRESS): ingress("100")}))
    assert not done(tracer({**objs, ("Deployment", "echoserver-abcde"): canary_deploy(5, 5)}))
    pinned = {"spec": {"selector": {"app": "echoserver", "pod-template-hash": STABLE_HASH}}}
    assert not done(tracer({**objs, ("Service", "echoserver"): pinned}))


def test_deletions_of_traffic_objects_and_the_canary_deployment_are_ours() -> None:
    assert st.actor(ct.writer("Ingress", "DELETED", ingress("100"), ingress("100"))) == "ours"
    assert st.actor(ct.writer("Service", "DELETED", {}, {})) == "ours"
    dying = canary_deploy(5, 5)
    dying["metadata"]["deletionTimestamp"] = "2026-12-02T15:00:00Z"
    assert st.actor(ct.writer("Deployment", "MODIFIED", canary_deploy(5, 5), dying)) == "ours"
    stable = {"metadata": {"name": "echoserver", "deletionTimestamp": "2026-12-02T15:00:00Z"}}
    assert st.actor(ct.writer("Deployment", "MODIFIED", {"metadata": {"name": "echoserver"}}, stable)) == "cluster"


def test_a_service_selector_change_is_credited_from_managed_fields() -> None:
    def svc(selector: dict, manager: str, time: str) -> dict:
        return {"metadata": {"managedFields": [{"manager": manager, "operation": "Update", "time": time,
                                                "fieldsV1": {"f:spec": {"f:selector": {}}}}]},
                "spec": {"selector": selector}}
    old = svc({"app": "echoserver"}, "kubectl-client-side-apply", "2026-12-02T15:00:00Z")
    new = svc({"app": "echoserver", "pod-template-hash": "s"}, OURS, "2026-12-02T15:00:05Z")
    assert st.actor(ct.writer("Service", "MODIFIED", old, new)) == "ours"
    assert ct.signature("Service", old) != ct.signature("Service", new)


def test_the_canary_ingress_signature_moves_with_its_weight_only() -> None:
    a, b = ingress("5"), ingress("40")
    assert ct.signature("Ingress", a) != ct.signature("Ingress", b)
    b["metadata"]["resourceVersion"] = "9"
    assert ct.signature("Ingress", b) == ct.signature("Ingress", ingress("40"))


def test_the_bench_plays_the_seed_steps_with_manual_pauses_and_the_default_grace() -> None:
    doc = ct.manual_rollout()
    assert ct.step_targets(doc, 5) == [(5, 1), (40, 2), (60, 3), (80, 4), (100, 5)]
    assert all(step["pause"] == {} for step in doc["spec"]["strategy"]["canary"]["steps"])
    assert ct.grace_seconds(doc) == 3
    assert doc["metadata"]["annotations"] == {"rollouts.kruise.io/rolling-style": "canary"}


def test_the_canary_deployment_is_found_by_its_label_or_its_batchrelease_owner() -> None:
    owned = {"metadata": {"ownerReferences": [{"kind": "BatchRelease", "name": "r", "controller": True}]}}
    assert ct.is_canary_deployment(canary_deploy(1, 1))
    assert ct.is_canary_deployment(owned)
    assert not ct.is_canary_deployment({"metadata": {"name": "echoserver", "labels": {"app": "echoserver"}}})


def test_without_traffic_a_step_ends_on_canary_pods_and_the_pause_alone() -> None:
    plain = ct.manual_rollout(traffic=False)
    assert "trafficRoutings" not in plain["spec"]["strategy"]["canary"]
    assert ct.step_targets(plain, 5) == [(None, 1), (None, 2), (None, 3), (None, 4), (None, 5)]
    tr = tracer({("Rollout", ct.ROLLOUT): rollout(2, "StepPaused"),
                 ("Deployment", "echoserver-abcde"): canary_deploy(2, 2)})
    assert ct.step_done(2, None, 2)(tr)
    assert not ct.step_done(2, 40, 2)(tr)


def test_a_timer_window_closes_at_our_next_write() -> None:
    """The settle counted from a second-truncated time fired after 2.2 s: what we do next is ours."""
    evs = [event(0.04, "Rollout", OURS, {"reason": "Initializing"}, {"reason": "Completed"}),
           event(2.24, "BatchRelease", OURS, {"phase": None}, etype="ADDED"),
           event(2.30, "Rollout", OURS, {"reason": "InRolling"}, {"reason": "Initializing"})]
    assert [w[:2] for w in ct.timer_windows(evs, grace=3)] == [(0.04, 2.24)]
    assert totals(ct.attribute(evs, 0.0, 2.30, grace=3)) == {"ours": 100, "cluster": 0, "fixed": 2200}


def test_the_canary_deployment_deleted_after_its_batchrelease_is_the_garbage_collectors() -> None:
    owned = canary_deploy(5, 5)
    owned["metadata"]["ownerReferences"] = [{"kind": "BatchRelease", "name": "rollouts-canary-demo",
                                             "controller": True}]
    with_br = {("BatchRelease", "rollouts-canary-demo"): {}}
    assert st.actor(ct.writer("Deployment", "DELETED", owned, owned, latest=with_br)) == "ours"
    assert st.actor(ct.writer("Deployment", "DELETED", owned, owned, latest={})) == "cluster"


def test_the_controllers_part_of_the_finish_ends_before_the_garbage_collector_deletes_the_canary() -> None:
    stable = {"metadata": {"name": "echoserver", "generation": 3},
              "spec": {"replicas": 5, "paused": False},
              "status": {"observedGeneration": 3, "replicas": 5, "updatedReplicas": 5, "readyReplicas": 5}}
    tr = tracer({("Rollout", ct.ROLLOUT): rollout(5, "Completed", "Healthy"), ("Deployment", "echoserver"): stable,
                 ("Service", "echoserver"): {"spec": {"selector": {"app": "echoserver"}}},
                 ("Deployment", "echoserver-abcde"): canary_deploy(5, 5)})
    assert ct.release_done(5, {"app": "echoserver"}, canary_gone=False)(tr)
    assert not ct.release_done(5, {"app": "echoserver"})(tr)


def test_entering_step_traffic_routing_opens_a_grace_window_that_rollout_status_writes_do_not_close() -> None:
    """The Rollout enters StepTrafficRouting (lastUpdateTime = now), persists a round's message, and
    patches the Ingress when the grace is over (2.4 s: the time was truncated to the second)."""
    evs = [event(0.10, "Rollout", OURS, {"state": "StepTrafficRouting"}, {"state": "StepUpgrade"}),
           event(0.15, "Rollout", OURS, {"message": "waiting"}, {"state": "StepTrafficRouting"}),
           event(2.50, "Ingress", OURS, {"canary-weight": "40"}, {"canary-weight": "5"}, name=ct.CANARY_INGRESS),
           event(5.52, "Rollout", OURS, {"state": "StepMetricsAnalysis"}, {"state": "StepTrafficRouting"})]
    windows = [w[:2] for w in ct.timer_windows(evs, grace=3)]
    assert windows == [(0.10, 2.50), (2.50, 5.50)]
    assert totals(ct.attribute(evs, 0.0, 5.52, grace=3)) == {"ours": 120, "cluster": 0, "fixed": 5400}
