"""The Rollout as the step machine reads it: the v1beta1 model, decoded once at the edge.

``reconcile_rollout``/``settle`` take the wire dict (what the informer holds), decode its metadata
and spec once with :func:`as_rollout` (:mod:`rollouts.api.decode`) and hand the typed
:class:`~rollouts.api.v1beta1.Rollout` to everything below, which reads typed fields
(``rollout.spec.strategy.canary.steps[i].replicas``) through the small accessors here. Why decode
instead of reading the dict: the model is the one place field names, defaults and int-or-string
values are defined; reading the dict re-spelled them in every function. The status stays the wire
dict the machine edits (docs/domain.md: not converted yet). Observations of the outside world
(workload finder output, task results) are attrs classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.api.decode import as_batch_release, as_rollout  # noqa: F401 (used as m.as_batch_release)
from rollouts.api.edit import with_fields
from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.api.v1beta1.rollout import CanaryStep, CanaryStrategy, Rollout, RolloutStatus
from rollouts.api.wire import from_dict
from rollouts.release.batch import planned_batch_replicas

# Phases (status.phase)
PHASE_INITIAL = "Initial"
PHASE_HEALTHY = "Healthy"
PHASE_PROGRESSING = "Progressing"
PHASE_TERMINATING = "Terminating"
PHASE_DISABLING = "Disabling"
PHASE_DISABLED = "Disabled"

# Step states (currentStepState)
BEFORE_STEP_UPGRADE = "BeforeStepUpgrade"
STEP_UPGRADE = "StepUpgrade"
STEP_TRAFFIC_ROUTING = "StepTrafficRouting"
STEP_METRICS_ANALYSIS = "StepMetricsAnalysis"
STEP_PAUSED = "StepPaused"
STEP_READY = "StepReady"
COMPLETED = "Completed"

# Progressing condition reasons
REASON_INITIALIZING = "Initializing"
REASON_IN_ROLLING = "InRolling"
REASON_PAUSED = "Paused"
REASON_CANCELLING = "Cancelling"
REASON_FINALISING = "Finalising"
REASON_COMPLETED = "Completed"
#: Reason of the Terminating condition once the deletion cleanup finished: the reconciler removes the
#: Rollout's finalizer on exactly this value, so both sides name it here.
REASON_TERMINATING_CLEANED_UP = "Completed"

ROLLOUT_ID_LABEL = keys.ROLLOUT_ID_LABEL
HASH_ANNOTATION = keys.ROLLOUT_HASH_ANNOTATION
SUB_STATUS = "canaryStatus"


def format_time(t: datetime) -> str:
    """RFC 3339 with second precision and ``Z`` (``metav1.Time`` wire form)."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


_NO_CANARY = CanaryStrategy()


def as_status(rollout: Mapping[str, Any]) -> RolloutStatus:
    """The stored status of a Rollout wire dict, decoded (an absent or empty one decodes as ``{}``:
    nothing present, so nothing is written that the machine does not set)."""
    stored = rollout.get("status")
    return from_dict(RolloutStatus, stored) if stored else with_fields(RolloutStatus)


def canary(rollout: Rollout) -> CanaryStrategy:
    """The canary strategy (an empty one when absent: the machine then has no steps)."""
    return rollout.spec.strategy.canary or _NO_CANARY


def steps(rollout: Rollout) -> list[CanaryStep]:
    return canary(rollout).steps


def is_paused(rollout: Rollout) -> bool:
    return rollout.spec.strategy.paused


def is_disabled(rollout: Rollout) -> bool:
    return rollout.spec.disabled


def is_deleting(rollout: Rollout) -> bool:
    return bool(rollout.metadata.get("deletionTimestamp"))


def generation(rollout: Rollout) -> Any:
    """``metadata.generation`` as stored (0 when absent)."""
    return rollout.metadata.get("generation", 0)


def hash_annotation(rollout: Rollout) -> str:
    return rollout.annotations.get(HASH_ANNOTATION, "")


def has_traffic_routings(rollout: Rollout) -> bool:
    c = canary(rollout)
    return bool(c.traffic_routings) or bool(c.traffic_routing_ref)


def uses_extra_workload(rollout: Rollout) -> bool:
    return canary(rollout).enable_extra_workload_for_canary


#: Kinds whose rollback may walk the steps again (§7.2); a Deployment always rolls back quickly.
ROLLBACK_IN_BATCH_KINDS = frozenset({"StatefulSet", "CloneSet"})
#: ``workload-type`` label values of the same kinds (custom StatefulSet-like kinds carry them).
ROLLBACK_IN_BATCH_TYPE_LABELS = frozenset({"statefulset", "cloneset"})


def rollback_in_batch_policy(rollout: Rollout | Mapping[str, Any], workload_labels: Mapping[str, str]) -> bool:
    """§7.2: the user opted in (annotation ``"true"``), there is no traffic routing, and the workload
    is StatefulSet-like or a CloneSet (by kind or by its ``workload-type`` label).

    Why not Deployments: their rollback is the old ReplicaSet scaling back up, which is already as
    gradual as the native strategy allows; upstream always rolls them back at once, and so do we.
    """
    ro = as_rollout(rollout)
    if ro.annotations.get(keys.ROLLBACK_IN_BATCH_ANNOTATION) != "true" or has_traffic_routings(ro):
        return False
    kind = ro.spec.workload_ref.kind
    type_label = str(workload_labels.get(keys.WORKLOAD_TYPE_LABEL, "")).lower()
    return kind in ROLLBACK_IN_BATCH_KINDS or type_label in ROLLBACK_IN_BATCH_TYPE_LABELS


def step_has_traffic(step: CanaryStep) -> bool:
    return step.traffic is not None or bool(step.matches)


def step_replicas(step: CanaryStep, replicas: int) -> int:
    return planned_batch_replicas(step.replicas, replicas)


def natural_next(index: int, total: int) -> int:
    """Next step after ``index`` (1-based) or -1 after the last one."""
    return index + 1 if index < total else -1


@attrs.frozen
class WorkloadObservation:
    """The finder's workload record (rollout-lifecycle.md §2)."""

    found: bool = True
    replicas: int = 0
    generation: int = 0
    #: False while ``metadata.generation != status.observedGeneration`` (callers wait).
    status_consistent: bool = True
    stable_revision: str = ""
    canary_revision: str = ""
    pod_template_hash: str = ""
    #: The workload carries ``rollouts.kruise.io/in-progressing`` (set by the webhook).
    in_progressing: bool = False
    in_rollback: bool = False
    #: Workload label ``rollouts.kruise.io/rollout-id`` ("" if absent).
    rollout_id_label: str = ""
    #: The pod label telling revisions apart (traffic-routing.md §1): ``pod-template-hash``, or
    #: ``controller-revision-hash`` for StatefulSet-likes and native DaemonSets.
    revision_label_key: str = keys.POD_TEMPLATE_HASH_LABEL
    #: When not found and only the cluster can say why (e.g. the kind's CRD is not installed): the
    #: status message naming the field and the fix, instead of upstream's "Workload Not Found".
    missing: str = ""

    def rollout_id(self) -> str:
        """``getRolloutID`` (§3.3): the label, else the canary revision (``rollback-`` prefixed)."""
        if self.rollout_id_label:
            return self.rollout_id_label
        return f"rollback-{self.canary_revision}" if self.in_rollback else self.canary_revision


@attrs.frozen
class AnalysisObservation:
    """The metrics analysis of one step as the controller found it (:mod:`rollouts.rollout.analysis`)."""

    step_index: int
    canary_revision: str
    #: ``pass``/``fail``/``inconclusive``/``noData``/``running`` (``rollouts.analysis.template``).
    verdict: str
    #: ``Continue``/``Wait``/``Pause``/``Rollback``.
    action: str
    #: The checks' values and reasons, one line each.
    message: str
    template: str = ""
    #: Seconds until the next measurement is due (None: none is).
    requeue_after: float | None = None
    #: Measured in this reconcile (``RunAnalysis``), not read from the stored run.
    fresh: bool = False
    #: Why the verdict is not the checks' own (``DeadlineExceeded``: the run stalled), else "".
    reason: str = ""


@attrs.frozen
class Observation:
    """Everything the reconciler read or did this round that the pure machine needs."""

    workload: WorkloadObservation
    #: The BatchRelease named like the Rollout, as read (None if absent): the wire dict or the model
    #: (``reconcile_rollout`` decodes a dict once, :func:`as_batch_release`).
    batch_release: BatchRelease | Mapping[str, Any] | None = None
    #: Result of the traffic action requested last for this step (DoTrafficRouting/finalise).
    traffic_done: bool = True
    #: Traffic objects verified and TrafficRouting finalizer ensured (Initializing, §5.2 2 & 4).
    initializing_checks_done: bool = True
    #: The stable-Service action requested in BeforeStepUpgrade is done (nothing changed / grace over).
    stable_service_done: bool = True
    #: The cleanup sequence (§8) for the current reason has completed.
    finalising_done: bool = False
    #: The continuous-release reset (§8.3) has completed.
    reset_done: bool = False
    #: Rollback-in-batch policy applies (§7.2, :func:`rollback_in_batch_policy`; never for Deployments).
    rollback_in_batch: bool = False
    #: The current step's metrics analysis (None: not asked for, or no run for this step yet).
    analysis: AnalysisObservation | None = None


def owner_reference(rollout: Rollout) -> dict[str, Any]:
    """The controller ownerReference of objects the Rollout owns (its BatchRelease, the canary Service
    and Ingress): garbage-collected with the Rollout."""
    md = rollout.metadata
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": md.get("name"),
            "uid": md.get("uid"), "controller": True, "blockOwnerDeletion": True}
