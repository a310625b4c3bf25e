"""The canary Deployment's decisions (batch-release.md §7) as pure functions."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rollouts.api.common import PatchPodTemplateMetadata
from rollouts.release import canary_deployment as cd
from rollouts.release.deployment_strategy import control_info
from rollouts.release.template_hash import compute_template_hash

INFO = control_info("rollouts-canary-demo", "br-uid")
PATCH = PatchPodTemplateMetadata(labels={"track": "canary"}, annotations={"note": "new"})


def stable(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "echoserver", "namespace": "ns", "uid": "stable-uid", "generation": 3,
                         "labels": {"app": "echoserver", "rollouts.kruise.io/workload-type": "deployment"},
                         "annotations": {"rollouts.kruise.io/in-progressing": "{}"}},
            "spec": {"replicas": 5, "paused": True, "selector": {"matchLabels": {"app": "echoserver"}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": "echoserver"}},
                                  "spec": {"containers": [{"name": "e", "image": "echo:v2"}]}}, **spec},
            "status": {"observedGeneration": 3, "replicas": 5, "updatedReplicas": 0, "availableReplicas": 5}}


def canary(name: str, created: str, *, owner: str = "br-uid", template: dict | None = None,
           replicas: int = 0, deleting: bool = False) -> dict[str, Any]:
    body = cd.canary_body(stable(), INFO, None)
    body["metadata"].update(name=name, creationTimestamp=created, uid=f"{name}-uid")
    body["metadata"]["ownerReferences"][0]["uid"] = owner
    if deleting:
        body["metadata"]["deletionTimestamp"] = created
    if template is not None:
        body["spec"]["template"] = template
    body["spec"]["replicas"] = replicas
    return body


def test_created_canary_is_the_stable_spec_with_patched_metadata_at_zero_replicas() -> None:
    s = stable()
    kept = copy.deepcopy(s)
    body = cd.canary_body(s, INFO, PATCH)
    assert s == kept  # the stable object is not edited
    md = body["metadata"]
    assert md == {"generateName": "echoserver-", "namespace": "ns",
                  "finalizers": ["finalizer.rollouts.kruise.io/batch-release"],
                  "ownerReferences": [json.loads(INFO)],
                  "labels": {"rollouts.kruise.io/canary-deployment": "echoserver"},
                  "annotations": {"batchrelease.rollouts.kruise.io/control-info": INFO}}
    assert md["ownerReferences"][0] == {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "BatchRelease",
                                        "name": "rollouts-canary-demo", "uid": "br-uid", "controller": True,
                                        "blockOwnerDeletion": True}
    spec = body["spec"]
    assert (spec["replicas"], spec["paused"]) == (0, False)
    assert spec["selector"] == s["spec"]["selector"] and spec["strategy"] == s["spec"]["strategy"]
    assert spec["template"]["metadata"] == {"labels": {"app": "echoserver", "track": "canary"},
                                            "annotations": {"note": "new"}}
    assert spec["template"]["spec"] == s["spec"]["template"]["spec"]
    assert cd.canary_revision(s, PATCH) == compute_template_hash(spec["template"])
    assert cd.canary_revision(s, None) == compute_template_hash(s["spec"]["template"])


def test_lookup_takes_the_newest_owned_live_canary_of_the_stable_template() -> None:
    old_template = copy.deepcopy(stable()["spec"]["template"])
    old_template["spec"]["containers"][0]["image"] = "echo:v1"
    items = [canary("echoserver-aaaaa", "2024-01-01T00:00:01Z"),
             canary("echoserver-bbbbb", "2024-01-01T00:00:02Z"),
             canary("echoserver-ccccc", "2024-01-01T00:00:03Z", deleting=True),
             canary("echoserver-ddddd", "2024-01-01T00:00:04Z", owner="other-br"),
             canary("echoserver-eeeee", "2024-01-01T00:00:05Z", template=old_template),
             stable()]
    found = cd.pick_canary(items, stable(), "br-uid", None)
    assert found is not None and found["metadata"]["name"] == "echoserver-bbbbb"
    assert cd.pick_canary(items[2:], stable(), "br-uid", None) is None


def test_lookup_ignores_the_patched_keys_only() -> None:
    patched = cd.canary_body(stable(), INFO, PATCH)
    patched["metadata"].update(name="echoserver-ppppp", creationTimestamp="2024-01-01T00:00:00Z")
    assert cd.pick_canary([patched], stable(), "br-uid", PATCH) is patched
    other = PatchPodTemplateMetadata(labels={"track": "canary"})  # "note" is no longer a patched key
    assert cd.pick_canary([patched], stable(), "br-uid", other) is None


@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from([1, 2, "20%", "40%", "100%", 0])), min_size=1))
def test_the_canary_is_never_scaled_down(rounds: list[tuple[int, Any]]) -> None:
    """Whatever the stable replicas and the batch do, the canary's replicas only grow, and reach the
    batch's planned replicas of the stable Deployment."""
    c = {"spec": {"replicas": 0}}
    for stable_replicas, batch in rounds:
        before = c["spec"]["replicas"]
        desired = cd.desired_canary_replicas(batch, stable_replicas)
        patch = cd.scale_patch(c, desired)
        if patch:
            c = {"spec": {**c["spec"], **patch["spec"]}}
        assert c["spec"]["replicas"] >= before
        assert c["spec"]["replicas"] >= desired


def test_planned_replicas_are_on_the_stable_replicas() -> None:
    assert [cd.desired_canary_replicas(b, 5) for b in (1, "20%", "40%", "60%", "80%", "100%")] == [1, 1, 2, 3, 4, 5]
    assert cd.scale_patch({"spec": {"replicas": 2}}, 4) == {"spec": {"replicas": 4}}
    assert cd.scale_patch({"spec": {"replicas": 4}}, 1) is None


def test_finalize_patches_of_the_stable_deployment() -> None:
    s = stable()
    s["metadata"]["annotations"]["batchrelease.rollouts.kruise.io/control-info"] = INFO
    assert cd.stable_finalize_patch(s, batch_partition_is_nil=True) == {
        "metadata": {"annotations": {"batchrelease.rollouts.kruise.io/control-info": None}},
        "spec": {"paused": False}}
    # a continuous release replacing the BatchRelease keeps the stable Deployment paused
    assert cd.stable_finalize_patch(s, batch_partition_is_nil=False) == {
        "metadata": {"annotations": {"batchrelease.rollouts.kruise.io/control-info": None}}}
    assert cd.stable_finalize_patch(stable(paused=False), batch_partition_is_nil=True) is None


def test_finalizer_patch_keeps_other_finalizers() -> None:
    c = canary("echoserver-aaaaa", "2024-01-01T00:00:00Z")
    c["metadata"]["resourceVersion"] = "7"
    assert cd.canary_finalizer_patch(c) == {"metadata": {"finalizers": None, "resourceVersion": "7"}}
    c["metadata"]["finalizers"].append("example.com/keep")
    assert cd.canary_finalizer_patch(c) == {"metadata": {"finalizers": ["example.com/keep"], "resourceVersion": "7"}}
    c["metadata"]["finalizers"] = ["example.com/keep"]
    assert cd.canary_finalizer_patch(c) is None


def test_wait_resume_says_why_with_numbers() -> None:
    assert cd.wait_resume_reason(stable()) == "Deployment echoserver is still paused"
    s = stable(paused=False)
    s["metadata"]["generation"] = 4
    assert cd.wait_resume_reason(s) == "Deployment echoserver: status of generation 4 not observed yet"
    s["status"].update(observedGeneration=4, replicas=6, updatedReplicas=3)
    assert cd.wait_resume_reason(s) == "Deployment echoserver: 3 of 6 pods updated"
    s["status"].update(replicas=5, updatedReplicas=5, availableReplicas=3)
    assert cd.wait_resume_reason(s) == "Deployment echoserver: 3 of 5 pods available (maxUnavailable 1)"
    s["status"]["availableReplicas"] = 4  # 4 + floor(25% of 5) >= 5
    assert cd.wait_resume_reason(s) is None
    recreate = stable(paused=False, strategy={"type": "Recreate"})
    recreate["status"].update(updatedReplicas=5, availableReplicas=4)
    assert cd.wait_resume_reason(recreate) == "Deployment echoserver: 4 of 5 pods available (maxUnavailable 0)"


def test_readiness_message_names_the_canary_with_its_numbers() -> None:
    msg = cd.readiness_message("echoserver-abcde", available=1, updated=2, desired=2,
                               reason="updated ready 1 < desired 2")
    assert msg == "canary Deployment echoserver-abcde: 1 of 2 pods available, 2 created (updated ready 1 < desired 2)"


def test_pod_template_hash_of_a_canary_style_rollout_comes_from_the_newest_canary() -> None:
    def deploy(name: str, created: str, **md: Any) -> dict[str, Any]:
        return {"metadata": {"name": name, "uid": f"{name}-uid", "creationTimestamp": created,
                             "labels": {"rollouts.kruise.io/canary-deployment": "echoserver"}, **md}}

    def rs(owner: str, hash_: str, created: str, replicas: int = 1) -> dict[str, Any]:
        return {"metadata": {"name": f"{owner}-{hash_}", "creationTimestamp": created,
                             "labels": {"pod-template-hash": hash_},
                             "ownerReferences": [{"uid": f"{owner}-uid", "controller": True}]},
                "spec": {"replicas": replicas}}

    deployments = [deploy("echoserver-old", "t1"), deploy("echoserver-new", "t2"),
                   deploy("echoserver-gone", "t3", deletionTimestamp="t4"),
                   {"metadata": {"name": "echoserver", "uid": "echoserver-uid", "creationTimestamp": "t0"}}]
    replica_sets = [rs("echoserver-old", "aaa", "t1"), rs("echoserver-new", "zero", "t2", replicas=0),
                    rs("echoserver-new", "bbb", "t3"), rs("echoserver-new", "ccc", "t4"),
                    rs("echoserver-gone", "ddd", "t5"), rs("echoserver", "stable", "t0")]
    assert cd.canary_pod_template_hash("echoserver", deployments, replica_sets) == "bbb"
    assert cd.canary_pod_template_hash("echoserver", deployments[:1], []) == ""
    assert cd.canary_pod_template_hash("other", deployments, replica_sets) == ""

    # What the Rollout reconciler passes: the canaries from the index and only their ReplicaSets.
    from runtime.cache.store import OWNER_UID_INDEX, Store
    deps = Store({cd.CANARY_OF_INDEX: cd.canary_of_index})
    others = [{"metadata": {"name": "x", "namespace": "other", "uid": "x-uid",
                            "labels": {"rollouts.kruise.io/canary-deployment": "echoserver"}}}]
    for d in [*deployments, *others]:
        d["metadata"].setdefault("namespace", "ns")
        deps.put(f"{d['metadata']['namespace']}/{d['metadata']['name']}", d)
    rss = Store()
    for r in replica_sets:
        rss.put(f"ns/{r['metadata']['name']}", r)
    canaries = deps.by_index(cd.CANARY_OF_INDEX, "ns/echoserver")
    assert sorted(c["metadata"]["name"] for c in canaries) == ["echoserver-gone", "echoserver-new", "echoserver-old"]
    owned = [r for c in canaries for r in rss.by_index(OWNER_UID_INDEX, c["metadata"]["uid"])]
    assert cd.canary_pod_template_hash("echoserver", canaries, owned) == "bbb"
    assert cd.canary_of_index(deployments[3]) == []  # the stable Deployment itself is not indexed
