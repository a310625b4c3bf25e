"""The nginx Ingress provider (traffic-routing.md §4.1, §9): a ``<ingress>-canary`` Ingress.

ingress-nginx splits traffic with a second Ingress for the same host/path marked
``nginx.ingress.kubernetes.io/canary: "true"``; its ``canary-weight`` / ``canary-by-header*`` /
``canary-by-cookie`` annotations decide which requests go to its backend. So a release creates
``<ingress>-canary`` (a copy of the stable Ingress's routes to the stable Service, pointed at the
canary Service), rewrites only its annotations per step, and deletes it at the end. The stable
Ingress is never modified.

Upstream computes the annotations with the built-in ``nginx.lua``; :func:`canary_annotations` is
that script in Python (same keys, same order of operations). A ConfigMap override of the script is
not supported yet (docs/traffic.md).

What nginx cannot express is refused with a :class:`TrafficRoutingError` instead of being silently
dropped as upstream does: a path or query match, several headers in one match, a second header rule
or a second cookie rule (upstream lets the last one win), a regex on a cookie.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from rollouts.api import keys
from rollouts.api.common import HTTPHeaderFilter
from rollouts.api.nginx_matches import REGULAR_EXPRESSION, match_problem
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.objects import ingress as ingresses
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.provider import ObjectClient, TrafficRoutingError, refuse_header_modifier
from rollouts.trafficrouting.services import canary_name
from runtime.kube.errors import NotFound
from runtime.kube.resources import INGRESSES

__all__ = [
    "NginxIngressProvider", "annotations_patch", "build_canary_ingress", "canary_annotations",
    "check_matches",
]

#: Keys the script clears before writing the step's values (so a step without matches drops them).
_CLEARED = (
    keys.NGINX_CANARY_BY_COOKIE_ANNOTATION, keys.NGINX_CANARY_BY_HEADER_ANNOTATION,
    keys.NGINX_CANARY_BY_HEADER_PATTERN_ANNOTATION, keys.NGINX_CANARY_BY_HEADER_VALUE_ANNOTATION,
    keys.NGINX_CANARY_WEIGHT_ANNOTATION,
)


def check_matches(matches: list[HttpRouteMatch], *, where: str) -> None:
    """Raise :class:`TrafficRoutingError` for matches nginx cannot express (:mod:`rollouts.api.nginx_matches`,
    shared with admission); ``where`` prefixes field paths."""
    problem = match_problem(matches, where=where)
    if problem is not None:
        raise TrafficRoutingError(f"{problem[0]}: {problem[1]}")


def canary_annotations(current: Mapping[str, str], weight: int | None, matches: list[HttpRouteMatch]) -> dict:
    """The canary Ingress annotations for a step: the built-in nginx.lua, line for line.

    ``weight`` None leaves ``canary-weight`` unset (upstream passes "-1"). For each match only its
    first header counts; the header named ``canary-by-cookie`` means a cookie.
    """
    out = dict(current)
    out[keys.NGINX_CANARY_ANNOTATION] = "true"
    for key in _CLEARED:
        out.pop(key, None)
    if weight is not None:
        out[keys.NGINX_CANARY_WEIGHT_ANNOTATION] = str(weight)
    for match in matches:
        if not match.headers:
            continue
        header = match.headers[0]
        if header.name == keys.CANARY_BY_COOKIE_HEADER:
            out[keys.NGINX_CANARY_BY_COOKIE_ANNOTATION] = header.value
            continue
        out[keys.NGINX_CANARY_BY_HEADER_ANNOTATION] = header.name
        key = (keys.NGINX_CANARY_BY_HEADER_PATTERN_ANNOTATION if header.type == REGULAR_EXPRESSION
               else keys.NGINX_CANARY_BY_HEADER_VALUE_ANNOTATION)
        out[key] = header.value
    return out


def annotations_patch(current: Mapping[str, str], desired: Mapping[str, str]) -> dict | None:
    """JSON merge patch turning ``current`` annotations into ``desired`` (removed keys → null), or None."""
    diff: dict[str, str | None] = {k: v for k, v in desired.items() if current.get(k) != v}
    diff.update({k: None for k in current if k not in desired})
    return {"metadata": {"annotations": diff}} if diff else None


def build_canary_ingress(
    stable: Mapping, *, stable_service: str, canary_service: str, owner_ref: Mapping,
) -> dict:
    """``<ingress>-canary`` as upstream builds it, with the weight-0 annotations already applied.

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
                      "annotations": canary_annotations(objmeta.annotations_of(stable), 0, [])}
    if objmeta.labels(stable):
        out_meta["labels"] = dict(objmeta.labels(stable))
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": out_meta, "spec": out_spec}


class NginxIngressProvider:
    """:class:`~rollouts.trafficrouting.provider.TrafficProvider` over one stable Ingress.

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
        check_matches(matches, where=self._where)
        refuse_header_modifier(header_modifier, where=self._where, provider="nginx Ingress")

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
            body = build_canary_ingress(stable, stable_service=self._stable_service,
                                        canary_service=self._canary_service, owner_ref=self._owner_ref)
            await self._client.create(INGRESSES, body, self._ns)
            return False
        current = objmeta.annotations_of(canary)
        patch = annotations_patch(current, canary_annotations(current, weight, matches))
        if patch is None:
            return True
        await self._client.patch(INGRESSES, self.canary_ingress, patch, self._ns, patch_type="merge")
        return False

    async def finalise(self) -> bool:
        canary = await self._get(self.canary_ingress)
        if canary is None or objmeta.is_deleting(canary):
            return True
        try:
            await self._client.delete(INGRESSES, self.canary_ingress, self._ns)
        except NotFound:
            return True
        return False
