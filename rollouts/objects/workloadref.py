"""The workload a Rollout or BatchRelease targets, as an informer index (client-go ``Indexer``).

Why an index: every event of a Deployment (and of every Pod, through its ReplicaSet) must find the
Rollout and BatchRelease that target that workload, and the Rollout admission webhook must find a
Rollout already targeting the workload of the one being admitted. Scanning the namespace's Rollouts
made each of those O(Rollouts in the namespace), i.e. O(N²) work to bring N Rollouts up in one
namespace. With the index each lookup is one dict access.

The index value is ``namespace/group/Kind/name``: the API *version* is left out on purpose, as
in :func:`rollouts.controllers.common.ref_matches` and the conflict rule of the validator (a
workload is the same workload whatever version a Rollout names it by).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["WORKLOAD_REF_INDEX", "workload_index_value", "workload_ref_index", "raw_workload_ref"]

WORKLOAD_REF_INDEX = "workload-ref"
_EMPTY: Mapping[str, Any] = {}


def raw_workload_ref(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``spec.workloadRef`` (Rollout v1beta1, BatchRelease) or ``spec.objectRef.workloadRef``
    (Rollout v1alpha1); empty when absent or not an object."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return _EMPTY
    ref = spec.get("workloadRef")
    if ref is None and isinstance(spec.get("objectRef"), Mapping):
        ref = spec["objectRef"].get("workloadRef")
    return ref if isinstance(ref, Mapping) else _EMPTY


def workload_index_value(namespace: str | None, api_version: str, kind: str, name: str | None) -> str:
    """The index value of a workload: ``namespace/group/Kind/name`` (the version is ignored)."""
    group = str(api_version).rpartition("/")[0]
    return f"{namespace or ''}/{group}/{kind}/{name or ''}"


def workload_ref_index(obj: Mapping[str, Any]) -> list[str]:
    """Index function: the one workload ``obj`` targets (none when its reference is incomplete)."""
    ref = raw_workload_ref(obj)
    kind, name = ref.get("kind"), ref.get("name")
    if not isinstance(kind, str) or not isinstance(name, str) or not kind or not name:
        return []
    namespace = (obj.get("metadata") or _EMPTY).get("namespace")
    return [workload_index_value(namespace, str(ref.get("apiVersion", "")), kind, name)]
