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


def _generate_pods(count, labelled, rollout_id, batch_id, revision="version-1"):
    pods = []
    for i in range(count):
        labels = {"controller-revision-hash": revision}
        if i < labelled:
            labels[ROLLOUT_ID_LABEL] = rollout_id
            labels[BATCH_ID_LABEL] = batch_id
        pods.append({"metadata": {"name": f"pod-{i + 1}", "labels": labels}})
    return pods


def _apply(pods, patches):
    by_name = {p["metadata"]["name"]: p for p in pods}
    for patch in patches:
        by_name[patch.pod_name]["metadata"]["labels"].update(patch.labels)
    return pods


@pytest.mark.parametrize(
    "name, count, labelled, label_id, label_batch, batches, current, expected",
    [  # upstream labelpatch/patcher_test.go TestLabelPatcher
        ("10 pods, 0 patched, 5 new patched", 10, 0, "", "", [5], 0, [5]),
        ("10 pods, 2 patched, 3 new patched", 10, 2, "rollout-1", "1", [5], 0, [5]),
        ("10 pods, 5 patched, 0 new patched", 10, 5, "rollout-1", "1", [5], 0, [5]),
        ("10 pods, 7 patched, 0 new patched", 10, 7, "rollout-1", "1", [5], 0, [7]),
        ("2 pods, 0 patched, 2 new patched", 2, 0, "rollout-1", "1", [5], 0, [2]),
        ("10 pods, 3 patched with old rollout-id, 5 new patched", 10, 3, "previous-rollout-id", "1", [5], 0, [5]),
        ("10 pods, 2 patched with batch-id:1, 3 new patched", 5, 2, "rollout-1", "1", [2, 5], 1, [2, 3]),
        ("10 pods, 0 patched with batch-id:1, 5 new patched", 5, 0, "rollout-1", "1", [2, 5], 1, [2, 3]),
        ("10 pods, 3 patched with batch-id:1, 2 new patched", 5, 3, "rollout-1", "1", [2, 5], 1, [3, 2]),
        ("batch-id out of range, equal to no pods are labelled", 5, 3, "rollout-1", "3", [2, 5], 1, [2, 3]),
    ],
)
def test_upstream_label_patcher_table(name, count, labelled, label_id, label_batch, batches, current, expected):
    pods = _generate_pods(count, labelled, label_id, label_batch)
    patches = plan_batch_labels(
        pods=pods,
        batches=batches,
        current_batch=current,
        replicas=10,
        rollout_id="rollout-1",
        update_revision="version-1",
    )
    _apply(pods, patches)
    counts = [0] * (current + 1)
    for p in pods:
        labels = p["metadata"]["labels"]
        if labels.get(ROLLOUT_ID_LABEL) == "rollout-1" and labels.get(BATCH_ID_LABEL, "").isdigit():
            b = int(labels[BATCH_ID_LABEL])
            if b <= len(counts):
                counts[b - 1] += 1
    assert counts == expected, name
