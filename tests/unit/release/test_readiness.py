import pytest

from rollouts.release.readiness import is_batch_ready


def pod(rollout_id=None, terminating=False):
    meta = {"labels": {"rollouts.kruise.io/rollout-id": rollout_id} if rollout_id else {}}
    if terminating:
        meta["deletionTimestamp"] = "2023-04-08T07:27:24Z"
    return {"metadata": meta}


@pytest.mark.parametrize(
    "threshold, updated, ready, expected",
    [
        (1, 5, 5, None),
        (1, 5, 4, None),
        (1, 5, 3, "updated ready 3 < desired 5 - tolerated 1 (failureThreshold 1)"),
        ("60%", 4, 4, "updated 4 < desired 5"),
        (100, 5, 0, "updated ready 0 but desired 5 > 0: at least one updated pod must be ready"),
        (None, 5, 3, "updated ready 3 < desired 5 (failureThreshold 0)"),
        (None, 5, 5, None),
    ],
)
def test_upstream_table(threshold, updated, ready, expected):
    got = is_batch_ready(updated=updated, updated_ready=ready, desired=5, planned=5, failure_threshold=threshold)
    assert got == expected


def test_rollout_id_labels():
    pods = [pod("1") for _ in range(5)]
    assert is_batch_ready(updated=5, updated_ready=5, desired=5, planned=5, rollout_id="1", pods=pods) is None
    pods = [pod("1") for _ in range(3)] + [pod("0"), pod(None), pod("1", terminating=True)]
    assert (
        is_batch_ready(updated=5, updated_ready=5, desired=5, planned=5, rollout_id="1", pods=pods)
        == "pods labelled with rollout-id '1' 3 < planned 5"
    )


def test_label_check_skipped_without_pods_or_id():
    assert is_batch_ready(updated=5, updated_ready=5, desired=5, planned=5, rollout_id="1", pods=None) is None
    assert is_batch_ready(updated=5, updated_ready=5, desired=5, planned=5, rollout_id="", pods=[]) is None


def test_zero_desired_is_ready():
    assert is_batch_ready(updated=0, updated_ready=0, desired=0, planned=0) is None


def test_zero_replica_workload_is_ready():
    assert is_batch_ready(updated=0, updated_ready=0, desired=5, planned=5, workload_replicas=0) is None
