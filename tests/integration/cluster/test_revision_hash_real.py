"""The revision hash of a Deployment as a real API server returns it.

The hand-written "as the API server returns it" vectors of tests/unit/release/data (hashed by the
Go tool) assume which defaults the API server adds to a pod template. This checks that assumption
against the real kube-apiserver: the seed's busybox Deployment, read back, hashes to the Go value,
and so does its ReplicaSet's template once the ``pod-template-hash`` label is removed. (The
ReplicaSet's own ``pod-template-hash`` is not compared: the local kube-controller-manager is built
from another Kubernetes version, see docs/release.md §4.4.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rollouts.release.template_hash import compute_template_hash, strip_hash_label
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

VECTORS = Path(__file__).resolve().parents[2] / "unit" / "release" / "data" / "podhash_vectors.jsonl"
SEED_V1 = "seed busybox demo, version-1 as the API server returns it (defaults applied)"


def _vector(name: str) -> dict:
    for line in VECTORS.read_text(encoding="utf-8").splitlines():
        v = json.loads(line)
        if v.get("name") == name:
            return v
    raise AssertionError(f"vector {name!r} missing from {VECTORS}")


def test_seed_deployment_read_back_hashes_like_the_go_vector(kubectl, namespace) -> None:
    vector = _vector(SEED_V1)
    container = {"name": "busybox", "image": "busybox:1.28.3", "command": ["/bin/sh", "-c", "sleep 100d"],
                 "env": [{"name": "VERSION", "value": "version-1"}]}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "workload-demo"},
                  "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "demo"}},
                           "template": {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [container]}}}}
    kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(deployment))
    got = json.loads(kubectl("-n", namespace, "get", "deployment", "workload-demo", "-o", "json").stdout)
    template = got["spec"]["template"]
    # Newer API servers omit the template's "creationTimestamp": null (both decode to the zero time).
    assert template["spec"] == vector["template"]["spec"], "the API server's defaults changed: see tools/podhash"
    assert compute_template_hash(template) == vector["hash"]

    rss = wait_for(lambda: json.loads(kubectl("-n", namespace, "get", "rs", "-l", "app=demo", "-o", "json").stdout),
                   lambda r: len(r["items"]) == 1, what="the ReplicaSet of workload-demo")["items"]
    assert compute_template_hash(strip_hash_label(rss[0]["spec"]["template"])) == vector["hash"]
