"""The generated CRDs against the real apiserver: accepted, structural, defaulted, pruned, columns.

Isolation: the real CRD names (``rollouts.rollouts.kruise.io``...) are cluster-scoped and other
integration tests install them with the conversion webhook. This module installs *copies* under a
unique group (same schemas, columns and subresources; conversion ``None`` because no webhook serves
them), creates objects in the storage version v1beta1 (no conversion needed) and deletes the copies.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from rollouts.api.crdgen import CRDS, build_crd

pytestmark = pytest.mark.integration

Kubectl = Callable[..., Any]


def _copy_under_group(spec: Any, group: str) -> dict[str, Any]:
    crd = copy.deepcopy(build_crd(spec))
    crd["metadata"]["name"] = f"{spec.plural}.{group}"
    crd["spec"]["group"] = group
    crd["spec"]["conversion"] = {"strategy": "None"}
    return crd


@pytest.fixture(scope="module")
def group(kubectl: Kubectl) -> Iterator[str]:
    group = f"api-{uuid.uuid4().hex[:8]}.kruise.test"
    crds = [_copy_under_group(spec, group) for spec in CRDS]
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(crds))
    for crd in crds:
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}")
    try:
        yield group
    finally:
        for crd in crds:
            # Wait: while the copied group exists, `kubectl get rollout` in other tests is ambiguous.
            kubectl("delete", "crd", crd["metadata"]["name"], "--wait=true", "--timeout=90s", check=False)


def test_real_crds_pass_server_side_validation(kubectl: Kubectl) -> None:
    """The files in config/crd are accepted as they are (structural, CEL cost within limits)."""
    for spec in CRDS:
        out = kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(build_crd(spec)))
        assert "(server dry run)" in out.stdout


def _rollout(group: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{group}/v1beta1", "kind": "Rollout",
        "metadata": {"name": "rollouts-demo", "namespace": namespace},
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echoserver"},
                 "strategy": {"canary": {"steps": [{"traffic": "5%", "replicas": 1, "pause": {}},
                                                   {"replicas": "100%",
                                                    "matches": [{"headers": [{"name": "h", "value": "v"}],
                                                                 "path": {"value": "/api"}}]}],
                                         "trafficRoutings": [{"service": "echoserver",
                                                              "ingress": {"name": "echoserver"}}]}}},
    }


def test_rollout_defaults_pruning_and_printer_columns(kubectl: Kubectl, group: str, namespace: str) -> None:
    # kubectl validates fields strictly by default; ignore so the apiserver's pruning is what we observe.
    doc = _rollout(group, namespace)
    doc["spec"]["unknownField"] = "pruned"
    kubectl("apply", "--validate=false", "-f", "-", input=json.dumps(doc))
    stored = json.loads(kubectl("get", f"rollouts.{group}", "rollouts-demo", "-n", namespace, "-o", "json").stdout)
    spec = stored["spec"]
    assert "unknownField" not in spec  # structural schema prunes, as upstream
    assert spec["disabled"] is False
    canary = spec["strategy"]["canary"]
    assert canary["trafficRoutings"][0]["gracePeriodSeconds"] == 3
    match = canary["steps"][1]["matches"][0]
    assert match["headers"][0]["type"] == "Exact"
    assert match["path"] == {"type": "PathPrefix", "value": "/api"}

    status = {"status": {"phase": "Healthy", "currentStepIndex": 2, "currentStepState": "Completed",
                         "message": "workload deployment is completed"}}
    kubectl("patch", f"rollouts.{group}", "rollouts-demo", "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps(status))
    table = kubectl("get", f"rollouts.{group}", "rollouts-demo", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "CANARY_STEP", "CANARY_STATE", "MESSAGE", "AGE"]
    assert table[1].split()[:5] == ["rollouts-demo", "Healthy", "2", "Completed", "workload"]


def test_rollouts_are_listed_by_workload_name_on_the_server(kubectl: Kubectl, group: str, namespace: str) -> None:
    """The selectable field the webhooks' confirming LIST uses (webhooks/rollout_query.py). (The v1alpha1
    path is declared too, but these copies have no conversion webhook to give v1alpha1 its own shape.)"""
    for name, workload in (("by-field-a", "app-a"), ("by-field-b", "app-b")):
        doc = _rollout(group, namespace)
        doc["metadata"]["name"] = name
        doc["spec"]["workloadRef"]["name"] = workload
        kubectl("apply", "-f", "-", input=json.dumps(doc))
    out = kubectl("get", f"rollouts.v1beta1.{group}", "-n", namespace, "-o", "name",
                  "--field-selector=spec.workloadRef.name=app-b").stdout.split()
    assert out == [f"rollout.{group}/by-field-b"]


def test_schema_rejects_what_upstream_rejects(kubectl: Kubectl, group: str, namespace: str) -> None:
    bad = _rollout(group, namespace)
    del bad["spec"]["workloadRef"]
    out = kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode != 0 and "workloadRef" in out.stderr
    bad = _rollout(group, namespace)
    bad["spec"]["strategy"]["canary"]["steps"][1]["matches"][0]["path"] = {"type": "Exact", "value": "a//b"}
    out = kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode != 0 and "start with '/'" in out.stderr


def test_batchrelease_columns(kubectl: Kubectl, group: str, namespace: str) -> None:
    br = {"apiVersion": f"{group}/v1beta1", "kind": "BatchRelease",
          "metadata": {"name": "br", "namespace": namespace},
          "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echoserver"},
                   "releasePlan": {"batches": [{"canaryReplicas": 1}], "batchPartition": 0,
                                   "enableExtraWorkloadForCanary": False}}}
    kubectl("apply", "-f", "-", input=json.dumps(br))
    kubectl("patch", f"batchreleases.{group}", "br", "-n", namespace, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": {"phase": "Progressing",
                                         "canaryStatus": {"currentBatch": 0, "batchState": "Upgrading"}}}))
    table = kubectl("get", f"batchreleases.{group}", "br", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "KIND", "PHASE", "BATCH", "BATCH-STATE", "AGE"]
    assert table[1].split()[:5] == ["br", "Deployment", "Progressing", "0", "Upgrading"]
    stored = json.loads(kubectl("get", f"batchreleases.{group}", "br", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"]["releasePlan"]["batchPartition"] == 0


@pytest.mark.parametrize("sample", ["rollout_v1alpha1_seed_partition.yaml", "rollout_v1alpha1_seed_canary.yaml",
                                    "rollout_v1alpha1_spec.yaml", "rollout_v1alpha1_seed_ab_fixed.yaml",
                                    "trafficrouting_v1alpha1_spec.yaml"])
def test_v1alpha1_samples_pass_schema_validation(kubectl: Kubectl, group: str, namespace: str, sample: str) -> None:
    """`kubectl apply` of the seed/spec v1alpha1 documents passes the v1alpha1 structural schema.

    Server-side dry run against the copies (conversion None): the request is validated against the
    v1alpha1 schema; nothing is stored, so no conversion webhook is involved.
    """
    from pathlib import Path

    doc = yaml.safe_load((Path(__file__).parents[2] / "unit" / "api" / "samples" / sample).read_text())
    doc["apiVersion"] = doc["apiVersion"].replace("rollouts.kruise.io", group)
    doc["metadata"]["namespace"] = namespace
    out = kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(doc))
    assert "(server dry run)" in out.stdout
