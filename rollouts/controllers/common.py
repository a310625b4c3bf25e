"""Small helpers shared by the reconcilers: resources, merge patches, finalizers, workload refs.

ObjectMeta accessors live in :mod:`rollouts.objects.meta` (one accessor module for every object).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.objects.meta import metadata as meta
from runtime.cache.protocols import CacheReader
from runtime.kube.resources import Resource

ROLLOUTS = Resource("rollouts.kruise.io", "v1beta1", "rollouts", "Rollout")
BATCHRELEASES = Resource("rollouts.kruise.io", "v1beta1", "batchreleases", "BatchRelease")
TRAFFICROUTINGS = Resource("rollouts.kruise.io", "v1alpha1", "trafficroutings", "TrafficRouting")
ROLLOUTHISTORIES = Resource("rollouts.kruise.io", "v1alpha1", "rollouthistories", "RolloutHistory")

Obj = Mapping[str, Any]


def resource_version(obj: Obj | None) -> int:
    """The object's resourceVersion as a number, 0 when absent or not numeric.

    Reconcilers compare it with the version of their own last write to avoid acting on a cache that
    has not seen that write yet (treating the opaque string as a number is what etcd gives us)."""
    try:
        return int(meta(obj).get("resourceVersion") or 0)
    except ValueError:
        return 0


def merge_patch(old: Any, new: Any) -> Any:
    """RFC 7386 merge patch turning ``old`` into ``new`` (``None`` values delete keys).

    Returns ``{}`` when nothing differs. Lists are replaced whole (that is what merge patch does).
    """
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return copy.deepcopy(new)
    out: dict[str, Any] = {}
    for key in old:
        if key not in new:
            out[key] = None
    for key, value in new.items():
        if key not in old:
            out[key] = copy.deepcopy(value)
        elif old[key] != value:
            if isinstance(old[key], Mapping) and isinstance(value, Mapping):
                sub = merge_patch(old[key], value)
                if sub:
                    out[key] = sub
            else:
                out[key] = copy.deepcopy(value)
    return out


def group_of(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""``."""
    return api_version.rpartition("/")[0]


def ref_matches(ref: Mapping[str, Any] | None, api_version: str, kind: str, name: str | None) -> bool:
    """A workloadRef matches an object by group (version ignored), kind and name."""
    if not ref:
        return False
    return (
        group_of(str(ref.get("apiVersion", ""))) == group_of(api_version)
        and ref.get("kind") == kind
        and ref.get("name") == name
    )


def workload_ref(rollout: Obj) -> Mapping[str, Any]:
    """v1beta1 ``spec.workloadRef`` (v1alpha1 ``spec.objectRef.workloadRef`` as a fallback)."""
    spec = rollout.get("spec") or {}
    return spec.get("workloadRef") or (spec.get("objectRef") or {}).get("workloadRef") or {}


def traffic_routing_name(rollout: Mapping[str, Any]) -> str:
    """The TrafficRouting a Rollout (wire form) releases through: the annotation
    ``rollouts.kruise.io/trafficrouting``, else v1beta1 ``trafficRoutingRef``; "" when none."""
    named = (meta(rollout).get("annotations") or {}).get(keys.TRAFFIC_ROUTING_ANNOTATION, "")
    if named:
        return str(named)
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    for key in ("canary", "blueGreen"):
        ref = (strategy.get(key) or {}).get("trafficRoutingRef")
        if ref:
            return str(ref)
    return ""


def finalizers_patch(obj: Obj, finalizer: str, *, present: bool) -> dict[str, Any] | None:
    """Merge patch adding/removing ``finalizer`` (guarded by resourceVersion), or None if no change."""
    current = list(meta(obj).get("finalizers") or [])
    if (finalizer in current) == present:
        return None
    wanted = current + [finalizer] if present else [f for f in current if f != finalizer]
    return {"metadata": {"finalizers": wanted, "resourceVersion": meta(obj).get("resourceVersion")}}


#: Fallback recheck when the cache is older than our own last write. The watch event of that write
#: enqueues the object again as soon as the cache has it (usually within milliseconds), so this
#: only matters if the event never comes; a short poll here would just add its period to every step.
STALE_CACHE_RETRY_SECONDS = 1.0


@attrs.define
class OwnWrites:
    """The resourceVersion of our own last write per object, to avoid acting on an older cache.

    A reconcile woken before the informer has seen our previous status patch would recompute from
    stale input and undo or repeat work; it waits for that write's own watch event instead, with
    :data:`STALE_CACHE_RETRY_SECONDS` as the fallback (STYLE example 10)."""

    #: (namespace, name) -> resourceVersion returned by our last write of that object.
    _versions: dict[tuple[str, str], int] = attrs.field(factory=dict)

    def lookup(self, store: CacheReader, namespace: str, name: str) -> tuple[Obj | None, bool]:
        """(cached object or None, stale?). A vanished object forgets its recorded write."""
        cached = store.get(name, namespace)
        if cached is None:
            self._versions.pop((namespace, name), None)
            return None, False
        return cached, resource_version(cached) < self._versions.get((namespace, name), 0)

    def record(self, namespace: str, name: str, written: Obj) -> None:
        """Remember the resourceVersion the API server returned for our write of namespace/name."""
        self._versions[(namespace, name)] = resource_version(written)
