import pytest

from rollouts.release.labels import (
    BATCH_ID_LABEL,
    PodLabelPatch,
    batch_increments,
    plan_batch_labels,
    replica_set_revision_hash,
)
from rollouts.release.readiness import ROLLOUT_ID_LABEL

REV = "workload-demo-6dd59d49b5"


def pod(name, rev="6dd59d49b5", rollout_id=None, batch=None, terminating=False, owner=None):
    labels = {"pod-template-hash": rev} if rev else {}
    if rollout_id:
        labels[ROLLOUT_ID_LABEL] = rollout_id
    if batch is not None:
        labels[BATCH_ID_LABEL] = str(batch)
    meta = {"name": name, "labels": labels}
    if terminating:
        meta["deletionTimestamp"] = "2023-04-08T00:00:00Z"
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "controller": True}]
    return {"metadata": meta}


SEED = [1, "50%", "100%"]


@pytest.mark.parametrize("current, expected", [(0, [1, 0, 0]), (1, [1, 4, 0]), (2, [1, 4, 5])])
def test_increments_seed(current, expected):
    assert batch_increments(SEED, current, 10) == expected


def test_batch_two_of_seed_labels_four_new_pods():
    pods = [pod("p0", rollout_id="r1", batch=1)] + [pod(f"p{i}") for i in range(1, 5)] + [pod("old", rev="6c7764b765")]
    patches = plan_batch_labels(
        pods=pods, batches=SEED, current_batch=1, replicas=10, rollout_id="r1", update_revision=REV
    )
    assert patches == [PodLabelPatch(f"p{i}", {ROLLOUT_ID_LABEL: "r1", BATCH_ID_LABEL: "2"}) for i in (4, 3, 2, 1)]


def test_idempotent_when_labels_complete():
    pods = [pod("p0", rollout_id="r1", batch=1)] + [pod(f"p{i}", rollout_id="r1", batch=2) for i in range(1, 5)]
    assert (
        plan_batch_labels(pods=pods, batches=SEED, current_batch=1, replicas=10, rollout_id="r1", update_revision=REV)
        == []
    )


def test_new_rollout_id_relabels_from_last_batch_down():
    pods = [pod("a", rollout_id="old", batch=1), pod("b", rollout_id="old", batch=2), pod("c", batch=9)]
    patches = plan_batch_labels(
        pods=pods, batches=SEED, current_batch=1, replicas=10, rollout_id="new", update_revision=REV
    )
    assert [(p.pod_name, p.labels[BATCH_ID_LABEL]) for p in patches] == [("c", "2"), ("b", "2"), ("a", "2")]


def test_terminating_and_unlisted_and_no_id():
    pods = [pod("t", terminating=True)]
    assert (
        plan_batch_labels(pods=pods, batches=SEED, current_batch=0, replicas=10, rollout_id="r", update_revision=REV)
        == []
    )
    assert (
        plan_batch_labels(pods=None, batches=SEED, current_batch=0, replicas=10, rollout_id="r", update_revision=REV)
        == []
    )
    assert (
        plan_batch_labels(
            pods=[pod("x")], batches=SEED, current_batch=0, replicas=10, rollout_id="", update_revision=REV
        )
        == []
    )


def test_computed_controller_revision_hash_for_deployment_pods():
    tpl = {"metadata": {"labels": {"app": "demo", "pod-template-hash": "zzz"}}, "spec": {"containers": []}}
    rs = {"metadata": {"name": "rs-new"}, "spec": {"template": tpl}}
    h = replica_set_revision_hash(rs, {"spec": {"template": {"metadata": {"labels": {"app": "demo"}}}}})
    pods = [pod("n1", rev="zzz", owner="rs-new"), pod("o1", rev="yyy", owner="rs-old")]
    patches = plan_batch_labels(
        pods=pods,
        batches=SEED,
        current_batch=0,
        replicas=10,
        rollout_id="r",
        update_revision=h,
        rs_revision_hashes={"rs-new": h, "rs-old": "other"},
    )
    assert patches == [
        PodLabelPatch("n1", {ROLLOUT_ID_LABEL: "r", BATCH_ID_LABEL: "1", "controller-revision-hash": h}),
        PodLabelPatch("o1", {"controller-revision-hash": "other"}),
    ]
