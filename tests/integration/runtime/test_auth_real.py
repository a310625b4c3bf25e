"""Authentication paths against the real API server (RBAC on): a service-account token used the
in-cluster way, and Forbidden until a Role grants access."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime.kube import Forbidden, KubeClient
from runtime.kube.resources import CONFIGMAPS, SERVICE_ACCOUNTS, Resource

from .conftest import eventually

pytestmark = pytest.mark.integration

ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")


async def test_in_cluster_service_account_token(kube, namespace, local_cluster, tmp_path: Path):
    await kube.create(SERVICE_ACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                         "metadata": {"name": "rt"}}, namespace)
    token = await kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/rt/token",
                               body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                     "spec": {"expirationSeconds": 600}})
    (tmp_path / "token").write_text(token["status"]["token"])
    shutil.copyfile(local_cluster.pki.ca_crt, tmp_path / "ca.crt")
    host, port = kube.server.removeprefix("https://").rsplit(":", 1)
    sa = await KubeClient.in_cluster(token_file=str(tmp_path / "token"), ca_file=str(tmp_path / "ca.crt"),
                                     environ={"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port})
    try:
        with pytest.raises(Forbidden) as info:
            await sa.list(CONFIGMAPS, namespace)
        assert "system:serviceaccount:" in info.value.message
        await kube.create(ROLES, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                  "metadata": {"name": "read-cm"},
                                  "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                             "verbs": ["get", "list", "watch"]}]}, namespace)
        await kube.create(ROLE_BINDINGS, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                          "metadata": {"name": "read-cm"},
                                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                      "name": "read-cm"},
                                          "subjects": [{"kind": "ServiceAccount", "name": "rt",
                                                        "namespace": namespace}]}, namespace)

        async def allowed():
            try:
                return await sa.list(CONFIGMAPS, namespace)
            except Forbidden:
                return None
        listed = await eventually(allowed, what="RBAC grant takes effect")
        assert any(i["metadata"]["name"] == "kube-root-ca.crt" for i in listed["items"])
    finally:
        await sa.aclose()
