"""The canary Ingress (traffic-routing.md §4.1): ``<ingress>-canary``, whatever the Ingress class.

ingress-nginx (and Higress, ALB, MSE, which copy its model) splits traffic with a second Ingress
for the same host/path marked as canary; its annotations decide which requests go to its backend.
So a release creates ``<ingress>-canary`` (a copy of the stable Ingress's routes to the stable
Service, pointed at the canary Service), rewrites only its annotations per step, and deletes it at
the end. The stable Ingress is never modified.

This module is that mechanism, shared by every class: :func:`build_canary_ingress`,
:func:`annotations_patch` (the JSON merge difference, removed keys sent as null) and
:class:`CanaryIngressProvider`, whose subclass supplies the annotations of a step. Which
annotations a class writes is its Lua script's business (:mod:`rollouts.trafficrouting.luaingress`).

What the nginx annotation set cannot express is refused with a :class:`TrafficRoutingError` by
:func:`check_matches` instead of being silently dropped as upstream's ``nginx.lua`` does: a path or
query match, several headers in one match, a second header rule or a second cookie rule (upstream
lets the last one win), a regex on a cookie.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from rollouts.api.common import HTTPHeaderFilter
from rollouts.api.nginx_matches import match_problem
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.objects import ingress as ingresses
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.provider import ObjectClient, TrafficRoutingError
from rollouts.trafficrouting.services import canary_name
from runtime.kube.errors import NotFound
from runtime.kube.resources import INGRESSES

__all__ = ["CanaryIngressProvider", "annotations_patch", "build_canary_ingress", "check_matches"]


def check_matches(matches: list[HttpRouteMatch], *, where: str) -> None:
    """Raise :class:`TrafficRoutingError` for matches nginx cannot express (:mod:`rollouts.api.nginx_matches`,
    shared with admission); ``where`` prefixes field paths."""
    problem = match_problem(matches, where=where)
    if problem is not None:
        raise TrafficRoutingError(f"{problem[0]}: {problem[1]}")


def annotations_patch(current: Mapping[str, str], desired: Mapping[str, str]) -> dict | None:
    """JSON merge patch turning ``current`` annotations into ``desired`` (removed keys → null), or None."""
    diff: dict[str, str | None] = {k: v for k, v in desired.items() if current.get(k) != v}
    diff.update({k: None for k in current if k not in desired})
    return {"metadata": {"annotations": diff}} if diff else None


def build_canary_ingress(
    stable: Mapping, *, stable_service: str, canary_service: str, owner_ref: Mapping, annotations: Mapping[str, str],
) -> dict:
    """``<ingress>-canary`` as upstream builds it, with ``annotations`` (the class's weight-0 ones).

    Copied: annotations, labels, ``spec.ingressClassName``, ``spec.tls``; for every rule, only the
    HTTP paths whose backend is the stable Service, re-pointed at the canary Service (path, pathType
    and port kept); rules left without paths are dropped. Not copied: ``defaultBackend``, other paths.
    """
    spec = ingresses.spec(stable)
    rules = []
    for rule in ingresses.rules(stable):
        paths = []
        for path in ingresses.http_paths(rule):
            if ingresses.backend_service_name(path) == stable_service:
                path = copy.deepcopy(dict(path))
                path["backend"]["service"]["name"] = canary_service
                paths.append(path)
        if paths:
            rules.append({**copy.deepcopy(dict(rule)), "http": {"paths": paths}})
    out_spec: dict = {"rules": rules}
    for field in ("ingressClassName", "tls"):
        if spec.get(field):
            out_spec[field] = copy.deepcopy(spec[field])
    out_meta: dict = {"name": canary_name(objmeta.name(stable)), "namespace": objmeta.namespace(stable) or None,
                      "ownerReferences": [dict(owner_ref)],
                      "annotations": dict(annotations)}
    if objmeta.labels(stable):
        out_meta["labels"] = dict(objmeta.labels(stable))
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": out_meta, "spec": out_spec}


class CanaryIngressProvider:
    """:class:`~rollouts.trafficrouting.provider.TrafficProvider` over one stable Ingress, minus the annotations.

    A subclass implements :meth:`check` and :meth:`annotations` (the complete annotation map of the
    canary Ingress for a step; ``current`` is the canary's, or the stable Ingress's on creation).
    ``where`` is the field path of the step being routed (``spec.strategy.canary.steps[1]``), used in
    error messages; ``ref_field`` the path of the ``trafficRoutings[0]`` entry.
    """

    def __init__(
        self, client: ObjectClient, *, namespace: str, ingress: str, stable_service: str, canary_service: str,
        owner_ref: Mapping, where: str, ref_field: str,
    ) -> None:
        self._client, self._ns, self._ingress = client, namespace, ingress
        self._stable_service, self._canary_service = stable_service, canary_service
        self._owner_ref, self._where, self._ref_field = owner_ref, where, ref_field

    @property
    def canary_ingress(self) -> str:
        return canary_name(self._ingress)

    async def _get(self, name: str) -> dict | None:
        try:
            return await self._client.get(INGRESSES, name, self._ns)
        except NotFound:
            return None

    def _missing(self) -> str:
        return (f"Ingress {self._ns}/{self._ingress} named in {self._ref_field}.ingress.name does not exist; "
                "create it or correct the name")

    async def initialize(self) -> str | None:
        return None if await self._get(self._ingress) is not None else self._missing()

    def check(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> None:
        raise NotImplementedError

    async def annotations(
        self, current: Mapping[str, str], *, weight: int | None, matches: list[HttpRouteMatch],
        header_modifier: HTTPHeaderFilter | None,
    ) -> dict[str, str]:
        """The canary Ingress's complete annotations for a step; raises :class:`TrafficRoutingError`."""
        raise NotImplementedError

    async def initial_annotations(self, stable: Mapping[str, str]) -> dict[str, str]:
        """The annotations the canary Ingress is created with: the stable Ingress's at weight 0, no matches."""
        return await self.annotations(stable, weight=0, matches=[], header_modifier=None)

    async def ensure_routes(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> bool:
        self.check(weight=weight, matches=matches, header_modifier=header_modifier)
        canary = await self._get(self.canary_ingress)
        if canary is None:
            if weight == 0:
                return True
            stable = await self._get(self._ingress)
            if stable is None:
                raise TrafficRoutingError(self._missing())
            # Created at weight 0 without matches (upstream): the next round writes the step.
            initial = await self.initial_annotations(objmeta.annotations_of(stable))
            body = build_canary_ingress(stable, stable_service=self._stable_service,
                                        canary_service=self._canary_service, owner_ref=self._owner_ref,
                                        annotations=initial)
            await self._client.create(INGRESSES, body, self._ns)
            return False
        current = objmeta.annotations_of(canary)
        desired = await self.annotations(current, weight=weight, matches=matches, header_modifier=header_modifier)
        patch = annotations_patch(current, desired)
        if patch is None:
            return True
        await self._client.patch(INGRESSES, self.canary_ingress, patch, self._ns, patch_type="merge")
        return False

    async def finalise(self) -> bool:
        """Needs no script: a class whose script was removed mid-release still gets its canary deleted."""
        canary = await self._get(self.canary_ingress)
        if canary is None or objmeta.is_deleting(canary):
            return True
        try:
            await self._client.delete(INGRESSES, self.canary_ingress, self._ns)
        except NotFound:
            return True
        return False
