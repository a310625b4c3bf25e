"""The contract between the traffic routing manager and the network providers.

Why a contract module: upstream has several providers (Ingress through Lua, Gateway API HTTPRoute,
custom CRDs through Lua) and a composite; the manager must not branch on which one it drives. Each
provider answers the three questions of the release lifecycle (traffic-routing.md §1, §4):

* :meth:`TrafficProvider.initialize` — can I route at all? ``None`` or a reason naming the missing
  object, the field and the fix. Modifies nothing.
* :meth:`TrafficProvider.check` — can I express this step? Raises before anything is written, so a
  refused step leaves no canary Service behind.
* :meth:`TrafficProvider.ensure_routes` — make the data plane send ``weight`` percent (and requests
  matching ``matches``) to the canary; ``True`` only when the live objects already had that form,
  i.e. *nothing was changed in this call* ("verified"). A call that writes returns ``False`` so the
  caller waits for the grace period before asking again.
* :meth:`TrafficProvider.finalise` — remove every canary route; ``True`` when nothing was left to
  remove (done), ``False`` when this call removed something (wait for grace, call again).

Also here: :class:`ObjectClient`, the verbs the package needs from a Kubernetes client
(``runtime.kube.client.KubeClient`` has exactly this shape), and :class:`TrafficRoutingError`, the
error users see.
"""

from __future__ import annotations

from typing import Any, Protocol

from rollouts.api.common import HTTPHeaderFilter
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from runtime.kube.resources import Resource

__all__ = ["ObjectClient", "TrafficProvider", "TrafficRoutingError", "refuse_header_modifier"]


class TrafficRoutingError(Exception):
    """A configuration the user must fix: the message names the object, the field and the fix.

    Raised (not returned) because no amount of retrying helps; the Rollout controller turns it into
    the Progressing condition message.
    """


class ObjectClient(Protocol):
    """What the traffic code needs from a client: plain ``dict`` objects addressed by Resource.

    Errors follow ``runtime.kube.errors`` (``NotFound``, ``AlreadyExists``, ...).
    """

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> dict: ...

    async def create(self, res: Resource, body: dict, namespace: str | None = None) -> dict: ...

    async def patch(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
    ) -> dict: ...

    async def delete(self, res: Resource, name: str, namespace: str | None = None) -> dict | None: ...

    async def update(self, res: Resource, body: dict, *, subresource: str | None = None, dry_run: bool = False) -> dict:
        """PUT the whole object (the custom provider replaces spec, labels and annotations at once)."""
        ...


class TrafficProvider(Protocol):
    """One network provider (nginx Ingress today; Gateway API and Lua providers plug in here)."""

    async def initialize(self) -> str | None:
        """``None`` when the provider's objects exist, else the reason (object, field, fix)."""

    def check(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> None:
        """Raise :class:`TrafficRoutingError` for a step this provider cannot express, before any write.

        ``header_modifier`` is the step's ``requestHeaderModifier``; a provider that cannot apply it
        refuses it here (naming the field) rather than routing without it.
        """

    async def ensure_routes(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> bool:
        """Route ``weight`` % (``None`` = leave weight unset) and ``matches`` to the canary; True = verified."""

    async def finalise(self) -> bool:
        """Remove the canary routes; True when nothing was left to remove."""


def refuse_header_modifier(header_modifier: HTTPHeaderFilter | None, *, where: str, provider: str) -> None:
    """For providers that cannot modify request headers: refuse a step that asks them to.

    Routing the step without the modification would send canary traffic that the user expects to be
    marked; refusing before any write leaves the release where it was with the reason in the status.
    """
    if header_modifier is not None:
        raise TrafficRoutingError(
            f"{where}.requestHeaderModifier: the {provider} provider cannot modify request headers; remove it, or "
            "route through a provider that can (the mse Ingress class, an Istio VirtualService in customNetworkRefs)")
