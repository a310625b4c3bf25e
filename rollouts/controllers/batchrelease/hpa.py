"""HPA handling of a blue-green release (batch-release.md §8.3).

While both sides run, an HPA targeting the workload would see old and new pods as one scale target
and scale the old side up (or down) under the release. Upstream disables it by pointing its
``scaleTargetRef.name`` at a name that does not exist (``<name>-DisableByRollout``) and restores the
name at Finalize; the HPA then simply reports the target missing. We do the same, so an HPA left
renamed by either controller is restored by the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollouts.api import keys
from rollouts.objects import meta
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import HPAS, Resource

SUFFIX = keys.HPA_DISABLE_SUFFIX
#: ``autoscaling/v1`` for clusters that do not serve v2 (upstream tries v2, then v1).
HPAS_V1 = Resource("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler")

Obj = Mapping[str, Any]


def strip_suffix(name: str) -> str:
    """``name`` with every trailing ``-DisableByRollout`` removed."""
    while name.endswith(SUFFIX):
        name = name[: -len(SUFFIX)]
    return name


def targets(hpa: Obj, workload: Obj, resource: Resource) -> bool:
    """The HPA scales ``workload`` (apiVersion, kind and name once the suffix is stripped)."""
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return (ref.get("apiVersion") == resource.api_version and ref.get("kind") == resource.kind
            and strip_suffix(str(ref.get("name", ""))) == meta.name(workload))


async def _find(client: KubeApi, workload: Obj, resource: Resource) -> tuple[Resource, Obj] | None:
    for res in (HPAS, HPAS_V1):
        try:
            items = (await client.list(res, meta.namespace(workload))).get("items") or []
        except NotFound:
            continue
        for item in items:
            if targets(item, workload, resource):
                return res, item
        return None
    return None


async def _rename(client: KubeApi, workload: Obj, resource: Resource, *, disable: bool) -> None:
    found = await _find(client, workload, resource)
    if found is None:
        return
    res, item = found
    name = str(item["spec"]["scaleTargetRef"].get("name", ""))
    wanted = meta.name(workload) + SUFFIX if disable else strip_suffix(name)
    if disable and name.endswith(SUFFIX) or name == wanted:
        return
    body = {"spec": {"scaleTargetRef": {"apiVersion": resource.api_version, "kind": resource.kind, "name": wanted}}}
    try:
        await client.patch(res, meta.name(item), body, meta.namespace(workload))
    except NotFound:
        pass


async def disable(client: KubeApi, workload: Obj, resource: Resource) -> None:
    """Point the workload's HPA (if any) at ``<name>-DisableByRollout``."""
    await _rename(client, workload, resource, disable=True)


async def restore(client: KubeApi, workload: Obj, resource: Resource) -> None:
    """Point the HPA back at the workload."""
    await _rename(client, workload, resource, disable=False)
