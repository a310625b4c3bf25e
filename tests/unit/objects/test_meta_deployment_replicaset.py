"""Accessors for ObjectMeta, Deployments and ReplicaSets (issue 10: foreign objects read through one
module per kind), and the webhook reads of our own Rollout through the model."""

from __future__ import annotations

from rollouts.api.decode import rollout_phase
from rollouts.objects import deployment, meta, replicaset
from webhooks.workload.release import matched_rollout

RS = {"metadata": {"name": "rs", "namespace": "ns", "uid": "u1", "generation": 4, "labels": {"a": "b"},
                   "annotations": {"deployment.kubernetes.io/revision": "7"}, "deletionTimestamp": "t",
                   "creationTimestamp": "2024-01-01T00:00:00Z",
                   "ownerReferences": [{"uid": "d1", "controller": True}, {"uid": "x", "controller": False}]}}


def test_meta_reads_every_field_and_empty_sections() -> None:
    assert (meta.name(RS), meta.namespace(RS), meta.uid(RS), meta.generation(RS)) == ("rs", "ns", "u1", 4)
    assert meta.labels(RS) == {"a": "b"} and meta.is_deleting(RS) and meta.creation_timestamp(RS).startswith("2024")
    assert meta.is_controlled_by(RS, "d1") and not meta.is_controlled_by(RS, "x")
    for empty in (None, {}, {"metadata": None}):
        assert (meta.name(empty), meta.uid(empty), dict(meta.annotations_of(empty))) == ("", "", {})
        assert not meta.is_deleting(empty) and list(meta.owner_references(empty)) == []


def test_replicaset_revision_defaults_when_absent_or_malformed() -> None:
    assert replicaset.revision(RS) == 7
    assert replicaset.revision({}) == -1
    assert replicaset.revision({"metadata": {"annotations": {replicaset.REVISION_ANNOTATION: "x"}}}, default=0) == 0


def test_deployment_strategy_fields() -> None:
    d = {"spec": {"paused": True, "strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}}
    assert deployment.strategy_type(d) == "Recreate" and deployment.is_paused(d)
    assert deployment.rolling_update(d) == {"maxSurge": 1}
    assert deployment.strategy_type({}) is None and deployment.rolling_update(None) is None


ROLLOUT = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "metadata": {"name": "r", "namespace": "ns"},
           "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"},
                    "strategy": {"canary": {"steps": [{"replicas": 1}]}}}}


def test_rollout_phase_decodes_only_the_status() -> None:
    assert rollout_phase(ROLLOUT) == ""
    assert rollout_phase({**ROLLOUT, "status": {"phase": "Disabled"}}) == "Disabled"


def test_matched_rollout_skips_disabled_deleting_and_other_workloads() -> None:
    disabled = {**ROLLOUT, "status": {"phase": "Disabled"}}
    deleting = {**ROLLOUT, "metadata": {**ROLLOUT["metadata"], "deletionTimestamp": "t"}}
    other = {**ROLLOUT, "spec": {**ROLLOUT["spec"], "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                                    "name": "other"}}}
    assert matched_rollout([disabled, deleting, other, ROLLOUT], "apps/v2", "Deployment", "w") is ROLLOUT
    assert matched_rollout([disabled, deleting, other], "apps/v1", "Deployment", "w") is None


def test_crd_accessors() -> None:
    from rollouts.objects import crd

    c = {"spec": {"group": "apps.kruise.io", "names": {"kind": "CloneSet", "plural": "clonesets"},
                  "versions": [{"name": "v1alpha1", "served": True}, {"name": "v1beta1", "served": False}],
                  "conversion": {"strategy": "None"}},
         "status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert crd.defines(c, "apps.kruise.io", "CloneSet") and not crd.defines(c, "apps", "CloneSet")
    assert crd.served_versions(c) == ["v1alpha1"] and crd.conversion(c) == {"strategy": "None"}
    assert crd.is_established(c) and not crd.is_established({"status": None})
    assert (crd.group(None), crd.kind({}), crd.served_versions({"spec": None})) == ("", "", [])
