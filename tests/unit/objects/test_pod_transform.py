"""The Pod informer transform keeps exactly what the controllers read (issue 14, memory)."""

from __future__ import annotations

import json

from rollouts.objects import pod
from runtime.cache import freeze, strip_bookkeeping

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {
        "name": "web-7d9f-abcde", "namespace": "ns", "uid": "u1", "resourceVersion": "42",
        "labels": {"app": "web", "pod-template-hash": "7d9f", "rollouts.kruise.io/batch-id": "1"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "rs1",
                             "controller": True}],
        "deletionTimestamp": "2026-01-01T00:00:00Z",
        "managedFields": [{"manager": "kube-controller-manager", "fieldsV1": {"f:metadata": {}}}],
    },
    "spec": {"containers": [{"name": "main", "image": "nginx:1", "env": [{"name": "A", "value": "x" * 500}]}],
             "nodeName": "kwok-node-0", "tolerations": [{"key": "k", "operator": "Exists"}]},
    "status": {"phase": "Running", "podIP": "10.0.0.1", "startTime": "2026-01-01T00:00:00Z",
               "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                              {"type": "PodScheduled", "status": "True", "message": "ok"}],
               "containerStatuses": [{"name": "main", "ready": True, "image": "nginx:1", "restartCount": 0}]},
}


def cached(p):
    return freeze(pod.keep_read_fields(strip_bookkeeping(json.loads(json.dumps(p)))))


def test_pod_cache_keeps_what_the_accessors_read_and_drops_spec():
    c = cached(POD)
    # The node and IP stay for the RolloutHistory records (rollouthistory/snapshot.py); the rest of the spec goes.
    assert c["spec"] == {"nodeName": "kwok-node-0"} and set(c["status"]) == {"phase", "conditions", "podIP"}
    assert c["status"]["podIP"] == "10.0.0.1"
    assert c["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                         {"type": "PodScheduled", "status": "True"}]
    assert "managedFields" not in c["metadata"]
    assert dict(c["metadata"]) == {k: v for k, v in POD["metadata"].items() if k != "managedFields"}
    for read in (pod.is_ready, pod.phase, pod.labels, pod.name, pod.is_terminating, pod.metadata):
        assert read(c) == read({**POD, "metadata": c["metadata"]}), read.__name__
    assert len(json.dumps(c)) < len(json.dumps(POD)) / 2


def test_pod_without_status_or_conditions():
    c = cached({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": []}})
    assert c == {"metadata": {"name": "p", "namespace": "ns"}, "status": {}}
    assert not pod.is_ready(c) and pod.phase(c) is None
    pending = cached({"metadata": {"name": "p"}, "status": {"phase": "Pending"}})
    assert pod.phase(pending) == "Pending" and not pod.is_ready(pending)
