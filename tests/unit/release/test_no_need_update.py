"""Rollback in batches, the pod side (batch-release.md §6): marking, counting and the label filters."""

from __future__ import annotations

from rollouts.release.no_need_update import count_no_need, filter_ordered, filter_unordered, pods_to_mark

NO_NEED = "rollouts.kruise.io/no-need-update"
RID = "rollouts.kruise.io/rollout-id"


def pod(name: str, rev: str, **labels: str) -> dict:
    md: dict = {"name": name, "labels": {"controller-revision-hash": rev, **labels}}
    return {"metadata": md}


def gone(p: dict) -> dict:
    p["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return p


def names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_marks_only_live_pods_on_the_target_revision_not_yet_marked() -> None:
    pods = [pod("a", "v1"), pod("b", "v1", **{NO_NEED: "rb"}), pod("c", "v2"), gone(pod("d", "v1")),
            pod("e", "v1", **{NO_NEED: "older"})]
    assert pods_to_mark(pods, update_revision="ws-v1", rollout_id="rb") == ["a", "e"]
    assert count_no_need(pods, update_revision="ws-v1", rollout_id="rb") == 1


def test_unordered_moved_pods_first_then_only_what_the_batch_lacks() -> None:
    # 10 pods: 4 never left v1 (marked), 2 moved back to v1 (unmarked), 4 still on v2.
    never = [pod(f"n{i}", "v1", **{NO_NEED: "rb"}) for i in range(4)]
    moved = [pod(f"m{i}", "v1") for i in range(2)]
    old = [pod(f"o{i}", "v2") for i in range(4)]
    pods = never + moved + old
    # desired update 6 (4 no-need + 2 planned): the batch needs the 2 moved pods only.
    assert names(filter_unordered(pods, update_revision="v1", rollout_id="rb", desired_update=6, planned=2)) \
        == ["m0", "m1"]
    # a batch planned at 4 of which the rollback moved 2: two never-moved pods fill it.
    assert names(filter_unordered(pods, update_revision="v1", rollout_id="rb", desired_update=6, planned=4)) \
        == ["m0", "m1", "n0", "n1"]
    # already labelled for this rollout: a marked pod counts as moved (high priority).
    never[0]["metadata"]["labels"][RID] = "rb"
    assert names(filter_unordered(pods, update_revision="v1", rollout_id="rb", desired_update=6, planned=2)) \
        == ["n0", "m0", "m1"]


def test_unordered_terminating_pods_ride_along_unless_nothing_needs_update() -> None:
    pods = [pod("m0", "v1"), gone(pod("t0", "v1")), pod("n0", "v1", **{NO_NEED: "rb"})]
    assert names(filter_unordered(pods, update_revision="v1", rollout_id="rb", desired_update=2, planned=1)) \
        == ["m0", "t0"]
    assert names(filter_unordered(pods, update_revision="v1", rollout_id="rb", desired_update=1, planned=1)) \
        == ["m0"]


def test_ordered_statefulset_pods_at_or_above_the_partition_first() -> None:
    pods = [pod(f"sts-{i}", "v1" if i >= 5 or i < 2 else "v2") for i in range(10)]
    # partition 7: ordinals 7..9 must be on v1 (3 pods); planned 3 → only the high-priority pods.
    assert names(filter_ordered(pods, update_revision="v1", replicas=10, partition=7, planned=3)) \
        == ["sts-7", "sts-8", "sts-9"]
    # planned 5 with 3 needed above the partition: 2 more from below, lowest ordinals first.
    assert names(filter_ordered(pods, update_revision="v1", replicas=10, partition=7, planned=5)) \
        == ["sts-7", "sts-8", "sts-9", "sts-0", "sts-1"]
