import copy

from rollouts.release.deployment_partition import CreateReplicaSet, ScaleReplicaSet, plan_deployment_sync

from .fake_deployment import NOW, World


def scales(plan):
    return [(a.name, a.from_replicas, a.to_replicas) for a in plan.actions if isinstance(a, ScaleReplicaSet)]


def test_partition_decrease_scales_old_up_to_keep_total():
    w = World()
    w.set_partition("50%")
    w.converge()
    # someone scaled the new RS above the limit by hand: old RSs must refill to replicas − new
    w.rss[w.new_rs_name()]["spec"]["replicas"] = 7
    w.rss[w.new_rs_name()]["status"] = {"replicas": 7, "readyReplicas": 7, "availableReplicas": 7}
    w.rss["workload-demo-6c7764b765"]["spec"]["replicas"] = 1
    plan = w.sync()
    assert scales(plan) == [("workload-demo-6c7764b765", 1, 3)]


def test_new_rs_above_replicas_is_scaled_down():
    w = World()
    w.set_partition("100%")
    w.converge()
    w.rss[w.new_rs_name()]["spec"]["replicas"] = 12
    plan = w.sync()
    assert scales(plan) == [(w.new_rs_name(), 12, 10)]


def test_hash_collision_reports_and_does_nothing():
    w = World()
    w.set_partition(1)
    plan = w.sync()
    name = next(a.body["metadata"]["name"] for a in plan.actions if isinstance(a, CreateReplicaSet))
    w2 = World()
    w2.set_partition(1)
    squatter = copy.deepcopy(w2.rss["workload-demo-6c7764b765"])
    squatter["metadata"]["name"] = name
    squatter["spec"]["replicas"] = 0
    squatter["metadata"]["creationTimestamp"] = "2023-04-08T06:30:00Z"
    w2.rss[name] = squatter
    plan = w2.sync()
    assert plan.collision and plan.actions == ()


def test_collision_count_changes_the_name():
    w = World()
    w.set_partition(1)
    first = next(a for a in w.sync().actions if isinstance(a, CreateReplicaSet)).body["metadata"]["name"]
    w2 = World()
    w2.set_partition(1)
    w2.deployment["status"]["collisionCount"] = 1
    second = next(a for a in w2.sync().actions if isinstance(a, CreateReplicaSet)).body["metadata"]["name"]
    assert first != second


def test_three_replica_sets_proportional_scale_down():
    w = World(replicas=10)
    w.set_partition("50%")
    w.converge()
    mid = copy.deepcopy(w.rss["workload-demo-6c7764b765"])
    mid["metadata"].update(name="workload-demo-mid", creationTimestamp="2023-04-08T06:30:00Z")
    mid["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2"
    mid["spec"]["replicas"] = 2
    mid["status"] = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    w.rss["workload-demo-6c7764b765"]["spec"]["replicas"] = 3
    w.rss["workload-demo-6c7764b765"]["status"] = {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    w.rss["workload-demo-mid"] = mid
    for rs in w.rss.values():
        rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] = "13"
        rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = "10"
    w.scale(5)
    plan = w.sync()
    assert plan.message == "scaled proportionally"
    total = sum(a.to_replicas for a in plan.actions)
    assert total == 5
    assert all(a.annotations["deployment.kubernetes.io/desired-replicas"] == "5" for a in plan.actions)


def test_status_and_extra_status_fields():
    w = World()
    w.set_partition("50%")
    plan = w.converge()
    status = plan.status
    assert {
        k: status[k]
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")
    } == {
        "replicas": 10,
        "updatedReplicas": 5,
        "readyReplicas": 10,
        "availableReplicas": 10,
        "unavailableReplicas": 0,
    }
    cond = status["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("Available", "True", "MinimumReplicasAvailable")
    assert w.deployment["metadata"]["annotations"]["rollouts.kruise.io/deployment-extra-status"] == (
        '{"updatedReadyReplicas":5,"expectedUpdatedReplicas":5}'
    )


def test_empty_selector_only_bumps_observed_generation():
    w = World()
    w.deployment["spec"]["selector"] = {}
    w.deployment["metadata"]["generation"] = 9
    plan = plan_deployment_sync(w.deployment, list(w.rss.values()), now=NOW)
    assert plan.actions == () and plan.status["observedGeneration"] == 9
    assert plan.message.startswith("SelectingAll")


def test_deleting_deployment_writes_status_only():
    w = World()
    w.set_partition("100%")
    w.deployment["metadata"]["deletionTimestamp"] = "2023-04-08T08:00:00Z"
    plan = plan_deployment_sync(w.deployment, list(w.rss.values()), now=NOW)
    assert plan.actions == () and plan.status is not None


def test_canary_style_strategy_is_ignored():
    w = World()
    w.deployment["metadata"]["annotations"]["rollouts.kruise.io/deployment-strategy"] = '{"rollingStyle":"Canary"}'
    plan = plan_deployment_sync(w.deployment, list(w.rss.values()), now=NOW)
    assert plan.status is None and plan.actions == ()


def test_not_satisfied_until_partition_reached():
    w = World()
    w.set_partition("50%")
    assert not w.sync().satisfied
    w.converge()
    assert w.sync().satisfied
