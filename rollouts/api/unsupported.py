"""Rollout features this controller has not built yet — the one table admission and the controller share.

Upstream accepts every input below and runs it; we cannot, so we must not pretend to. The validating
webhook refuses a Rollout that uses any of them (the message names the field, says it is not yet
supported and what to use instead), and the Rollout controller reports the same message in the status
of such a Rollout created before the webhook was installed, instead of releasing it as something else.

Each row is one feature. When an issue builds a feature it deletes its row here (and nothing else
needs to change for admission and the controller to accept it). Rows are evaluated on the v1beta1
model; a v1alpha1 Rollout is converted first and reported with its own field path and fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from rollouts.api import v1alpha1 as a
from rollouts.api import v1beta1 as b
from rollouts.api.common import TrafficRoutingRef
from rollouts.api.field_errors import FieldError, forbidden

__all__ = ["NotBuilt", "NOT_BUILT", "unsupported_errors", "unsupported_message"]

_STEPS = "spec.strategy.{strategy}.steps[{i}]"
_NOT_YET = "is not yet supported by this controller"
#: Ingress classes whose A/B matches admission checks against nginx's one-header/one-cookie model
#: (``validation_extra.nginx_match_errors``); "" means nginx (upstream default). The shipped higress
#: and aliyun-alb scripts have the same limits but are checked only by the provider
#: (``rollouts.trafficrouting.luaingress``): users commonly replace them through the ConfigMap (the
#: ALB "conditions" script takes several headers per match), which admission cannot see.
NGINX_MATCH_INGRESS_CLASSES = ("", "nginx")


def _strategy_key(r: b.Rollout) -> str:
    return "blueGreen" if r.spec.strategy.blue_green is not None else "canary"


def _first_step(pred: Callable[[b.CanaryStep], bool]) -> Callable[[b.Rollout], dict[str, Any] | None]:
    """A finder reporting the first step (of the active strategy) for which ``pred`` holds."""

    def find(r: b.Rollout) -> dict[str, Any] | None:
        for i, step in enumerate(r.spec.strategy.steps()):
            if pred(step):
                return {"i": i}
        return None

    return find


def _when(pred: Callable[[b.Rollout], bool]) -> Callable[[b.Rollout], dict[str, Any] | None]:
    return lambda r: {} if pred(r) else None


def _first_routing(r: b.Rollout) -> TrafficRoutingRef | None:
    """``trafficRoutings[0]``: the only entry the controller uses (validation refuses a second)."""
    refs = r.spec.strategy.traffic_routings()
    return refs[0] if refs else None


#: Ingress classes whose shipped script applies ``requestHeaderModifier`` (lua-contract.md §4.3).
HEADER_MODIFYING_INGRESS_CLASSES = ("mse",)


def _modifies_headers(r: b.Rollout) -> bool:
    """Whether the Rollout's provider can apply ``requestHeaderModifier`` (mse Ingress, Lua custom objects)."""
    ref = _first_routing(r)
    if ref is None:
        return False
    if ref.custom_network_refs:
        return True
    return ref.ingress is not None and ref.ingress.class_type in HEADER_MODIFYING_INGRESS_CLASSES


def _gateway_without_canary_service(r: b.Rollout) -> bool:
    """``disableGenerateCanaryService`` over an HTTPRoute (``trafficRoutings[0].gateway``).

    Without ``<svc>-canary`` the canary backend is the stable Service itself, and the HTTPRoute
    provider recognises its own backendRefs and rules by the canary Service's name: its weights would
    land on the user's own backendRef and its finalise would delete every rule sending only to that
    Service, i.e. the user's routes. Upstream runs it anyway; making it correct needs the provider to
    record what it added (a snapshot, as customNetworkRefs do), which is not built.
    """
    active, ref = r.spec.strategy.active(), _first_routing(r)
    return bool(active is not None and active.disable_generate_canary_service and ref is not None
                and ref.gateway is not None)


@attrs.frozen(kw_only=True)
class NotBuilt:
    """One feature the controller cannot run yet, and how to say so."""

    #: v1beta1 wire path; ``{strategy}`` is ``canary``/``blueGreen``, ``{i}`` the step index.
    field: str
    #: The same input in a v1alpha1 Rollout (None: v1alpha1 cannot express it).
    v1alpha1_field: str | None
    #: What is not built ("canary style (a separate canary Deployment)").
    what: str
    #: What to do instead, for a v1beta1 Rollout.
    fix: str
    #: What to do instead, for a v1alpha1 Rollout ("" → ``fix``).
    v1alpha1_fix: str = ""
    #: Where the feature is used: format arguments for the paths (``{}`` when unindexed), None if unused.
    find: Callable[[b.Rollout], dict[str, Any] | None]


_REPLICAS_ONLY = 'keep only replicas (e.g. replicas: "20%") and pause in each step'
_ROUTING = "spec.strategy.{strategy}.trafficRoutings[0]"
_ALPHA_ROUTING = "spec.strategy.canary.trafficRoutings[0]"

#: The table. Delete a row when its feature is built.
NOT_BUILT: tuple[NotBuilt, ...] = (
    NotBuilt(field=_STEPS + ".requestHeaderModifier", v1alpha1_field="spec.strategy.canary.steps[{i}]"
                                                                     ".requestHeaderModifier",
             what="request header modification in a step",
             fix="remove requestHeaderModifier, or route through a provider that can modify request headers (Ingress "
                 "classType mse, or an Istio VirtualService in customNetworkRefs)",
             find=lambda r: None if _modifies_headers(r) else _first_step(
                 lambda s: s.request_header_modifier is not None)(r)),
    NotBuilt(field="spec.strategy.{strategy}.disableGenerateCanaryService",
             v1alpha1_field="spec.strategy.canary.disableGenerateCanaryService",
             what="disableGenerateCanaryService: true with a Gateway API HTTPRoute (trafficRoutings[0].gateway)",
             fix="remove disableGenerateCanaryService (the release then routes the HTTPRoute to its own "
                 "<service>-canary), or route through an Ingress or customNetworkRefs: without a canary Service the "
                 "canary backend would be the stable Service itself, which the HTTPRoute provider cannot tell apart "
                 "from your own backendRefs, so restoring the route would delete your rules",
             find=_when(_gateway_without_canary_service)),
)


def _as_v1beta1(r: a.Rollout | b.Rollout) -> b.Rollout | None:
    if isinstance(r, b.Rollout):
        return r
    from rollouts.api.conversion import ConversionError, rollout_to_v1beta1

    try:
        return rollout_to_v1beta1(r)
    except (ConversionError, AttributeError, TypeError):
        return None  # validation reports what makes it unconvertible (no workloadRef / canary)


def unsupported_errors(r: a.Rollout | b.Rollout, table: tuple[NotBuilt, ...] = NOT_BUILT) -> list[FieldError]:
    """One ``Forbidden`` error per row the Rollout uses, in the Rollout's own version."""
    hub = _as_v1beta1(r)
    if hub is None:
        return []
    alpha = isinstance(r, a.Rollout)
    errs: list[FieldError] = []
    for row in table:
        where = row.find(hub)
        if where is None:
            continue
        args = {"strategy": _strategy_key(hub), **where}
        path = (row.v1alpha1_field if alpha and row.v1alpha1_field else row.field).format(**args)
        fix = row.v1alpha1_fix if alpha and row.v1alpha1_fix else row.fix
        errs.append(forbidden(path, f"{row.what} {_NOT_YET}; {fix}"))
    return errs


def unsupported_message(r: b.Rollout) -> str:
    """The status message for a stored (v1beta1) Rollout that uses unbuilt features; "" if none.

    Stored Rollouts are v1beta1 whatever version created them, so the v1alpha1 path and fix are
    added in parentheses where they differ.
    """
    parts = []
    for row in NOT_BUILT:
        where = row.find(r)
        if where is None:
            continue
        args = {"strategy": _strategy_key(r), **where}
        text = f"{row.field.format(**args)}: {row.what} {_NOT_YET}; {row.fix}"
        if row.v1alpha1_field and row.v1alpha1_field.format(**args) != row.field.format(**args):
            text += f" (v1alpha1: {row.v1alpha1_field.format(**args)}: {row.v1alpha1_fix or row.fix})"
        parts.append(text)
    return "; ".join(parts)
