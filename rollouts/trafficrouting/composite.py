"""Several providers configured in one ``trafficRoutings`` entry, driven as one (traffic-routing.md §1).

A ref may set ``customNetworkRefs``, ``ingress`` and ``gateway`` together (e.g. an Istio
VirtualService *and* an Ingress in front of it). Upstream builds them in that order — custom, then
Ingress, then Gateway — and wraps them in a composite (``network/composite.go``):

* ``initialize``: each in order, the first problem is the answer;
* ``ensure_routes``: every provider is called (each converges on its own objects); done only if all
  are; the first error stops the call;
* ``finalise``: every provider is called even if one fails; done only if all are; the first error is
  raised after all have been tried (upstream aggregates them).

:func:`split_ref` turns one entry into one entry per provider, so the manager builds each part with
the same code as a single-provider entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from rollouts.api.common import HTTPHeaderFilter, TrafficRoutingRef
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.trafficrouting.provider import TrafficProvider

__all__ = ["CompositeProvider", "split_ref"]


def split_ref(ref: TrafficRoutingRef) -> list[TrafficRoutingRef]:
    """One entry per configured provider, in upstream's order (custom, ingress, gateway)."""
    parts = []
    if ref.custom_network_refs:
        parts.append(attrs.evolve(ref, ingress=None, gateway=None))
    if ref.ingress is not None:
        parts.append(attrs.evolve(ref, custom_network_refs=[], gateway=None))
    if ref.gateway is not None:
        parts.append(attrs.evolve(ref, custom_network_refs=[], ingress=None))
    return parts


class CompositeProvider:
    """:class:`~rollouts.trafficrouting.provider.TrafficProvider` calling ``providers`` in order."""

    def __init__(self, providers: Sequence[TrafficProvider]) -> None:
        self.providers = list(providers)

    async def initialize(self) -> str | None:
        for provider in self.providers:
            if (problem := await provider.initialize()) is not None:
                return problem
        return None

    def check(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> None:
        """Every part must accept the step: a step one part cannot express would be half-routed."""
        for provider in self.providers:
            provider.check(weight=weight, matches=matches, header_modifier=header_modifier)

    async def ensure_routes(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> bool:
        done = True
        for provider in self.providers:
            ok = await provider.ensure_routes(weight=weight, matches=matches, header_modifier=header_modifier)
            done = done and ok
        return done

    async def finalise(self) -> bool:
        done, errors = True, []
        for provider in self.providers:
            try:
                done = await provider.finalise() and done
            except Exception as e:  # noqa: BLE001 - aggregated: restore the other providers' objects anyway
                errors.append(e)
        if errors:
            raise errors[0]
        return done
