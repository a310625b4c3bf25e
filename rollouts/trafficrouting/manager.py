"""Orchestration of Services and providers per step and at the end of a release.

This is upstream's ``pkg/trafficrouting/manager.go`` (traffic-routing.md §1.1, §3, §5, §7): the Rollout
step machine builds a :class:`RoutingContext` from the Rollout and its sub-status and calls

* :meth:`TrafficRoutingManager.initialize` when the release starts (nothing is modified);
* :meth:`TrafficRoutingManager.do_traffic_routing` in ``StepTrafficRouting``;
* :meth:`TrafficRoutingManager.patch_stable_service` in ``BeforeStepUpgrade`` of step 1;
* the finalising tasks (``restore_stable_service``, ``restore_gateway``, ``remove_canary_service``,
  ``route_all_traffic_to_new``) in the order of rollout-lifecycle.md §8, or
  :meth:`TrafficRoutingManager.finalising_traffic_routing` for a step without traffic.

Every call returns an :class:`Outcome`: ``done`` or a ``reason`` why not (what was just changed or
what is awaited, with numbers) and when to look again. A change is always reported as "not done" in
the call that made it, so the caller never advances past half-applied state; every operation is
idempotent, so a controller killed between two writes simply redoes the remaining ones.

Errors users must fix raise :class:`~rollouts.trafficrouting.provider.TrafficRoutingError`; API
errors propagate unchanged (the controller retries them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import attrs

from rollouts.api.common import HTTPHeaderFilter, TrafficRoutingRef
from rollouts.api.intstr import parse_percentage_string
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.lua import LuaRunner
from rollouts.lua.configuration import ScriptConfiguration
from rollouts.lua.scripts import ingress_script
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.composite import CompositeProvider, split_ref
from rollouts.trafficrouting.custom import CustomNetworkProvider
from rollouts.trafficrouting.dryrun import DryRunCache
from rollouts.trafficrouting.gateway import GatewayProvider
from rollouts.trafficrouting.grace import DEFAULT_GRACE_SECONDS, GraceExpectations, effective_grace
from rollouts.trafficrouting.luaingress import LuaIngressProvider
from rollouts.trafficrouting.provider import ObjectClient, TrafficProvider, TrafficRoutingError
from rollouts.trafficrouting.services import ServiceControl, canary_name
from runtime.clock import Clock
from runtime.kube.discovery import DiscoveryApi, ResourceDiscovery, ResourceResolver

__all__ = ["Outcome", "RoutingContext", "TrafficRoutingManager"]



@attrs.frozen(kw_only=True)
class RoutingContext:
    """Everything one call needs, gathered by the caller (upstream ``TrafficRoutingContext``)."""

    namespace: str
    refs: list[TrafficRoutingRef]
    """``trafficRoutings``; only the first is used (validation allows one)."""
    owner_ref: dict
    """Controller ownerReference to the Rollout put on the canary Service and Ingress."""
    revision_label_key: str
    """``pod-template-hash`` or ``controller-revision-hash`` (from the workload kind)."""
    stable_revision: str = ""
    canary_revision: str = ""
    traffic: str | None = None
    """The current step's ``traffic`` ("5%"), None when absent."""
    matches: list[HttpRouteMatch] = attrs.field(factory=list)
    header_modifier: HTTPHeaderFilter | None = None
    """The current step's ``requestHeaderModifier``."""
    last_update_time: datetime | None = None
    """Sub-status ``lastUpdateTime``: the last network change, start of the grace period."""
    disable_generate_canary_service: bool = False
    only_traffic_routing: bool = False
    pod_labels: dict[str, str] = attrs.field(factory=dict)
    """``patchPodTemplateMetadata.labels``, applied to the canary Service selector."""
    step_field: str = "spec.strategy.canary.steps[0]"
    """Field path of the current step, for error messages."""
    refs_field: str = "spec.strategy.canary.trafficRoutings"

    @property
    def ref(self) -> TrafficRoutingRef:
        return self.refs[0]

    @property
    def own_canary_service(self) -> bool:
        """Whether we generate ``<svc>-canary`` (else providers route with the stable Service)."""
        return not (self.only_traffic_routing or self.disable_generate_canary_service)

    @property
    def canary_service(self) -> str:
        return canary_name(self.ref.service) if self.own_canary_service else self.ref.service


def _shared_backend_refused(ctx: RoutingContext, field: str) -> str:
    """Why an HTTPRoute is not routed when the canary backend would be the stable Service itself.

    The HTTPRoute provider tells its own backendRefs and canary rules apart from the user's by the
    canary Service's name: with the stable Service in that role its weights would land on the user's
    backendRef and its finalise would delete the user's rules. Admission refuses the combination
    (``rollouts.api.unsupported``); this covers Rollouts stored before the webhook, and since
    :meth:`TrafficRoutingManager.restore_gateway` treats a refused provider as restored, their
    deletion writes nothing to the route either.
    """
    if ctx.only_traffic_routing:
        return (f"{field}.gateway: a TrafficRouting cannot route an HTTPRoute (its canary backend would be the stable "
                "Service itself); route through an nginx Ingress")
    strategy = ctx.refs_field.rsplit(".", 1)[0]
    return (f"{field}.gateway: an HTTPRoute cannot be routed with {strategy}.disableGenerateCanaryService: true "
            f"(the canary backend would be the stable Service {ctx.ref.service} itself, which the HTTPRoute provider "
            "cannot tell apart from your own backendRefs, so restoring the route would delete your rules); remove "
            "disableGenerateCanaryService, or route through an Ingress or customNetworkRefs. Nothing was written")


@attrs.frozen
class Outcome:
    """Result of one call. ``last_update_time`` is to be copied back into the sub-status."""

    done: bool
    reason: str = ""
    last_update_time: datetime | None = None
    requeue_after: float = 0.0
    blocked: bool = False
    """``reason`` is a problem the user must fix (a missing Service/Ingress), not a wait: the
    caller shows it as the Rollout's message."""


class TrafficRoutingManager:
    """Stateless apart from the grace store; one instance per controller (share ``grace``).

    ``scripts`` is the cached ConfigMap ``kruise-rollout-configuration`` of user Lua scripts, in the
    manager's namespace (``--namespace``), for the Ingress classes and ``customNetworkRefs`` kinds
    (default: none, shipped scripts only). ``discovery`` finds the REST resource of the kinds named
    in ``customNetworkRefs``; by default the client's own discovery requests (cached). ``lua`` is the
    sandbox every script runs in.
    """

    def __init__(
        self, client: ObjectClient, *, clock: Clock, grace: GraceExpectations | None = None,
        discovery: ResourceResolver | None = None, scripts: ScriptConfiguration | None = None,
        lua: LuaRunner | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self.grace = grace if grace is not None else GraceExpectations(clock)
        if discovery is None and isinstance(client, DiscoveryApi):
            discovery = ResourceDiscovery(client)
        self._discovery = discovery
        self.scripts = scripts if scripts is not None else ScriptConfiguration()
        self.lua = lua if lua is not None else LuaRunner()
        self._lua = self.lua
        #: Successful Ingress-script dry runs (``initialize``), so a traffic round runs the script once.
        self.dry_runs = DryRunCache()

    # -- building blocks ------------------------------------------------------------------------
    def provider(self, ctx: RoutingContext) -> TrafficProvider:
        """The provider for ``trafficRoutings[0]``; unsupported kinds are refused naming the field."""
        ref, field = ctx.ref, f"{ctx.refs_field}[0]"
        if len(parts := split_ref(ref)) > 1:  # several providers in one entry: custom, ingress, gateway (§1)
            return CompositeProvider([self.provider(attrs.evolve(ctx, refs=[part, *ctx.refs[1:]])) for part in parts])
        if ref.custom_network_refs:
            return CustomNetworkProvider(
                self._client, resolver=self._discovery, runner=self._lua, namespace=ctx.namespace,
                refs=ref.custom_network_refs, stable_service=ref.service, canary_service=ctx.canary_service,
                scripts=self.scripts, ref_field=field)
        if ref.ingress is not None:
            # Every classType, nginx included, through its Lua script; a class without one is
            # refused by the provider's check(), naming the ConfigMap key to add.
            script = ingress_script(ref.ingress.class_type, self.scripts.data(), namespace=self.scripts.namespace)
            return LuaIngressProvider(
                self._client, script=script, runner=self.lua, class_type=ref.ingress.class_type,
                namespace=ctx.namespace, ingress=ref.ingress.name, stable_service=ref.service,
                canary_service=ctx.canary_service, owner_ref=ctx.owner_ref, where=ctx.step_field, ref_field=field,
                dry_runs=self.dry_runs)
        if ref.gateway is not None:
            if not ref.gateway.http_route_name:
                raise TrafficRoutingError(f"{field}.gateway.httpRouteName: required; set the name of the HTTPRoute "
                                          "that sends traffic to the stable Service")
            if not ctx.own_canary_service:
                raise TrafficRoutingError(_shared_backend_refused(ctx, field))
            return GatewayProvider(
                self._client, namespace=ctx.namespace, route=ref.gateway.http_route_name, stable_service=ref.service,
                canary_service=ctx.canary_service, where=ctx.step_field, ref_field=field)
        raise TrafficRoutingError(f"{field}: TrafficRouting current only supports Ingress, Gateway API and "
                                  "CustomNetworkRefs; set ingress")

    def _weight(self, ctx: RoutingContext) -> int | None:
        if ctx.traffic is None:
            return None
        try:
            weight = parse_percentage_string(ctx.traffic)
        except ValueError:
            weight = -1
        if not 0 <= weight <= 100:
            raise TrafficRoutingError(f"{ctx.step_field}.traffic: {ctx.traffic!r} is not a percentage between "
                                      '0% and 100%; write e.g. "20%"')
        return weight

    def _grace(self, ctx: RoutingContext) -> int:
        """Grace of the restore/patch operations: max over refs, negative → 3, 0 → no wait (§6)."""
        return effective_grace(max(r.grace_period_seconds for r in ctx.refs), zero_means_default=False)

    def _missing_service(self, ctx: RoutingContext) -> str:
        return (f"Service {ctx.namespace}/{ctx.ref.service} named in {ctx.refs_field}[0].service does not exist; "
                "create it or correct the name")

    async def _guarded(
        self, ctx: RoutingContext, key: str, action: str, op: Callable[[], Awaitable[bool]], what: str,
    ) -> Outcome:
        """Run ``op`` (True = modified) under the grace store and say whether the task is complete."""
        result = self.grace.observe(key, action, modified=await op(), grace_seconds=self._grace(ctx))
        if result.retry:
            return Outcome(False, f"{what}: waiting {result.remaining:.0f}s grace period", ctx.last_update_time,
                           result.remaining)
        return Outcome(True, "", ctx.last_update_time)

    # -- entry points ---------------------------------------------------------------------------
    async def initialize(self, ctx: RoutingContext) -> str | None:
        """None when routing can start: the stable Service and the provider's objects exist (§1.1)."""
        if not ctx.refs:
            return None
        if await ServiceControl(self._client, ctx.namespace).get(ctx.ref.service) is None:
            return self._missing_service(ctx)
        return await self.provider(ctx).initialize()

    async def do_traffic_routing(self, ctx: RoutingContext) -> Outcome:
        """One round of StepTrafficRouting (§3): Services first, grace, then the provider."""
        if not ctx.refs or (ctx.traffic is None and not ctx.matches):
            return Outcome(True, "", ctx.last_update_time)
        weight, provider = self._weight(ctx), self.provider(ctx)
        provider.check(weight=weight, matches=list(ctx.matches), header_modifier=ctx.header_modifier)
        grace = effective_grace(ctx.ref.grace_period_seconds, zero_means_default=True)
        services = ServiceControl(self._client, ctx.namespace)
        stable = await services.get(ctx.ref.service)
        if stable is None:
            return Outcome(False, self._missing_service(ctx), ctx.last_update_time, grace, blocked=True)
        if (missing := await provider.initialize()) is not None:
            return Outcome(False, missing, ctx.last_update_time, grace, blocked=True)
        now = self._clock.now()
        if ctx.last_update_time is not None and ctx.last_update_time + timedelta(seconds=grace) > now:
            left = (ctx.last_update_time + timedelta(seconds=grace) - now).total_seconds()
            return Outcome(False, f"waiting {left:.0f}s grace period after the last traffic change",
                           ctx.last_update_time, left)
        if ctx.own_canary_service:
            if not ctx.stable_revision or not ctx.canary_revision:
                return Outcome(False, f"waiting for revisions (stable {ctx.stable_revision!r}, canary "
                                      f"{ctx.canary_revision!r})", ctx.last_update_time, grace)
            created = await services.ensure_canary(
                stable, owner_ref=ctx.owner_ref, revision_key=ctx.revision_label_key,
                canary_revision=ctx.canary_revision, pod_labels=ctx.pod_labels)
            pinned = await services.pin_stable(stable, revision_key=ctx.revision_label_key,
                                               stable_revision=ctx.stable_revision)
            if created or pinned:
                return Outcome(False, f"Services {ctx.ref.service} and {ctx.canary_service} updated", now, grace)
        if not await provider.ensure_routes(weight=weight, matches=list(ctx.matches),
                                           header_modifier=ctx.header_modifier):
            return Outcome(False, f"routes updated (weight {weight}, {len(ctx.matches)} matches)", now, grace)
        return Outcome(True, "", ctx.last_update_time)

    async def patch_stable_service(self, ctx: RoutingContext) -> Outcome:
        """Pin the stable selector to the stable revision (BeforeStepUpgrade of step 1); no-op → done."""
        if not ctx.refs or not ctx.own_canary_service:
            return Outcome(True, "", ctx.last_update_time)
        services = ServiceControl(self._client, ctx.namespace)
        stable = await services.get(ctx.ref.service)
        if stable is None:
            return Outcome(False, self._missing_service(ctx), ctx.last_update_time, DEFAULT_GRACE_SECONDS,
                           blocked=True)

        async def op() -> bool:
            return await services.pin_stable(stable, revision_key=ctx.revision_label_key,
                                             stable_revision=ctx.stable_revision)
        return await self._guarded(ctx, objmeta.uid(stable), "patchService", op,
                                   f"stable Service {ctx.ref.service} pinned")

    async def restore_stable_service(self, ctx: RoutingContext) -> Outcome:
        """Remove the revision key from the stable selector; a missing Service is restored (§2.2)."""
        if not ctx.refs:
            return Outcome(True, "", ctx.last_update_time)
        services = ServiceControl(self._client, ctx.namespace)
        stable = await services.get(ctx.ref.service)
        if stable is None:
            return Outcome(True, "", ctx.last_update_time)

        async def op() -> bool:
            return await services.restore_stable(stable, revision_key=ctx.revision_label_key)
        return await self._guarded(ctx, objmeta.uid(stable), "restoreService", op,
                                   f"stable Service {ctx.ref.service} selector restored")

    async def restore_gateway(self, ctx: RoutingContext) -> Outcome:
        """Provider finalise: all traffic back to stable (delete the canary Ingress, restore the HTTPRoute rules).

        An unsupported provider is "restored": it never routed anything, and refusing here would keep
        a Rollout with a bad ``trafficRoutings`` from ever being deleted or disabled.
        """
        if not ctx.refs:
            return Outcome(True, "", ctx.last_update_time)
        try:
            provider = self.provider(ctx)
        except TrafficRoutingError:
            return Outcome(True, "", ctx.last_update_time)

        async def op() -> bool:
            return not await provider.finalise()
        return await self._guarded(ctx, ctx.owner_ref.get("uid", ""), "restoreGateway", op, "canary routes removed")

    async def route_all_traffic_to_new(self, ctx: RoutingContext) -> Outcome:
        """Blue-green success: 100% to the new version, no matches."""
        if not ctx.refs:
            return Outcome(True, "", ctx.last_update_time)
        provider = self.provider(ctx)

        async def op() -> bool:
            return not await provider.ensure_routes(weight=100, matches=[])
        return await self._guarded(ctx, ctx.owner_ref.get("uid", ""), "updateRoute", op, "all traffic routed to new")

    async def remove_canary_service(self, ctx: RoutingContext) -> Outcome:
        """Delete ``<svc>-canary`` (no-op when we do not generate it)."""
        if not ctx.refs or not ctx.own_canary_service:
            return Outcome(True, "", ctx.last_update_time)
        services = ServiceControl(self._client, ctx.namespace)

        async def op() -> bool:
            return await services.remove_canary(ctx.ref.service)
        return await self._guarded(ctx, f"{ctx.namespace}/{ctx.canary_service}", "removeCanaryService", op,
                                   f"canary Service {ctx.canary_service} deleted")

    async def finalising_traffic_routing(self, ctx: RoutingContext) -> Outcome:
        """Restore stable Service → restore gateway → remove canary Service, stopping at the first wait (§5)."""
        for task in (self.restore_stable_service, self.restore_gateway, self.remove_canary_service):
            outcome = await task(ctx)
            if not outcome.done:
                return outcome
        return Outcome(True, "", ctx.last_update_time)
