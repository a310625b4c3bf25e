"""The stable Service and the generated ``<svc>-canary`` Service (traffic-routing.md §2).

Vocabulary: the *stable Service* is the user's Service named in ``trafficRoutings[0].service``; the
*canary Service* is ``<stable>-canary``, created by us and owned by the Rollout; the *revision key* is
the pod label that tells versions apart (``pod-template-hash`` for Deployments/CloneSets,
``controller-revision-hash`` for StatefulSet-likes).

During a release the stable Service selector is *pinned* (``<key>: <stableRevision>`` added) so new
pods never get traffic through it, and the canary Service selects ``<key>: <canaryRevision>``. At the
end the pin is removed (*restore*) and the canary Service deleted, which leaves the stable Service
exactly as the user wrote it (the key we add is the only field we touch).

Pure builders first (tested as tables), then :class:`ServiceControl`, the thin I/O class.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from rollouts.api import keys
from rollouts.objects import meta as objmeta
from rollouts.objects import service as services
from rollouts.trafficrouting.provider import ObjectClient
from runtime.kube.errors import AlreadyExists, NotFound
from runtime.kube.resources import SERVICES

__all__ = [
    "ServiceControl", "build_canary_service", "canary_name", "canary_selector_patch", "pin_selector_patch",
    "restore_selector_patch",
]

#: Spec fields the API server allocates per Service; a copy must not carry them or creation fails
#: (a clusterIP/nodePort already in use). Upstream clears exactly these.
_ALLOCATED_SPEC_FIELDS = ("clusterIP", "clusterIPs", "externalIPs", "ipFamilyPolicy", "ipFamilies", "loadBalancerIP")


def canary_name(stable_name: str) -> str:
    """``<stable>-canary``: the canary Service and canary Ingress naming rule."""
    return stable_name + keys.CANARY_NAME_SUFFIX


def build_canary_service(
    stable: Mapping, *, owner_ref: Mapping, revision_key: str, canary_revision: str,
    pod_labels: Mapping[str, str] | None = None, append_pod_selector: bool = False,
) -> dict:
    """The canary Service for ``stable`` (§2.1).

    ``pod_labels`` are the strategy's ``patchPodTemplateMetadata.labels``: a label already in the
    selector gets the patched value (the canary pods carry it); a new key is appended only with the
    ``AppendPodSelector`` feature gate, as upstream.
    """
    spec = copy.deepcopy(dict(services.spec(stable)))
    for name in _ALLOCATED_SPEC_FIELDS:
        spec.pop(name, None)
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)
    selector = dict(services.selector(stable))
    selector[revision_key] = canary_revision
    for key, value in (pod_labels or {}).items():
        if key in selector or append_pod_selector:
            selector[key] = value
    spec["selector"] = selector
    out_meta: dict = {"name": canary_name(objmeta.name(stable)), "namespace": objmeta.namespace(stable) or None,
                      "ownerReferences": [dict(owner_ref)]}
    if objmeta.labels(stable):
        out_meta["labels"] = dict(objmeta.labels(stable))
    if objmeta.annotations_of(stable):
        out_meta["annotations"] = dict(objmeta.annotations_of(stable))
    return {"apiVersion": "v1", "kind": "Service", "metadata": out_meta, "spec": spec}


def _selector_value_patch(service: Mapping, key: str, value: str | None) -> dict | None:
    if services.selector_value(service, key) == value:
        return None
    return {"spec": {"selector": {key: value}}}


def canary_selector_patch(canary: Mapping, revision_key: str, canary_revision: str) -> dict | None:
    """Patch moving an existing canary Service to a new canary revision, or None (§2.1)."""
    return _selector_value_patch(canary, revision_key, canary_revision)


def pin_selector_patch(stable: Mapping, revision_key: str, stable_revision: str) -> dict | None:
    """Patch pinning the stable Service to the stable revision, or None when already pinned (§2.2)."""
    return _selector_value_patch(stable, revision_key, stable_revision)


def restore_selector_patch(stable: Mapping, revision_key: str) -> dict | None:
    """Patch removing the revision key from the stable selector, or None when absent/empty (§2.2)."""
    return _selector_value_patch(stable, revision_key, None)


class ServiceControl:
    """Reads and writes the two Services. Every write method returns ``True`` when it changed something.

    Patches are strategic-merge like upstream (a ``null`` selector value deletes the key).
    """

    def __init__(self, client: ObjectClient, namespace: str) -> None:
        self._client = client
        self._ns = namespace

    async def get(self, name: str) -> dict | None:
        """The Service, or None when it does not exist."""
        try:
            return await self._client.get(SERVICES, name, self._ns)
        except NotFound:
            return None

    async def _patch(self, name: str, patch: dict | None) -> bool:
        if patch is None:
            return False
        await self._client.patch(SERVICES, name, patch, self._ns, patch_type="strategic")
        return True

    async def ensure_canary(
        self, stable: Mapping, *, owner_ref: Mapping, revision_key: str, canary_revision: str,
        pod_labels: Mapping[str, str] | None = None,
    ) -> bool:
        """Create ``<stable>-canary`` when missing, else point its selector at ``canary_revision``."""
        name = canary_name(objmeta.name(stable))
        current = await self.get(name)
        if current is None:
            body = build_canary_service(stable, owner_ref=owner_ref, revision_key=revision_key,
                                        canary_revision=canary_revision, pod_labels=pod_labels)
            try:
                await self._client.create(SERVICES, body, self._ns)
            except AlreadyExists:
                return False
            return True
        return await self._patch(name, canary_selector_patch(current, revision_key, canary_revision))

    async def pin_stable(self, stable: Mapping, *, revision_key: str, stable_revision: str) -> bool:
        """Add ``<key>: <stableRevision>`` to the stable selector (no-op when already there)."""
        patch = pin_selector_patch(stable, revision_key, stable_revision)
        return await self._patch(objmeta.name(stable), patch)

    async def restore_stable(self, stable: Mapping, *, revision_key: str) -> bool:
        """Remove the revision key from the stable selector (no-op when it is not there)."""
        return await self._patch(objmeta.name(stable), restore_selector_patch(stable, revision_key))

    async def remove_canary(self, stable_name: str) -> bool:
        """Delete ``<stable>-canary``; True when a delete was sent, False when it was already gone."""
        try:
            await self._client.delete(SERVICES, canary_name(stable_name), self._ns)
        except NotFound:
            return False
        return True
