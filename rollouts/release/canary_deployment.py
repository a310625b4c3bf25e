"""Canary style: the extra canary Deployment of a BatchRelease (batch-release.md §7), as pure functions.

Vocabulary. The *stable* Deployment is the user's: the workload webhook keeps it ``spec.paused``
for the whole release, so it goes on running every old pod. The *canary* Deployment is ours: a copy
of the stable spec (already carrying the new template) plus ``patchPodTemplateMetadata``, owned by
the BatchRelease, named ``<stable>-<5 random chars>`` by the API server (``generateName``). A batch
is released by raising the canary's ``spec.replicas`` to ``planned(batch)`` computed on the *stable*
replicas; it is never lowered within a release (upstream: scaling the stable Deployment down must
not kill canary pods that already took traffic). At the end the stable Deployment is unpaused (the
native controller rolls it to the new version) and the canary Deployment is left to the garbage
collector, which deletes it with its BatchRelease.

Why pure: every decision here (what to create, which Deployment is the canary, how far to scale,
what to patch at the end, whether the hand-back is finished) is data in, data out; the control
plane (``rollouts.controllers.batchrelease.canary``) only does the reads and writes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from rollouts.api import keys
from rollouts.api.common import PatchPodTemplateMetadata
from rollouts.api.intstr import IntOrStrLike, scaled_value
from rollouts.objects import deployment as deploy
from rollouts.objects import meta
from rollouts.objects import workload as wl
from rollouts.objects.replicaset import active_replica_sets
from rollouts.release.batch import planned_batch_replicas
from rollouts.release.template_hash import compute_template_hash, equal_ignore_hash

Obj = Mapping[str, Any]

CANARY_LABEL = keys.CANARY_DEPLOYMENT_LABEL
CANARY_FINALIZER = keys.CANARY_DEPLOYMENT_FINALIZER
CONTROL_INFO = keys.BATCH_RELEASE_CONTROL_ANNOTATION


def _patch_parts(patch: PatchPodTemplateMetadata | None) -> tuple[dict[str, str], dict[str, str]]:
    if patch is None:
        return {}, {}
    return dict(patch.labels) if patch.labels else {}, dict(patch.annotations) if patch.annotations else {}


def canary_template(stable: Obj, patch: PatchPodTemplateMetadata | None) -> dict[str, Any]:
    """The stable pod template with ``patchPodTemplateMetadata`` merged into its metadata."""
    template = copy.deepcopy(dict(wl.template(stable)))
    labels, annotations = _patch_parts(patch)
    md = template.setdefault("metadata", {})
    if labels:
        md["labels"] = {**meta.labels(template), **labels}
    if annotations:
        md["annotations"] = {**meta.annotations_of(template), **annotations}
    return template


def canary_revision(stable: Obj, patch: PatchPodTemplateMetadata | None) -> str:
    """Update revision of the canary the stable Deployment calls for now (its template hash)."""
    return compute_template_hash(canary_template(stable, patch))


def canary_body(stable: Obj, control_info: str, patch: PatchPodTemplateMetadata | None) -> dict[str, Any]:
    """The canary Deployment to create (§7 "Create"); ``control_info`` is the BR's owner-ref JSON.

    ``spec`` is the stable spec (new template, selector, strategy...) with the patched template,
    ``replicas: 0`` (UpgradeBatch scales it) and ``paused: false`` (the stable one is paused by the
    webhook; a paused canary would never create its ReplicaSet).
    """
    owner = _owner_ref(control_info)
    spec = copy.deepcopy(dict(wl.spec(stable)))
    spec["template"] = canary_template(stable, patch)
    spec["replicas"] = 0
    spec["paused"] = False
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "generateName": f"{meta.name(stable)}-",
            "namespace": meta.namespace(stable),
            "finalizers": [CANARY_FINALIZER],
            "ownerReferences": [owner],
            "labels": {CANARY_LABEL: meta.name(stable)},
            "annotations": {CONTROL_INFO: control_info},
        },
        "spec": spec,
    }


def _owner_ref(control_info: str) -> dict[str, Any]:
    return dict(json.loads(control_info))


def owned_canaries(deployments: Iterable[Obj], br_uid: str) -> list[Obj]:
    """Deployments controlled by the BatchRelease ``br_uid`` and not deleting, newest first."""
    mine = [d for d in deployments if meta.is_controlled_by(d, br_uid) and not meta.is_deleting(d)]
    return sorted(mine, key=lambda d: (str(meta.creation_timestamp(d)), meta.name(d)), reverse=True)


def _without_patched_keys(template: Obj, patch: PatchPodTemplateMetadata | None) -> dict[str, Any]:
    labels, annotations = _patch_parts(patch)
    out = copy.deepcopy(dict(template))
    md = out.setdefault("metadata", {})
    current = {"labels": meta.labels(out), "annotations": meta.annotations_of(out)}
    for field, keys_ in (("labels", labels), ("annotations", annotations)):
        values = {k: v for k, v in current[field].items() if k not in keys_}
        if values:
            md[field] = values
        else:
            md.pop(field, None)
    return out


def pick_canary(
    deployments: Iterable[Obj], stable: Obj, br_uid: str, patch: PatchPodTemplateMetadata | None
) -> Obj | None:
    """§7 "Lookup": the newest owned Deployment whose template is the stable one (patched keys aside).

    A canary of an older template (continuous release before its BatchRelease was replaced) is not
    the canary of this release; it is left to the garbage collector with its BatchRelease.
    """
    want = _without_patched_keys(wl.template(stable), patch)
    for candidate in owned_canaries(deployments, br_uid):
        if equal_ignore_hash(_without_patched_keys(wl.template(candidate), patch), want):
            return candidate
    return None


def desired_canary_replicas(canary_replicas: IntOrStrLike | None, stable_replicas: int) -> int:
    """``planned(batch)`` on the **stable** replicas (the canary runs beside all old pods)."""
    return planned_batch_replicas(canary_replicas, stable_replicas)


def scale_patch(canary: Obj, desired: int) -> dict[str, Any] | None:
    """Raise the canary to ``desired`` replicas; None when it already has as many (never lowered)."""
    if wl.spec_replicas(canary, default=0) >= desired:
        return None
    return {"spec": {"replicas": desired}}


def stable_finalize_patch(stable: Obj, *, batch_partition_is_nil: bool) -> dict[str, Any] | None:
    """§7 Finalize 1: drop control-info; unpause when the release is over; None when nothing to do.

    ``batchPartition`` set (a continuous release replacing this BatchRelease) keeps the stable
    Deployment paused: the next release takes it over from there.
    """
    body: dict[str, Any] = {}
    if CONTROL_INFO in meta.annotations_of(stable):
        body["metadata"] = {"annotations": {CONTROL_INFO: None}}
    paused = not batch_partition_is_nil
    if deploy.is_paused(stable) != paused:
        body["spec"] = {"paused": paused}
    return body or None


def canary_finalizer_patch(canary: Obj) -> dict[str, Any] | None:
    """Merge patch dropping our finalizer from a canary Deployment (None when it has none).

    The list is written whole (merge patches replace lists): other finalizers are kept."""
    finalizers = list(meta.finalizers(canary))
    if CANARY_FINALIZER not in finalizers:
        return None
    rest = [f for f in finalizers if f != CANARY_FINALIZER]
    return {"metadata": {"finalizers": rest or None, "resourceVersion": meta.metadata(canary).get("resourceVersion")}}


def wait_resume_reason(stable: Obj) -> str | None:
    """§7 Finalize with ``WaitResume``: why the stable Deployment has not finished rolling, or None.

    Done when it is unpaused, its status is of the current generation, all its pods are updated and
    ``available + maxUnavailable ≥ replicas``. The generation check is ours: right after the unpause
    the status is still the paused one and must not be read as "finished".
    """
    name = meta.name(stable)
    if deploy.is_paused(stable):
        return f"Deployment {name} is still paused"
    if wl.generation(stable) > wl.status_int(stable, "observedGeneration"):
        return f"Deployment {name}: status of generation {wl.generation(stable)} not observed yet"
    replicas, updated = wl.status_int(stable, "replicas"), wl.status_int(stable, "updatedReplicas")
    if replicas != updated:
        return f"Deployment {name}: {updated} of {replicas} pods updated"
    available = wl.status_int(stable, "availableReplicas")
    max_unavailable = _max_unavailable(stable)
    if available + max_unavailable < replicas:
        return (f"Deployment {name}: {available} of {replicas} pods available "
                f"(maxUnavailable {max_unavailable})")
    return None


def _max_unavailable(stable: Obj) -> int:
    """``maxUnavailable`` of a RollingUpdate strategy scaled on replicas (rounded down); 0 otherwise."""
    replicas = wl.spec_replicas(stable)
    if deploy.strategy_type(stable) not in (None, "RollingUpdate") or replicas == 0:
        return 0
    value = deploy.max_unavailable(stable)
    return scaled_value(value, replicas, round_up=False)


CANARY_OF_INDEX = "canary-of"
"""Deployment informer index: ``namespace/<stable name>`` for each canary Deployment (its
``canary-deployment`` label). A canary-style Rollout's every round looks up its canaries: with this
index that is one lookup instead of a scan of the namespace's Deployments."""


def canary_of_index(obj: Obj) -> list[str]:
    stable = meta.labels(obj).get(CANARY_LABEL)
    return [f"{meta.namespace(obj)}/{stable}"] if stable else []


def canary_pod_template_hash(stable_name: str, deployments: Iterable[Obj], replica_sets: Iterable[Obj]) -> str:
    """``podTemplateHash`` of a canary-style Rollout (rollout-lifecycle.md §2 table, canary row).

    The ``pod-template-hash`` of the oldest active ReplicaSet (controlled, not deleting, replicas ≠ 0)
    of the newest non-deleting Deployment labelled ``rollouts.kruise.io/canary-deployment:
    <stable_name>``; "" when there is none. The stable Deployment is paused on the new template, so
    no ReplicaSet of its own carries the new pods' hash: the canary Service selects this one.
    """
    canaries = [d for d in deployments
                if meta.labels(d).get(CANARY_LABEL) == stable_name and not meta.is_deleting(d)]
    if not canaries:
        return ""
    newest = max(canaries, key=lambda d: (str(meta.creation_timestamp(d)), meta.name(d)))
    active = active_replica_sets(replica_sets, meta.uid(newest))
    if not active:
        return ""
    oldest = min(active, key=lambda rs: (str(meta.creation_timestamp(rs)), meta.name(rs)))
    return meta.labels(oldest).get(keys.POD_TEMPLATE_HASH_LABEL, "")


def readiness_message(canary_name: str, *, available: int, updated: int, desired: int, reason: str) -> str:
    """A not-ready batch, said with the canary's numbers (surfaces in BatchRelease and Rollout status)."""
    return (f"canary Deployment {canary_name}: {available} of {desired} pods available, "
            f"{updated} created ({reason})")


__all__ = ["CANARY_OF_INDEX", "canary_of_index",
           "canary_body", "canary_finalizer_patch", "canary_pod_template_hash", "canary_revision", "canary_template",
           "desired_canary_replicas",
           "owned_canaries", "pick_canary", "readiness_message", "scale_patch", "stable_finalize_patch",
           "wait_resume_reason"]
