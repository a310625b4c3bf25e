import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollouts.release.deployment_partition import plan_deployment_sync, resolve_fenceposts
from rollouts.release.deployment_strategy import DEPLOYMENT_STRATEGY_ANNOTATION

from .fake_deployment import NOW, World


@pytest.mark.parametrize(
    "surge, unavailable, replicas, expected",
    [
        ("25%", "25%", 10, (3, 2)),
        (0, 0, 10, (0, 1)),
        ("0%", "0%", 3, (0, 1)),
        (1, 0, 5, (1, 0)),
        ("50%", "50%", 5, (3, 2)),
    ],
)
def test_resolve_fenceposts(surge, unavailable, replicas, expected):
    assert resolve_fenceposts(surge, unavailable, replicas) == expected


def test_seed_multi_batch_10_replicas():
    w = World()
    # partition 0: the new RS is created empty, nothing moves
    w.converge()
    assert (w.old_rs(), w.new_rs()) == (10, 0)
    expected = {1: (9, 1), "50%": (5, 5), "100%": (0, 10)}
    for partition, (old, new) in expected.items():
        w.set_partition(partition)
        plan = w.converge()
        assert (w.old_rs(), w.new_rs()) == (old, new), partition
        assert plan.status["updatedReplicas"] == new
        assert plan.status["replicas"] == 10
        assert plan.satisfied
    assert w.max_total_seen <= 13  # maxSurge 25% of 10 = 3
    assert w.min_available_seen >= 8  # maxUnavailable 25% of 10 = 2
    ext = json.loads(w.deployment["metadata"]["annotations"]["rollouts.kruise.io/deployment-extra-status"])
    assert ext == {"updatedReadyReplicas": 10, "expectedUpdatedReplicas": 10}


def test_first_sync_of_batch_one_creates_and_scales_down_in_one_step():
    w = World()
    w.set_partition(1)
    plan = w.sync()
    kinds = [type(a).__name__ for a in plan.actions]
    assert kinds == ["CreateReplicaSet", "ScaleReplicaSet"]
    create, scale = plan.actions
    assert create.body["spec"]["replicas"] == 1
    assert create.body["metadata"]["labels"]["pod-template-hash"] == create.body["metadata"]["name"].rsplit("-", 1)[1]
    assert (scale.name, scale.from_replicas, scale.to_replicas) == ("workload-demo-6c7764b765", 10, 9)


def test_an_existing_new_rs_is_scaled_up_and_the_old_down_in_the_same_sync():
    w = World()
    w.set_partition(1)
    w.converge()
    w.set_partition("50%")
    plan = w.sync()
    scales = [(a.from_replicas, a.to_replicas) for a in plan.actions]
    # new RS up within the surge (10 + 3 = 13 pods at most), old RS down while 8 stay available
    assert scales == [(1, 4), (9, 7)]


def test_scale_10_to_20_at_50_percent_gives_10_updated():
    w = World()
    w.set_partition("50%")
    w.converge()
    assert (w.old_rs(), w.new_rs()) == (5, 5)
    w.scale(20)
    w.converge()
    assert (w.old_rs(), w.new_rs()) == (10, 10)


def test_new_pods_never_ready_respects_max_unavailable():
    w = World(new_pods_ready=False)
    w.set_partition("50%")
    w.converge()
    # 3 surge pods created; old RS may only lose maxUnavailable (2) pods
    assert w.new_rs() == 5
    assert w.old_rs() == 8
    assert w.min_available_seen >= 8


def test_not_under_control_is_noop():
    w = World()
    w.deployment["spec"]["paused"] = False
    plan = plan_deployment_sync(w.deployment, list(w.rss.values()), now=NOW)
    assert plan.actions == () and plan.status is None
    assert plan.message == "deployment is not under rollout control"


def test_paused_strategy_only_scales_proportionally():
    w = World()
    w.set_partition("50%")
    w.converge()
    anns = w.deployment["metadata"]["annotations"]
    s = json.loads(anns[DEPLOYMENT_STRATEGY_ANNOTATION])
    s["paused"] = True
    s["partition"] = "100%"
    anns[DEPLOYMENT_STRATEGY_ANNOTATION] = json.dumps(s)
    w.converge()
    assert (w.old_rs(), w.new_rs()) == (5, 5)


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.integers(1, 40),
    surge=st.sampled_from(["25%", "0%", "50%", 1, 0, 3]),
    unavailable=st.sampled_from(["25%", "0%", 1, 0, 2]),
    steps=st.lists(st.one_of(st.integers(0, 45), st.integers(0, 100).map(lambda p: f"{p}%")), min_size=1, max_size=4),
)
def test_converges_to_partition_limit(replicas, surge, unavailable, steps):
    from rollouts.release.batch import new_rs_replicas_limit

    w = World(replicas=replicas, max_surge=surge, max_unavailable=unavailable)
    max_surge, max_unavailable = resolve_fenceposts(surge, unavailable, replicas)
    # NewRSReplicasLowerBound: with maxSurge 0 the new RS is created with one pod
    high = min(1, replicas) if max_surge == 0 else 0
    for p in steps:
        w.set_partition(p)
        w.converge()
        high = max(high, new_rs_replicas_limit(p, replicas))
        # partitions never scale the new RS down; old RSs fill up to replicas
        assert w.new_rs() == high
        assert w.old_rs() + w.new_rs() == replicas
    assert w.max_total_seen <= replicas + max(max_surge, 1)
    assert w.min_available_seen >= replicas - max_unavailable


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.integers(1, 40),
    surge=st.sampled_from(["25%", "0%", "50%", 1, 0, 3]),
    unavailable=st.sampled_from(["25%", "0%", 1, 0, 2]),
    partition=st.one_of(st.integers(0, 45), st.integers(0, 100).map(lambda p: f"{p}%")),
)
def test_broken_new_version_never_breaks_availability_bounds(replicas, surge, unavailable, partition):
    w = World(replicas=replicas, max_surge=surge, max_unavailable=unavailable, new_pods_ready=False)
    max_surge, max_unavailable = resolve_fenceposts(surge, unavailable, replicas)
    w.set_partition(partition)
    w.converge()
    assert w.max_total_seen <= replicas + max_surge
    assert w.min_available_seen >= replicas - max_unavailable


def test_a_lagging_old_rs_status_never_scales_the_old_rs_back_up():
    """Old RS scaled 9→7 but its status still counts 9 available pods (being deleted)."""
    w = World()
    w.set_partition(1)
    w.converge()
    w.set_partition("50%")
    w.sync()  # new 1→4, old 9→7 (World settles statuses; make the old one lag again)
    old = w.rss["workload-demo-6c7764b765"]
    old["status"] = {"replicas": 9, "readyReplicas": 9, "availableReplicas": 9}
    plan = w.sync()
    ups = [(a.name, a.from_replicas, a.to_replicas) for a in plan.actions if a.to_replicas > a.from_replicas
           and a.name == "workload-demo-6c7764b765"]
    assert ups == []


@settings(max_examples=60, deadline=None)
@given(
    replicas=st.integers(2, 30),
    partitions=st.lists(st.integers(1, 100), min_size=1, max_size=3),
    lags=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_old_rs_only_shrinks_while_statuses_lag(replicas, partitions, lags):
    """Syncs interleaved with ReplicaSet statuses that lag behind their specs (kube-controller-manager
    has not caught up): with a partition that only grows, no planned action scales the old RS up."""
    w = World(replicas=replicas)
    w.converge()
    lag = iter(lags * 10)

    def settle_some() -> None:  # each ReplicaSet's status catches up with its spec, or not yet
        for rs in w.rss.values():
            if not next(lag, False):
                n = rs["spec"]["replicas"]
                rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}

    w._settle_pods = settle_some
    old_name = "workload-demo-6c7764b765"
    for p in sorted(partitions):
        w.set_partition(f"{p}%")
        for _ in range(12):
            plan = w.sync()
            ups = [(a.from_replicas, a.to_replicas) for a in plan.actions
                   if a.name == old_name and a.to_replicas > a.from_replicas]
            assert ups == [], f"partition {p}%: old RS scaled up {ups}"
