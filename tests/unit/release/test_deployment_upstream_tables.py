"""Upstream's rolling_test.go tables (pkg/controller/deployment), ported to the planner's halves."""

import pytest

from rollouts.release.deployment_partition import build_context, reconcile_new_replica_set, reconcile_old_replica_sets
from rollouts.release.deployment_strategy import DeploymentStrategy


def _rs(name, replicas, available, image):
    return {
        "metadata": {"name": name, "creationTimestamp": "2023-01-01T00:00:00Z"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": image}]}}},
        "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available},
    }


def _ctx(old, new, d_replicas, partition, max_surge, max_unavailable=None, old_available=None, new_available=0):
    deployment = {
        "metadata": {"name": "busybox"},
        "spec": {"replicas": d_replicas, "template": {"spec": {"containers": [{"image": "busybox"}]}}},
    }
    old_available = old_available if old_available is not None else [0] * len(old)
    rss = [_rs(f"rs-{i}", r, a, f"old-version-{i}") for i, (r, a) in enumerate(zip(old, old_available, strict=True))]
    rss.append(_rs("rs-new", new, new_available, "busybox"))
    strategy = DeploymentStrategy(max_surge=max_surge, max_unavailable=max_unavailable, partition=partition)
    return build_context(deployment, rss, strategy)


@pytest.mark.parametrize(
    "name, old, new, replicas, partition, surge, expected",
    [
        ("limited by partition", [2, 3], 3, 10, 4, 0, 4),
        ("limited by deployment replicas", [2, 3], 3, 10, 10, 0, 5),
        ("surge first", [10], 0, 10, 3, 2, 2),
        ("surge first, but limited by partition", [10], 0, 10, 2, 3, 2),
        ("partition satisfied, no scale", [7], 3, 10, 3, 3, 3),
        ("partition satisfied, no scale even though deployment replicas not reach", [5], 3, 10, 3, 3, 3),
        ("new replica set has been greater than partition, no scale down", [7], 3, 10, 1, 3, 3),
        ("total replicas are more than deployment desired, no scale down", [7], 3, 10, 6, 0, 3),
    ],
)
def test_reconcile_new_replica_set(name, old, new, replicas, partition, surge, expected):
    ctx = _ctx(old, new, replicas, partition, surge)
    reconcile_new_replica_set(ctx)
    assert ctx.new_rs.replicas == expected, name


@pytest.mark.parametrize(
    "name, old, new, replicas, old_avail, new_avail, partition, surge, unavailable, expected_old",
    [
        ("scale down: all unavailable, limited by partition", [6, 4], 0, 10, [0, 0], 0, 4, 2, "50%", 6),
        ("scale down: all available, limited by maxUnavailable", [6, 4], 0, 10, [6, 4], 0, 4, 2, "20%", 8),
        (
            "scale down: unavailable first, then available, limited by maxUnavailable",
            [6, 4],
            0,
            10,
            [6, 2],
            0,
            5,
            0,
            "40%",
            6,
        ),
        (
            "scale down: unavailable first, then available, limited by partition",
            [6, 4],
            0,
            10,
            [6, 2],
            0,
            3,
            0,
            "40%",
            7,
        ),
        ("no op: newRS replicas more than partition", [0, 5], 5, 10, [0, 5], 5, 3, 0, "40%", 5),
        ("no op: limited by unavailable newRS", [3, 4], 3, 10, [3, 4], 0, 5, 0, "30%", 7),
        ("scale up oldRS", [3, 0], 3, 10, [3, 0], 3, 3, 0, "30%", 7),
        ("scale down oldRS", [3], 3, 5, [3], 3, "60%", "25%", "25%", 2),
    ],
)
def test_reconcile_old_replica_sets(
    name, old, new, replicas, old_avail, new_avail, partition, surge, unavailable, expected_old
):
    ctx = _ctx(old, new, replicas, partition, surge, unavailable, old_avail, new_avail)
    reconcile_old_replica_sets(ctx)
    assert sum(rs.replicas for rs in ctx.old_rss) == expected_old, name


@pytest.mark.parametrize(
    "surge, unavailable, desired, expected",
    [  # upstream deployment_util_test TestResolveFenceposts
        ("0%", "0%", 0, (0, 1)),
        ("39%", "39%", 10, (4, 3)),
        (None, "39%", 10, (0, 3)),
        ("39%", None, 10, (4, 0)),
        (None, None, 10, (0, 1)),
    ],
)
def test_resolve_fenceposts_upstream(surge, unavailable, desired, expected):
    from rollouts.release.deployment_partition import resolve_fenceposts

    assert resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize("surge, unavailable", [("oops", "39%"), ("55%", "urg")])
def test_resolve_fenceposts_rejects_garbage(surge, unavailable):
    from rollouts.release.deployment_partition import resolve_fenceposts
    from rollouts.release.intstr import IntOrStrError

    with pytest.raises(IntOrStrError):
        resolve_fenceposts(surge, unavailable, 10)


def _tpl(name, node, annotations, labels):
    return {"metadata": {"name": name, "annotations": annotations, "labels": labels}, "spec": {"nodeName": node}}


H = "pod-template-hash"


@pytest.mark.parametrize(
    "former, latter, expected",
    [  # upstream deployment_util_test TestEqualIgnoreHash
        (
            _tpl("foo", "n", {}, {H: "v1", "something": "else"}),
            _tpl("foo", "n", {}, {H: "v1", "something": "else"}),
            True,
        ),
        (
            _tpl("foo", "n", {}, {H: "v1", "something": "else"}),
            _tpl("foo", "n", {}, {H: "v2", "something": "else"}),
            True,
        ),
        (_tpl("foo", "n", {}, {"something": "else"}), _tpl("foo", "n", {}, {H: "v2", "something": "else"}), True),
        (_tpl("foo", "n", {}, {"something": "else"}), _tpl("foo", "n", {}, {H: "v2"}), False),
        (_tpl("foo", "n", {}, {H: "v1"}), _tpl("foo", "n", {}, {"something": "else"}), False),
        (_tpl("foo", "n", {}, {H: "v1"}), _tpl("foo", "n", {}, {H: "v1", "something": "else"}), False),
        (_tpl("foo", "n", {"former": "v"}, {H: "v1"}), _tpl("foo", "n", {"latter": "v"}, {H: "v1"}), False),
        (_tpl("foo-1", "n", {}, {H: "v1"}), _tpl("foo-2", "n", {}, {H: "v2"}), False),
        (_tpl("foo", "n1", {}, {"something": "else"}), _tpl("foo", "n2", {}, {"nothing": "else"}), False),
    ],
)
def test_equal_ignore_hash_upstream(former, latter, expected):
    from rollouts.release.template_hash import equal_ignore_hash

    assert equal_ignore_hash(former, latter) is expected
    assert equal_ignore_hash(latter, former) is expected
    assert former["metadata"]["labels"] is not None  # inputs are not mutated


@pytest.mark.parametrize(
    "name, old, partition, replicas, new, surge, expected",
    [  # upstream deployment_util_test TestNewRSNewReplicas (maxUnavailable 1)
        ("can not scale up - to newRSReplicas", [5], 1, 1, 5, 1, 5),
        ("scale up - to depReplicas", [0], "100%", 6, 2, 10, 6),
        ("scale up - to int-type partition", [8], 4, 10, 2, 10, 4),
        ("scale up without old - to depReplicas", [], 2, 10, 2, 10, 10),
        ("cannot scale due to partition - to newRSReplica", [8], 2, 10, 2, 10, 2),
        ("cannot scale because new replicas greater than partition", [5], 2, 10, 5, 10, 5),
    ],
)
def test_new_rs_new_replicas_upstream(name, old, partition, replicas, new, surge, expected):
    from rollouts.release.deployment_partition import _new_rs_target

    ctx = _ctx(old, new, replicas, partition, surge, 1, [0] * len(old))
    assert _new_rs_target(ctx, ctx.new_rs) == expected, name


@pytest.mark.parametrize(
    "replicas, unavailable, expected",
    [(10, 5, 5), (10, 10, 10), (5, 10, 5), (0, 10, 0), (10, "50%", 5), (10, "100%", 10), (5, "100%", 5)],
)
def test_max_unavailable_upstream(replicas, unavailable, expected):
    ctx = _ctx([replicas], 0, replicas, 0, 1, unavailable, [replicas])
    assert ctx.unavailable == expected


def test_scale_down_prefers_highest_old_revision():
    ctx = _ctx([4, 4], 2, 10, 4, 0, 2, [4, 4], 2)
    ctx.old_rss[0].revision, ctx.old_rss[1].revision = 1, 2
    reconcile_old_replica_sets(ctx)
    assert [(rs.name, rs.replicas) for rs in ctx.old_rss] == [("rs-0", 4), ("rs-1", 2)]
