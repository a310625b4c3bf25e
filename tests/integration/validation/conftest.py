"""One cluster, one manager for the module; a Rollout asking for a feature not built yet (request header
modification without a provider that can do it) is created *before* the manager (and its validating
webhook) starts, as a Rollout created before the webhook was installed would be."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from localcluster.cluster import LocalCluster

from tests.conftest import fresh_namespace
from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.e2e.harness import REPO, Kubectl, ManagerProcess, manifest, running

PREEXISTING = "unbuilt-before-webhook"


def unbuilt_rollout(namespace: str) -> dict:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": PREEXISTING, "namespace": namespace},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
                     "strategy": {"canary": {"steps": [
                         {"replicas": 1, "requestHeaderModifier": {"set": [{"name": "x-canary", "value": "1"}]}},
                         {"replicas": "100%"}]}}}}


@pytest.fixture(scope="module")
def preexisting(local_cluster: LocalCluster, kc: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:  # noqa: F811
    """A namespace holding the seed Deployment and an unbuildable Rollout no webhook has seen."""
    kc("delete", "validatingwebhookconfiguration", "kruise-rollout-validating-webhook-configuration",
       "--ignore-not-found")
    kc("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "config" / "crd"))
    kc("wait", "--for=condition=Established", "crd/rollouts.rollouts.kruise.io", "--timeout=60s")
    with fresh_namespace(local_cluster, request) as ns:
        kc("apply", "-f", "-", input=manifest("workload-demo.yaml", ns))
        kc("apply", "-f", "-", input=yaml.safe_dump(unbuilt_rollout(ns)))
        yield ns


@pytest.fixture(scope="module")
def manager(kubeconfig: str, kc: Kubectl, preexisting: str,  # noqa: F811
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("manager"), extra_args=("--no-leader-elect",))
    with running(mgr, kc):
        yield mgr
