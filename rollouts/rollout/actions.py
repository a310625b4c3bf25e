"""Intended side effects returned by the pure Rollout machine; the reconciler performs them.

Keeping effects as data lets the machine be tested with tables and keeps all API I/O in one place
(the reconciler), which executes them in list order and stops at the first failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class PatchHashAnnotation:
    """Merge-patch ``metadata.annotations["rollouts.kruise.io/hash"]`` of the Rollout."""

    value: str


@attrs.frozen
class CreateBatchRelease:
    body: Mapping[str, Any]


@attrs.frozen
class UpdateBatchRelease:
    """Overwrite the BatchRelease spec and annotations with those of ``body`` (full update)."""

    body: Mapping[str, Any]


@attrs.frozen
class PatchBatchReleaseRolloutID:
    """Merge-patch ``spec.releasePlan.rolloutID`` (lets users re-label pods via the rollout-id)."""

    rollout_id: str


@attrs.frozen
class EmitEvent:
    reason: str
    message: str
    type: str = "Normal"


@attrs.frozen
class DoTrafficRouting:
    """Apply the traffic of step ``step_index`` (1-based); result arrives as ``traffic_done``."""

    step_index: int


@attrs.frozen
class FinaliseTrafficRouting:
    """Restore stable traffic for a step without traffic (§6.1 4); result as ``traffic_done``."""


@attrs.frozen
class PatchStableService:
    """Point the stable Service selector at ``{revision_label_key: stable_revision}`` (§6.2, step 1).

    Result arrives as ``stable_service_done`` (False: changed something, wait the grace period).
    """

    revision_label_key: str
    stable_revision: str


@attrs.frozen
class RestoreStableService:
    """Remove the revision key from the stable Service selector (ingress-nginx bypass, §6.2)."""


@attrs.frozen
class RunFinalising:
    """Run the cleanup sequence (§8) for ``reason``; completion arrives as ``finalising_done``."""

    reason: str
    wait_ready: bool


@attrs.frozen
class ResetForContinuousRelease:
    """Tear down the running release (§8.3); completion arrives as ``reset_done``."""


@attrs.frozen
class RouteTrafficToStable:
    """A failed analysis: the gateway's canary route removed (every request to stable), the stable
    Service left pinned to the stable pods — unlike :class:`FinaliseTrafficRouting`, which restores its
    selector and would send stable traffic to canary pods too. Result as ``traffic_done``."""


@attrs.frozen
class RunAnalysis:
    """Advance the metrics analysis of step ``step_index`` with ``template``; result as ``analysis``."""

    step_index: int
    template: str


Action = (
    PatchHashAnnotation
    | CreateBatchRelease
    | UpdateBatchRelease
    | PatchBatchReleaseRolloutID
    | EmitEvent
    | DoTrafficRouting
    | FinaliseTrafficRouting
    | PatchStableService
    | RestoreStableService
    | RunFinalising
    | ResetForContinuousRelease
    | RouteTrafficToStable
    | RunAnalysis
)
