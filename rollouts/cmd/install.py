"""``--local-cluster`` installation: CRDs, the operator namespace and RBAC, applied at start.

On a real cluster these come from the Helm chart / kustomize; the local control plane has no
installer, so the manager creates (or updates) them itself before starting informers.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import structlog
import yaml

from rollouts.objects import crd as crd_objects
from runtime.kube.errors import AlreadyExists, Conflict
from runtime.kube.resources import CRDS, NAMESPACES, SERVICE_ACCOUNTS, Resource

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "config" / "crd"
RBAC_DIR = REPO / "config" / "rbac"

CLUSTER_ROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)
CLUSTER_ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
                                 namespaced=False)
ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
_BY_KIND = {r.kind: r for r in (CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS, SERVICE_ACCOUNTS,
                                NAMESPACES, CRDS)}

log = structlog.get_logger("rollouts.cmd.install")


async def apply(client: Any, obj: dict[str, Any], *, namespace: str | None = None) -> None:
    """Create, or replace keeping the live resourceVersion (conversion stanzas of CRDs are kept)."""
    res = _BY_KIND[obj["kind"]]
    obj = copy.deepcopy(obj)
    if res.namespaced:
        obj["metadata"]["namespace"] = namespace or obj["metadata"].get("namespace")
    for _ in range(5):
        try:
            await client.create(res, obj, obj["metadata"].get("namespace"))
            return
        except AlreadyExists:
            live = await client.get(res, obj["metadata"]["name"], obj["metadata"].get("namespace"))
        obj["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        if res is CRDS:
            live_conv = crd_objects.conversion(live)
            if live_conv and "conversion" in obj.get("spec", {}):
                obj["spec"]["conversion"] = live_conv  # the cert sync owns the clientConfig
        try:
            await client.update(res, obj)
            return
        except Conflict:
            continue


def _docs(directory: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return out


async def install(client: Any, namespace: str) -> None:
    """Namespace, CRDs (wait until Established) and RBAC for the operator in ``namespace``."""
    await apply(client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    crds = _docs(CRD_DIR)
    for crd in crds:
        await apply(client, crd)
    for doc in _docs(RBAC_DIR):
        for subject in doc.get("subjects") or []:
            subject["namespace"] = namespace
        await apply(client, doc, namespace=namespace)
    names = {c["metadata"]["name"] for c in crds}
    for _ in range(200):
        items = (await client.list(CRDS)).get("items") or []
        ready = {c["metadata"]["name"] for c in items if crd_objects.is_established(c)}
        if names <= ready:
            log.info("CRDs established", crds=sorted(names))
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"CRDs not established: {sorted(names - ready)}")
