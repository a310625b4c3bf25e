"""The dict-based ``desired_batch_release`` as it was before issue 10, kept verbatim as an oracle: the
typed version in ``rollouts.rollout.steps`` must build the same BatchRelease body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollouts.api import keys


def _spec(rollout: Mapping[str, Any]) -> Mapping[str, Any]:
    return rollout.get("spec") or {}


def _canary(rollout: Mapping[str, Any]) -> Mapping[str, Any]:
    return (_spec(rollout).get("strategy") or {}).get("canary") or {}


def _steps(rollout: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(_canary(rollout).get("steps") or [])


class m:  # noqa: N801 - the old module alias, so the function below stays verbatim
    spec = staticmethod(_spec)
    canary = staticmethod(_canary)
    steps = staticmethod(_steps)


def desired_batch_release(
    rollout: Mapping[str, Any], sub: Mapping[str, Any], rollback_in_batch: bool
) -> dict[str, Any]:
    """The BatchRelease the Rollout wants for its current step (§7); name == Rollout name."""
    meta = rollout.get("metadata") or {}
    canary = m.canary(rollout)
    extra = bool(canary.get("enableExtraWorkloadForCanary"))
    plan: dict[str, Any] = {
        "batches": [{"canaryReplicas": s.get("replicas")} for s in m.steps(rollout)],
        "batchPartition": int(sub.get("currentStepIndex", 1)) - 1,
        "rolloutID": sub.get("observedRolloutID", ""),
        "rollingStyle": "Canary" if extra else "Partition",
        "enableExtraWorkloadForCanary": extra,
    }
    if canary.get("failureThreshold") is not None:
        plan["failureThreshold"] = canary["failureThreshold"]
    if canary.get("patchPodTemplateMetadata") is not None:
        plan["patchPodTemplateMetadata"] = canary["patchPodTemplateMetadata"]
    body: dict[str, Any] = {
        "apiVersion": "rollouts.kruise.io/v1beta1",
        "kind": "BatchRelease",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "ownerReferences": [
                {
                    "apiVersion": "rollouts.kruise.io/v1beta1",
                    "kind": "Rollout",
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"workloadRef": dict(m.spec(rollout).get("workloadRef") or {}), "releasePlan": plan},
    }
    anns = (meta.get("annotations") or {}).get(keys.ROLLBACK_IN_BATCH_ANNOTATION)
    if rollback_in_batch and anns is not None:
        body["metadata"]["annotations"] = {keys.ROLLBACK_IN_BATCH_ANNOTATION: anns}
    return body
