"""Traffic routing in the Rollout reconciler: the machine's traffic actions performed and fed back.

The pure machine (``rollouts.rollout``) asks for traffic work with actions (``PatchStableService``,
``RestoreStableService``, ``DoTrafficRouting``, ``FinaliseTrafficRouting``) and reads their results
from the Observation (``stable_service_done``, ``traffic_done``); the finalising tasks run inside
``RunFinalising``/``ResetForContinuousRelease`` (``finalising.py``). This module is the glue to the
traffic core (``rollouts.trafficrouting``, docs/traffic.md):

* :func:`routing_context` gathers a :class:`RoutingContext` from the Rollout model and the status the
  machine just computed (sub-status revisions, ``lastUpdateTime``, the current step);
* :class:`RolloutTraffic` performs one traffic action and says whether it is done, turning user
  errors (:class:`TrafficRoutingError`, a missing Service/Ingress) into a :class:`RoutingResult`
  with a ``problem`` instead of an exception, so the Rollout reports them in its status;
* :func:`apply_routing` copies a routing result back into the status the reconciler writes: the
  context's ``lastUpdateTime`` and reason into the sub-status (traffic-routing.md §3), a problem into
  the Progressing message (what ``kubectl get rollout`` shows).

Why the reconciler feeds results back instead of the machine calling the manager: the machine is a
pure function of (Rollout, observation, now); a traffic call is I/O whose result is an observation,
exactly like the finalising tasks (``controller.py`` re-runs the round with the result).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from rollouts.api import keys
from rollouts.api.edit import set_field, with_fields
from rollouts.api.status import CanaryStatus
from rollouts.api.v1beta1.rollout import CanaryStep, CanaryStrategy, Rollout, RolloutStatus
from rollouts.api.wire import from_dict
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout.conditions import PROGRESSING, get_condition, set_progressing_message
from rollouts.rollout.steps import step_index
from rollouts.trafficrouting.manager import Outcome, RoutingContext, TrafficRoutingManager
from rollouts.trafficrouting.provider import TrafficRoutingError

__all__ = ["RolloutTraffic", "RoutingResult", "apply_routing", "routing_context"]

_NO_CANARY: Final = CanaryStrategy()
_NO_STEP: Final = CanaryStep()


def routing_context(
    model: Rollout, status: RolloutStatus | Mapping[str, Any], *, revision_label_key: str
) -> RoutingContext:
    """The context of one traffic call (upstream ``newTrafficRoutingContext``).

    ``status``: the status of the round that asked for the call (its model, or a stored wire form).
    Out-of-range step indexes (finalising, a hand-edited status) use the first step, as upstream.
    """
    canary = model.spec.strategy.canary or _NO_CANARY
    sub = _sub_status(status)
    index = step_index(sub) or 1
    i = index - 1 if 1 <= index <= len(canary.steps) else 0
    step = canary.steps[i] if canary.steps else _NO_STEP
    generate = not canary.disable_generate_canary_service
    patch = canary.patch_pod_template_metadata
    return RoutingContext(
        namespace=str(model.metadata.get("namespace", "")), refs=list(canary.traffic_routings),
        owner_ref=m.owner_reference(model), revision_label_key=revision_label_key,
        stable_revision=sub.stable_revision, canary_revision=sub.pod_template_hash,
        traffic=step.traffic, matches=list(step.matches), header_modifier=step.request_header_modifier,
        last_update_time=m.parse_time(sub.last_update_time),
        disable_generate_canary_service=canary.disable_generate_canary_service,
        pod_labels=dict(patch.labels) if patch is not None and generate else {},
        step_field=f"spec.strategy.canary.steps[{i}]")


def _sub_status(status: RolloutStatus | Mapping[str, Any]) -> CanaryStatus:
    """The sub-status of a status model or of a stored wire status (``{}`` when absent)."""
    if isinstance(status, RolloutStatus):
        return status.canary_status or with_fields(CanaryStatus)
    stored = status.get(m.SUB_STATUS)
    return from_dict(CanaryStatus, stored) if stored else with_fields(CanaryStatus)


@attrs.frozen
class RoutingResult:
    """What one traffic action achieved this reconcile."""

    done: bool
    #: The core's answer (``lastUpdateTime``, reason, requeue), None when it raised.
    outcome: Outcome | None = None
    #: A problem the user must fix (field and fix named); shown as the Rollout's message.
    problem: str = ""
    #: Whether ``outcome.last_update_time``/reason go to the sub-status (routing calls, §3, §6.1 4).
    copy_back: bool = False

    @property
    def requeue_after(self) -> float | None:
        """The core's wait (remaining grace) when it asked for one."""
        return self.outcome.requeue_after if self.outcome is not None and self.outcome.requeue_after > 0 else None


def _result(outcome: Outcome, *, copy_back: bool) -> RoutingResult:
    return RoutingResult(outcome.done, outcome, outcome.reason if outcome.blocked else "", copy_back)


@attrs.define
class RolloutTraffic:
    """One per controller: the grace store in ``manager`` must outlive a reconcile (traffic-routing.md §6)."""

    manager: TrafficRoutingManager

    async def initialize(self, ctx: RoutingContext, model: Rollout) -> str | None:
        """§5.2 step 2: None when the Service and Ingress exist (nothing is modified), else the problem.

        Also asks the provider whether it can express every step's matches (upstream would find out
        in that step, after pinning the stable Service and updating pods): a release that cannot
        route never starts.
        """
        try:
            if (missing := await self.manager.initialize(ctx)) is not None:
                return missing
            for i, step in enumerate((model.spec.strategy.canary or _NO_CANARY).steps):
                if step.matches or step.request_header_modifier is not None:
                    at = attrs.evolve(ctx, step_field=f"spec.strategy.canary.steps[{i}]")
                    self.manager.provider(at).check(weight=None, matches=list(step.matches),
                                                    header_modifier=step.request_header_modifier)
        except TrafficRoutingError as e:
            return str(e)
        return None

    async def perform(self, action: act.Action, ctx: RoutingContext) -> RoutingResult:
        """One of the traffic actions; user errors become ``problem`` (nothing was written)."""
        try:
            if isinstance(action, act.DoTrafficRouting):
                return _result(await self.manager.do_traffic_routing(ctx), copy_back=True)
            if isinstance(action, act.FinaliseTrafficRouting):
                return _result(await self.manager.finalising_traffic_routing(ctx), copy_back=True)
            if isinstance(action, act.RouteTrafficToStable):
                return _result(await self.manager.restore_gateway(ctx), copy_back=True)
            if isinstance(action, act.PatchStableService):
                pinned = attrs.evolve(ctx, revision_label_key=action.revision_label_key,
                                      stable_revision=action.stable_revision)
                return _result(await self.manager.patch_stable_service(pinned), copy_back=False)
            if isinstance(action, act.RestoreStableService):
                return _result(await self.manager.restore_stable_service(ctx), copy_back=False)
        except TrafficRoutingError as e:
            return RoutingResult(False, None, str(e))
        raise TypeError(f"not a traffic action: {action!r}")


#: Actions whose result the machine reads as ``traffic_done`` / ``stable_service_done``.
ROUTING_ACTIONS: Final = (act.DoTrafficRouting, act.FinaliseTrafficRouting, act.RouteTrafficToStable)
STABLE_SERVICE_ACTIONS: Final = (act.PatchStableService, act.RestoreStableService)


def apply_routing(status: RolloutStatus, results: list[RoutingResult], now: datetime) -> None:
    """Copy unfinished routing results into ``status`` (edited in place).

    A routing call that is not done leaves the machine's state where it was; upstream then sets the
    sub-status ``lastUpdateTime`` from the traffic context (the last network change, which starts
    the next grace period) and we show the reason as the sub-status message. A problem the user
    must fix also becomes the Progressing message and ``status.message``.
    """
    sub = status.canary_status
    for r in results:
        if r.done:
            continue
        if r.copy_back and r.outcome is not None and sub is not None:
            if r.outcome.last_update_time is not None:
                set_field(sub, "last_update_time", m.format_time(r.outcome.last_update_time))
            if r.outcome.reason:
                set_field(sub, "message", r.outcome.reason)
        if r.problem:
            set_progressing_message(status, r.problem, now)


def needs_initial_check(model: Rollout, status: Mapping[str, Any], in_progressing: bool) -> bool:
    """Whether this reconcile may run Initializing (§5.2), whose traffic check is an observation."""
    if not m.has_traffic_routings(model) or not in_progressing:
        return False
    phase = status.get("phase", "")
    return phase in ("", m.PHASE_INITIAL, m.PHASE_HEALTHY) or is_initializing(status)


def is_initializing(status: Mapping[str, Any]) -> bool:
    """Whether the stored status is Progressing with reason Initializing (§5.2).

    The TrafficRouting attach (§5.2 step 4) runs only then, not in the round that enters
    Progressing: a finalizer added from Healthy would be leaked by a Rollout disabled before its
    release started (Healthy → Disabled runs no finalising, so nothing would remove it).
    """
    progressing = get_condition(dict(status), PROGRESSING) or {}
    return status.get("phase") == m.PHASE_PROGRESSING and progressing.get("reason") == m.REASON_INITIALIZING


#: The label key a kind without a table row uses (a missing workload being cleaned up).
DEFAULT_REVISION_LABEL: Final = keys.POD_TEMPLATE_HASH_LABEL
