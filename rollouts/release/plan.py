"""BatchRelease release-plan hash (batch-release.md §2.3).

``status.observedReleasePlanHash`` is compared with this value: a difference is how the BatchRelease
learns that the Rollout advanced ``batchPartition`` (or changed anything else in the plan), and how
the Rollout knows the BatchRelease has seen its latest plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from rollouts.api.v1beta1.batchrelease import plan_hash
from rollouts.api.wire import go_json_text

# ``plan_hash`` (of a decoded plan) is defined beside the ReleasePlan model; the dict form below is kept
# for callers that hold wire dicts (the tests' scripted worlds, the bench).
__all__ = ["ordered_release_plan", "plan_hash", "release_plan_hash"]

#: Go field order of ReleasePlan; "always" fields are emitted even when empty/false.
_FIELDS = (
    ("batches", "always"),
    ("batchPartition", "ptr"),
    ("rolloutID", "zero"),
    ("failureThreshold", "ptr"),
    ("finalizingPolicy", "zero"),
    ("patchPodTemplateMetadata", "ptr"),
    ("rollingStyle", "zero"),
    ("enableExtraWorkloadForCanary", "always"),
)


def ordered_release_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The plan in Go field order with omitempty applied."""
    out: dict[str, Any] = {}
    for name, kind in _FIELDS:
        value = plan.get(name)
        if name == "batches":
            out[name] = [{"canaryReplicas": b.get("canaryReplicas")} for b in (value or [])]
        elif name == "enableExtraWorkloadForCanary":
            out[name] = bool(value)
        elif name == "patchPodTemplateMetadata" and value is not None:
            out[name] = {k: dict(sorted(value[k].items())) for k in ("annotations", "labels") if value.get(k)}
        elif kind == "ptr" and value is not None or kind == "zero" and value not in (None, "", 0, False):
            out[name] = value
    return out


def release_plan_hash(plan: Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of the Go JSON encoding of ``spec.releasePlan``."""
    return hashlib.sha256(go_json_text(ordered_release_plan(plan)).encode()).hexdigest()
