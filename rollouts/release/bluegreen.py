"""Blue-green control of a Deployment or CloneSet (batch-release.md §8), as pure patches and checks.

Vocabulary:

* *surge* — new pods brought up **beside** the old ones. A blue-green batch is released by raising
  the workload's own ``maxSurge`` to the batch's ``canaryReplicas``; ``maxUnavailable`` is 0, so the
  workload controller may add new pods but never remove an old one.
* *frozen availability* — ``minReadySeconds`` is set to :data:`MAX_READY_SECONDS`: new pods become
  Ready but never *available*, so the workload controller never counts them as a reason to scale the
  old side down. Restoring ``minReadySeconds`` at the end is what lets it finish the rollout.
* *original setting* — what the user had (``maxSurge``, ``maxUnavailable``, ``minReadySeconds``,
  ``progressDeadlineSeconds``), saved in the annotation ``rollouts.kruise.io/original-deployment-strategy``
  before the takeover and written back by Finalize.

Why the workload's own controller does the work (unlike the partition Deployment, which the
advanced Deployment controller drives): surge is exactly the native mechanism, and handing the
workload back is just restoring four fields. Patches are JSON merge patches; ``None`` means
"nothing to change".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import attrs

from rollouts.api import keys
from rollouts.api.intstr import IntOrStrLike, WireIntOrStr, scaled_value, wire_value
from rollouts.objects import meta
from rollouts.objects import workload as wl
from rollouts.release.batch import new_rs_replicas_limit, planned_batch_replicas

ORIGINAL_STRATEGY_ANNOTATION: Final = keys.ORIGINAL_DEPLOYMENT_STRATEGY_ANNOTATION
CONTROL_INFO_ANNOTATION: Final = keys.BATCH_RELEASE_CONTROL_ANNOTATION
STABLE_REVISION_LABEL: Final = keys.STABLE_REVISION_LABEL
MAX_READY_SECONDS: Final = keys.MAX_READY_SECONDS
MAX_PROGRESS_SECONDS: Final = keys.MAX_PROGRESS_SECONDS
#: ``maxSurge`` written at takeover. Upstream treats a current surge of exactly 1 as "nothing
#: released yet" (0) — the placeholder cannot be told from a user's batch of 1, a known quirk.
INITIAL_SURGE: Final = 1
#: Kubernetes' defaults for a Deployment's rolling update and progress deadline.
DEPLOYMENT_DEFAULT_SURGE: Final = "25%"
DEPLOYMENT_DEFAULT_UNAVAILABLE: Final = "25%"
DEPLOYMENT_DEFAULT_PROGRESS_DEADLINE: Final = 600
#: OpenKruise's CloneSet defaults.
CLONESET_DEFAULT_SURGE: Final = "0%"
CLONESET_DEFAULT_UNAVAILABLE: Final = "20%"

Obj = Mapping[str, Any]


@attrs.frozen(kw_only=True)
class OriginalSetting:
    """The user's rolling parameters saved before the takeover (Go field order, omitempty)."""

    max_unavailable: WireIntOrStr | None = None
    max_surge: WireIntOrStr | None = None
    min_ready_seconds: int = 0
    progress_deadline_seconds: int | None = None

    def to_json(self) -> str:
        out: dict[str, Any] = {}
        if self.max_unavailable is not None:
            out["maxUnavailable"] = self.max_unavailable
        if self.max_surge is not None:
            out["maxSurge"] = self.max_surge
        if self.min_ready_seconds:
            out["minReadySeconds"] = self.min_ready_seconds
        if self.progress_deadline_seconds is not None:
            out["progressDeadlineSeconds"] = self.progress_deadline_seconds
        return json.dumps(out, separators=(",", ":"))


def parse_original(obj: Obj) -> OriginalSetting | None:
    """The saved setting, None when absent or not a JSON object."""
    data = meta.json_object_annotation(obj, ORIGINAL_STRATEGY_ANNOTATION)
    if data is None:
        return None
    pds = data.get("progressDeadlineSeconds")
    return OriginalSetting(max_unavailable=data.get("maxUnavailable"), max_surge=data.get("maxSurge"),
                           min_ready_seconds=int(data.get("minReadySeconds") or 0),
                           progress_deadline_seconds=int(pds) if pds is not None else None)


def _current_min_ready(obj: Obj) -> int:
    """``spec.minReadySeconds``, except our own sentinel (a half-done takeover must not save it)."""
    value = int(wl.spec(obj).get("minReadySeconds") or 0)
    return 0 if value >= MAX_READY_SECONDS else value


def original_setting(obj: Obj, *, cloneset: bool) -> OriginalSetting:
    """§8.1 step 3 / §8.2: an existing annotation's values are kept, missing ones filled from the spec."""
    saved = parse_original(obj) or OriginalSetting()
    if cloneset:
        strategy = wl.update_strategy(obj)
        surge, unavailable = CLONESET_DEFAULT_SURGE, CLONESET_DEFAULT_UNAVAILABLE
        deadline = None
    else:
        strategy = wl.spec(obj).get("strategy", {}).get("rollingUpdate") or {}
        surge, unavailable = DEPLOYMENT_DEFAULT_SURGE, DEPLOYMENT_DEFAULT_UNAVAILABLE
        pds = wl.spec(obj).get("progressDeadlineSeconds")
        deadline = int(pds) if pds is not None and int(pds) < MAX_PROGRESS_SECONDS \
            else DEPLOYMENT_DEFAULT_PROGRESS_DEADLINE
    return OriginalSetting(
        max_surge=saved.max_surge if saved.max_surge is not None else strategy.get("maxSurge", surge),
        max_unavailable=(saved.max_unavailable if saved.max_unavailable is not None
                         else strategy.get("maxUnavailable", unavailable)),
        min_ready_seconds=saved.min_ready_seconds or _current_min_ready(obj),
        progress_deadline_seconds=(saved.progress_deadline_seconds if saved.progress_deadline_seconds is not None
                                   else deadline),
    )


def is_claimed(obj: Obj, br_uid: str) -> bool:
    """``IsControlledByBatchRelease``: control-info names this BatchRelease."""
    raw = meta.annotations_of(obj).get(CONTROL_INFO_ANNOTATION)
    if not raw:
        return False
    try:
        return bool(json.loads(raw).get("uid") == br_uid)
    except (ValueError, AttributeError):
        return False


def deployment_initialize_patch(deployment: Obj, control_info: str) -> dict[str, Any]:
    """§8.1 steps 3–4: save the original setting, claim, surge 1 / unavailable 0, freeze availability.

    ``spec.paused`` is left alone: the workload webhook paused the Deployment when the release began,
    and UpgradeBatch unpauses it together with the first real surge.
    """
    setting = original_setting(deployment, cloneset=False)
    return {
        "metadata": {"annotations": {ORIGINAL_STRATEGY_ANNOTATION: setting.to_json(),
                                     CONTROL_INFO_ANNOTATION: control_info}},
        "spec": {"strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": INITIAL_SURGE, "maxUnavailable": 0}},
                 "minReadySeconds": MAX_READY_SECONDS, "progressDeadlineSeconds": MAX_PROGRESS_SECONDS},
    }


def cloneset_initialize_patch(cloneset: Obj, control_info: str) -> dict[str, Any]:
    """§8.2 Initialize: as the Deployment, with CloneSet field names and no progress deadline."""
    setting = original_setting(cloneset, cloneset=True)
    return {
        "metadata": {"annotations": {ORIGINAL_STRATEGY_ANNOTATION: setting.to_json(),
                                     CONTROL_INFO_ANNOTATION: control_info}},
        "spec": {"updateStrategy": {"paused": False, "maxSurge": INITIAL_SURGE, "maxUnavailable": 0},
                 "minReadySeconds": MAX_READY_SECONDS},
    }


def current_surge(obj: Obj, *, cloneset: bool) -> WireIntOrStr:
    """The surge released so far; the takeover placeholder 1 counts as 0 (upstream quirk, see above)."""
    if cloneset:
        surge = wl.update_strategy(obj).get("maxSurge", 0)
    else:
        surge = (wl.spec(obj).get("strategy", {}).get("rollingUpdate") or {}).get("maxSurge", 0)
    return 0 if surge == INITIAL_SURGE else surge


def desired_updated(desired_surge: IntOrStrLike, replicas: int, *, cloneset: bool) -> int:
    """New pods the batch wants: the Deployment's ``NewRSReplicasLimit`` (§9.2), plain ceil for CloneSet."""
    if cloneset:
        return planned_batch_replicas(desired_surge, replicas)
    return new_rs_replicas_limit(desired_surge, replicas)


def surge_reached(obj: Obj, desired_surge: IntOrStrLike, *, cloneset: bool) -> bool:
    """UpgradeBatch's "current ≥ desired", both scaled on the workload's replicas (rounded up)."""
    replicas = wl.spec_replicas(obj)
    current = scaled_value(current_surge(obj, cloneset=cloneset), replicas, True)
    return current >= scaled_value(desired_surge, replicas, True)


def deployment_not_ready_for_blue_green(deployment: Obj) -> str | None:
    """UpgradeBatch's precondition (§8.1); None when the takeover is complete, else what is missing."""
    spec = wl.spec(deployment)
    missing = []
    if not meta.annotations_of(deployment).get(CONTROL_INFO_ANNOTATION):
        missing.append(f"annotation {CONTROL_INFO_ANNOTATION} is absent")
    strategy = spec.get("strategy") or {}
    if strategy.get("type") != "RollingUpdate" or not strategy.get("rollingUpdate"):
        missing.append("spec.strategy is not RollingUpdate with rollingUpdate set")
    if spec.get("minReadySeconds") != MAX_READY_SECONDS:
        missing.append(f"spec.minReadySeconds is not {MAX_READY_SECONDS}")
    if spec.get("progressDeadlineSeconds") != MAX_PROGRESS_SECONDS:
        missing.append(f"spec.progressDeadlineSeconds is not {MAX_PROGRESS_SECONDS}")
    if not missing:
        return None
    return (f"cannot upgrade batch, because deployment {meta.name(deployment)} doesn't satisfy conditions: "
            + "; ".join(missing))


def cloneset_not_ready_for_blue_green(cloneset: Obj) -> str | None:
    """§8.2 precondition; InPlace update types are refused as upstream (they cannot surge)."""
    missing = []
    if not meta.annotations_of(cloneset).get(CONTROL_INFO_ANNOTATION):
        missing.append(f"annotation {CONTROL_INFO_ANNOTATION} is absent")
    kind = wl.update_strategy(cloneset).get("type", "")
    if kind not in ("", "ReCreate"):
        missing.append(f'spec.updateStrategy.type is {kind}; blue-green needs "ReCreate" (or unset)')
    if wl.spec(cloneset).get("minReadySeconds") != MAX_READY_SECONDS:
        missing.append(f"spec.minReadySeconds is not {MAX_READY_SECONDS}")
    if not missing:
        return None
    return (f"cannot upgrade batch, because cloneset {meta.name(cloneset)} doesn't satisfy conditions: "
            + "; ".join(missing))


def deployment_upgrade_patch(desired_surge: IntOrStrLike) -> dict[str, Any]:
    """§8.1 UpgradeBatch: unpause, surge to the batch (as the user wrote it), never remove old pods."""
    return {"spec": {"paused": False, "strategy": {"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": wire_value(desired_surge), "maxUnavailable": 0}}}}


def cloneset_upgrade_patch(desired_surge: IntOrStrLike) -> dict[str, Any]:
    """§8.2 UpgradeBatch: no partition (every new pod is a surge pod), surge to the batch."""
    return {"spec": {"updateStrategy": {"partition": None, "maxSurge": wire_value(desired_surge)}}}


def restored(obj: Obj) -> bool:
    """Finalize already wrote the original setting back (the annotation is gone)."""
    return ORIGINAL_STRATEGY_ANNOTATION not in meta.annotations_of(obj)


def deployment_finalize_patch(deployment: Obj) -> dict[str, Any] | None:
    """§8.1 Finalize: the saved setting back, unpaused, every mark of ours removed."""
    if restored(deployment):
        if CONTROL_INFO_ANNOTATION in meta.annotations_of(deployment):
            return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        return None
    s = original_setting(deployment, cloneset=False)
    return {
        "metadata": {"annotations": {ORIGINAL_STRATEGY_ANNOTATION: None, CONTROL_INFO_ANNOTATION: None},
                     "labels": {STABLE_REVISION_LABEL: None}},
        "spec": {"paused": False, "minReadySeconds": s.min_ready_seconds,
                 "progressDeadlineSeconds": s.progress_deadline_seconds,
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": s.max_surge, "maxUnavailable": s.max_unavailable}}},
    }


def cloneset_finalize_patch(cloneset: Obj) -> dict[str, Any] | None:
    """§8.2 Finalize: minReadySeconds, maxSurge, maxUnavailable back; our annotations removed."""
    if restored(cloneset):
        if CONTROL_INFO_ANNOTATION in meta.annotations_of(cloneset):
            return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        return None
    s = original_setting(cloneset, cloneset=True)
    return {
        "metadata": {"annotations": {ORIGINAL_STRATEGY_ANNOTATION: None, CONTROL_INFO_ANNOTATION: None}},
        "spec": {"minReadySeconds": s.min_ready_seconds,
                 "updateStrategy": {"maxSurge": s.max_surge, "maxUnavailable": s.max_unavailable}},
    }


def deployment_wait_reason(deployment: Obj) -> str | None:
    """Finalize waits until the Deployment finished rolling natively; None when it has."""
    status = wl.status(deployment)
    replicas = wl.status_int(deployment, "replicas")
    ready, updated = wl.status_int(deployment, "readyReplicas"), wl.status_int(deployment, "updatedReplicas")
    available = wl.status_int(deployment, "availableReplicas")
    unavailable = scaled_value((wl.spec(deployment).get("strategy", {}).get("rollingUpdate") or {})
                               .get("maxUnavailable", 0), int(wl.spec(deployment).get("replicas", 1)), False)
    if wl.spec(deployment).get("paused"):
        return "deployment is still paused"
    if int(meta.metadata(deployment).get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return "deployment controller has not observed the restored spec yet"
    if ready != updated:
        return f"ready replicas {ready} != updated replicas {updated}"
    if available + unavailable < replicas:
        return f"available {available} + maxUnavailable {unavailable} < replicas {replicas}"
    return None


def cloneset_wait_reason(cloneset: Obj) -> str | None:
    """Finalize waits until every ready pod is an updated one."""
    status = wl.status(cloneset)
    if int(meta.metadata(cloneset).get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return "cloneset controller has not observed the restored spec yet"
    ready, updated_ready = wl.status_int(cloneset, "readyReplicas"), wl.status_int(cloneset, "updatedReadyReplicas")
    if ready != updated_ready:
        return f"ready replicas {ready} != updated ready replicas {updated_ready}"
    return None
