"""The certificate/registration sync runs with only the permissions of config/rbac/role.yaml.

The manager's ClusterRole (and its namespaced Role, re-created in the test namespace) are bound to a
fresh ServiceAccount; the webhook app then runs with that account's token against the real API server
(RBAC on) and must create the Secret, create/update both configurations, re-point the CRDs and watch
them, ending with a live validating webhook.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.kube.client import KubeClient
from runtime.kube.errors import Forbidden, NotFound
from runtime.kube.resources import SECRETS, SERVICE_ACCOUNTS, Resource
from webhooks.app import build_registry
from webhooks.validating_rollout import ROLLOUTS_V1BETA1, KubeRolloutLister

from .conftest import REPO, Webhooks, eventually, secret_ca, wait_rollout_webhook_live

pytestmark = pytest.mark.integration

RBAC = "rbac.authorization.k8s.io"
CLUSTER_ROLES = Resource(RBAC, "v1", "clusterroles", "ClusterRole", namespaced=False)
CLUSTER_ROLE_BINDINGS = Resource(RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False)
ROLES = Resource(RBAC, "v1", "roles", "Role")
ROLE_BINDINGS = Resource(RBAC, "v1", "rolebindings", "RoleBinding")


def _rbac_docs() -> dict[str, dict[str, Any]]:
    """The manager's ClusterRole and Role (the aggregated customNetworkRefs ClusterRole grants nothing of its own)."""
    docs = yaml.safe_load_all((REPO / "config" / "rbac" / "role.yaml").read_text())
    return {d["kind"]: d for d in docs
            if d and d["kind"] in ("ClusterRole", "Role") and not d.get("aggregationRule")}


def _binding(kind: str, name: str, role_kind: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": "webhook-sa", "namespace": namespace}]}


@pytest.fixture
async def manager_identity(kube: KubeClient, namespace: str, local_cluster: Any,
                           tmp_path: Path) -> AsyncIterator[KubeClient]:
    """A client authenticated as a ServiceAccount holding exactly the manager's RBAC."""
    docs = _rbac_docs()
    cluster_name = f"webhook-rbac-{namespace}"
    await kube.create(SERVICE_ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                         "metadata": {"name": "webhook-sa"}}, namespace)
    cluster_role = copy.deepcopy(docs["ClusterRole"])
    cluster_role["metadata"] = {"name": cluster_name}
    role = copy.deepcopy(docs["Role"])
    role["metadata"] = {"name": cluster_name}
    await kube.create(CLUSTER_ROLES, cluster_role)
    await kube.create(CLUSTER_ROLE_BINDINGS, _binding("ClusterRoleBinding", cluster_name, "ClusterRole", namespace))
    await kube.create(ROLES, role, namespace)
    await kube.create(ROLE_BINDINGS, _binding("RoleBinding", cluster_name, "Role", namespace), namespace)
    token = await kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/webhook-sa/token",
                               body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                     "spec": {"expirationSeconds": 3600}})
    (tmp_path / "token").write_text(token["status"]["token"])
    shutil.copyfile(local_cluster.pki.ca_crt, tmp_path / "ca.crt")
    host, port = kube.server.removeprefix("https://").rsplit(":", 1)
    sa = await KubeClient.in_cluster(token_file=str(tmp_path / "token"), ca_file=str(tmp_path / "ca.crt"),
                                     environ={"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port})
    try:
        yield sa
    finally:
        await sa.aclose()
        for res, name in ((CLUSTER_ROLE_BINDINGS, cluster_name), (CLUSTER_ROLES, cluster_name)):
            try:
                await kube.delete(res, name)
            except NotFound:
                pass


async def test_sync_and_serve_with_manager_rbac_only(
    kube: KubeClient, namespace: str, rollout_crds: None, manager_identity: KubeClient, webhooks: Webhooks
) -> None:
    # manager_identity before webhooks: the app (using that identity) is torn down first.
    sa = manager_identity

    async def can_read_secrets() -> bool:
        try:
            await sa.list(SECRETS, namespace)
            return True
        except Forbidden:
            return False

    await eventually(can_read_secrets, bool, what="the RBAC grant to take effect")
    await webhooks.start(build_registry(rollout_lister=KubeRolloutLister(sa)), client=sa)
    assert await secret_ca(kube, namespace)
    text = await wait_rollout_webhook_live(kube, namespace)
    assert "spec.strategy.canary.steps" in text
    # the lister (Rollouts list/get) also runs as the ServiceAccount
    assert (await sa.list(ROLLOUTS_V1BETA1, namespace))["items"] == []
