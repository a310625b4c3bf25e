"""Smoke tests: the local control plane behaves like a real cluster.

These run against real etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok;
every object below is reconciled by the real upstream controllers.
"""

from __future__ import annotations

import json

import pytest

from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def _deployment(name: str, replicas: int, version: str = "v1") -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "main", "image": "busybox:1.28.3",
                                                       "env": [{"name": "VERSION", "value": version}]}]}}},
    })


def _get(kubectl, ns: str, *what: str) -> dict:
    return json.loads(kubectl("-n", ns, "get", *what, "-o", "json").stdout)


def _ready_pods(kubectl, ns: str, selector: str) -> list[dict]:
    pods = _get(kubectl, ns, "pods", "-l", selector)["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]


def test_nodes_are_ready(kubectl, local_cluster) -> None:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == local_cluster.settings.nodes
    for n in nodes:
        assert {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"] == "True"


def test_deployment_of_10_reaches_10_ready_pods_via_a_real_replicaset(kubectl, namespace) -> None:
    kubectl("-n", namespace, "apply", "-f", "-", input=_deployment("web", 10))
    dep = wait_for(lambda: _get(kubectl, namespace, "deployment", "web"),
                   lambda d: d.get("status", {}).get("readyReplicas") == 10, timeout=90, what="10 ready replicas")
    assert dep["status"]["updatedReplicas"] == 10
    rss = _get(kubectl, namespace, "replicasets", "-l", "app=web")["items"]
    assert len(rss) == 1
    assert rss[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rss[0]["status"]["readyReplicas"] == 10
    assert len(_ready_pods(kubectl, namespace, "app=web")) == 10


def test_scaling_down_deletes_pods(kubectl, namespace) -> None:
    kubectl("-n", namespace, "apply", "-f", "-", input=_deployment("shrink", 6))
    wait_for(lambda: len(_ready_pods(kubectl, namespace, "app=shrink")), lambda n: n == 6, what="6 ready pods")
    kubectl("-n", namespace, "scale", "deployment/shrink", "--replicas=2")
    wait_for(lambda: _get(kubectl, namespace, "pods", "-l", "app=shrink")["items"], lambda pods: len(pods) == 2,
             what="pods deleted down to 2")


def test_pod_template_update_produces_a_new_replicaset(kubectl, namespace) -> None:
    kubectl("-n", namespace, "apply", "-f", "-", input=_deployment("roll", 4))
    wait_for(lambda: _get(kubectl, namespace, "deployment", "roll"),
             lambda d: d.get("status", {}).get("readyReplicas") == 4, what="4 ready")
    kubectl("-n", namespace, "apply", "-f", "-", input=_deployment("roll", 4, version="v2"))
    rss = wait_for(lambda: _get(kubectl, namespace, "replicasets", "-l", "app=roll")["items"],
                   lambda items: len(items) == 2
                   and sorted(r["status"].get("readyReplicas", 0) for r in items) == [0, 4],
                   timeout=90, what="a second ReplicaSet that takes over all 4 replicas")
    hashes = {r["metadata"]["labels"]["pod-template-hash"] for r in rss}
    assert len(hashes) == 2


def test_statefulset_and_daemonset_become_ready(kubectl, namespace, local_cluster) -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "main", "image": "busybox:1.28.3"}]}}}}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "main", "image": "busybox:1.28.3"}]}}}}
    kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                    "items": [sts, ds]}))
    wait_for(lambda: _get(kubectl, namespace, "statefulset", "db"),
             lambda s: s.get("status", {}).get("readyReplicas") == 3, timeout=90, what="statefulset 3 ready")
    nodes = local_cluster.settings.nodes
    wait_for(lambda: _get(kubectl, namespace, "daemonset", "agent"),
             lambda d: d.get("status", {}).get("numberReady") == nodes, timeout=90, what=f"daemonset {nodes} ready")
    names = sorted(p["metadata"]["name"] for p in _ready_pods(kubectl, namespace, "app=db"))
    assert names == ["db-0", "db-1", "db-2"]


def test_namespace_deletion_completes(kubectl, local_cluster) -> None:
    local_cluster.create_namespace("doomed-ns")
    kubectl("-n", "doomed-ns", "apply", "-f", "-", input=_deployment("gone", 3))
    wait_for(lambda: len(_ready_pods(kubectl, "doomed-ns", "app=gone")), lambda n: n == 3, what="3 ready pods")
    kubectl("delete", "namespace", "doomed-ns", "--wait=false")
    wait_for(lambda: kubectl("get", "namespace", "doomed-ns", check=False).returncode, lambda rc: rc != 0,
             timeout=90, what="namespace doomed-ns to disappear")
