"""The Gateway API provider (traffic-routing.md §4.2, §9): rewrite the rules of one HTTPRoute.

Unlike nginx, Gateway API needs no second object: a rule can send a share of its requests to each of
several backends (``backendRefs[].weight``), and a rule with extra ``matches`` wins over a rule with
fewer. So a release edits ``spec.rules`` of the user's HTTPRoute in place:

* **weight step** (``traffic`` set, no ``matches``): every rule that sends to the stable Service gets
  a canary backendRef beside it (a copy of the stable ref renamed to the canary Service, appended),
  canary weight ``w`` and stable weight ``100 - w``;
* **match step** (``matches`` set; ``traffic`` is then ignored, as upstream: matches take
  precedence): every rule that sends to the stable Service is kept and gets a *canary rule* appended
  after all rules — a copy of it sending only to the canary Service whose matches are the stable
  rule's matches narrowed by the step's headers/queryParams, plus the step's path matches (on the
  first such rule only: a path match stands for itself);
* **finalise**: canary refs and canary rules removed, the stable weight put back to 1.

Vocabulary: *stable ref* / *canary ref* = a backendRef of kind Service naming the stable / canary
Service; *canary rule* = a rule whose only backend is the canary Service (we generated it).

The two defects upstream has here (spec §4.2) are **fixed**, not copied:

1. mixing path and non-path matches in one step: upstream narrows the stable matches with the
   headers of ``matches[j]`` counted in the *whole* list instead of the non-path ones, pairing the
   wrong headers; :func:`match_rules` indexes the non-path list.
2. a weight step followed by a match step: upstream drops every rule holding a canary ref, which
   after a weight step is the user's own rule, so the route loses its stable rule. Here every step
   is computed from the *finalised* rules (:func:`desired_rules` = step applied to
   :func:`finalised_rules` of the live rules), so any order of weight and match steps works, and a
   match step after a weight step, or a weight step after a match step, leaves nothing stale.

Also differing, each a small correction: finalise resets the stable weight to 1 only in rules it
added a canary ref to (upstream writes 1 into every stable ref, even of a route only ever given
match steps); a step header whose name the stable match already tests replaces that test (Gateway
API refuses two header matches of one name); a rule without ``matches`` (match everything) is
narrowed as if it had one empty match; a canary rule drops the stable rule's ``name`` (rule names
must be unique in a route). An empty match (no path, headers or queryParams) is refused: it would
send every request to the canary. ``requestHeaderModifier`` is not applied (upstream neither).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.api import gateway_matches
from rollouts.api.common import HTTPHeaderFilter
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.objects import httproute as routes
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.provider import ObjectClient, TrafficRoutingError, refuse_header_modifier
from runtime.kube.errors import Conflict, Invalid, NotFound
from runtime.kube.resources import HTTPROUTES

__all__ = [
    "GatewayProvider", "check_matches", "desired_rules", "finalised_rules", "match_rules", "route_match",
    "weighted_rules",
]

Rule = dict[str, Any]

#: Weight the finalised stable ref gets back: the Gateway API default (what the schema writes when
#: the user gave none), as upstream.
STABLE_RESTORED_WEIGHT = 1
#: Re-reads after a 409 Conflict before the error is returned to the controller (which requeues).
CONFLICT_RETRIES = 5
#: Defaults the Gateway API schema applies, filled in so a desired rule equals its stored form.
_PATH_DEFAULT = {"type": "PathPrefix", "value": "/"}
_EXACT = "Exact"


def check_matches(matches: Sequence[HttpRouteMatch], *, where: str) -> None:
    """Refuse an empty match (:mod:`rollouts.api.gateway_matches`, shared with admission)."""
    problem = gateway_matches.match_problem(matches, where=where)
    if problem is not None:
        raise TrafficRoutingError(f"{problem[0]}: {problem[1]}")


def _named(items: Sequence[Any]) -> list[dict]:
    return [{"name": i.name, "type": i.type or _EXACT, "value": i.value} for i in items]


def route_match(m: HttpRouteMatch) -> dict:
    """A step match as an HTTPRoute match, with the schema defaults written out."""
    out: dict = {}
    if m.path is not None:
        out["path"] = {"type": m.path.type or _PATH_DEFAULT["type"], "value": m.path.value or _PATH_DEFAULT["value"]}
    if m.headers:
        out["headers"] = _named(m.headers)
    if m.query_params:
        out["queryParams"] = _named(m.query_params)
    return out


def _is_canary_rule(rule: Mapping, canary: str) -> bool:
    refs = routes.backend_refs(rule)
    return bool(refs) and all(routes.is_service_ref(r, canary) for r in refs)


def finalised_rules(rules: Sequence[Mapping], *, stable: str, canary: str) -> list[Rule]:
    """The rules without any canary ref or canary rule; stable weight 1 where a canary ref was removed."""
    out: list[Rule] = []
    for live in rules:
        if _is_canary_rule(live, canary):
            continue
        rule = copy.deepcopy(dict(live))
        refs = routes.backend_refs(rule)
        kept = [dict(r) for r in refs if not routes.is_service_ref(r, canary)]
        if len(kept) != len(refs):
            rule["backendRefs"] = [{**r, "weight": STABLE_RESTORED_WEIGHT} if routes.is_service_ref(r, stable)
                                   else r for r in kept]
        out.append(rule)
    return out


def _first_ref(refs: list[dict], service: str) -> dict | None:
    return next((r for r in refs if routes.is_service_ref(r, service)), None)


def weighted_rules(rules: Sequence[Mapping], *, stable: str, canary: str, weight: int) -> list[Rule]:
    """``weight`` % to the canary in every rule with a stable ref (refs replaced in place, new ones last)."""
    out: list[Rule] = []
    for live in rules:
        rule = copy.deepcopy(dict(live))
        stable_ref = routes.service_ref(rule, stable)
        if stable_ref is not None:
            refs = [dict(r) for r in routes.backend_refs(rule)]
            if routes.service_ref(rule, canary) is None:
                refs.append({**copy.deepcopy(dict(stable_ref)), "name": canary})
            rule["backendRefs"] = [
                {**r, "weight": weight} if routes.is_service_ref(r, canary)
                else {**r, "weight": 100 - weight} if r is _first_ref(refs, stable) else r for r in refs]
        out.append(rule)
    return out


def _merge_named(base: Sequence[Mapping], extra: list[dict]) -> list[dict]:
    names = {e["name"] for e in extra}
    return [copy.deepcopy(dict(b)) for b in base if b.get("name") not in names] + extra


def _narrowed(stable_match: Mapping, step: dict) -> dict:
    out = copy.deepcopy(dict(stable_match))
    for key in ("headers", "queryParams"):
        if step.get(key):
            out[key] = _merge_named(stable_match.get(key) or (), step[key])
    return out


def match_rules(rules: Sequence[Mapping], *, stable: str, canary: str, matches: Sequence[HttpRouteMatch]) -> list[Rule]:
    """The rules plus one canary rule per rule with a stable ref (spec §4.2 match mode, defect 1 fixed)."""
    path_matches = [route_match(m) for m in matches if m.path is not None]
    other_matches = [route_match(m) for m in matches if m.path is None]
    kept = [copy.deepcopy(dict(r)) for r in rules if not _is_canary_rule(r, canary)]
    canaries: list[Rule] = []
    for rule in kept:
        stable_ref = routes.service_ref(rule, stable)
        if stable_ref is None:
            continue
        canary_rule = {k: copy.deepcopy(v) for k, v in rule.items() if k != "name"}
        canary_rule["backendRefs"] = [{**copy.deepcopy(dict(stable_ref)), "name": canary}]
        own = [copy.deepcopy(m) for m in path_matches] if not canaries else []
        own += [_narrowed(sm, step) for sm in (routes.rule_matches(rule) or ({},)) for step in other_matches]
        if own:
            canary_rule["matches"] = own
            canaries.append(canary_rule)
    return kept + canaries


def desired_rules(
    rules: Sequence[Mapping], *, stable: str, canary: str, weight: int | None, matches: Sequence[HttpRouteMatch],
) -> list[Rule]:
    """The rules for one step, always computed from the finalised rules (defect 2 fixed)."""
    base = finalised_rules(rules, stable=stable, canary=canary)
    if matches:
        return match_rules(base, stable=stable, canary=canary, matches=matches)
    if weight is None:
        return base
    return weighted_rules(base, stable=stable, canary=canary, weight=weight)


class GatewayProvider:
    """:class:`~rollouts.trafficrouting.provider.TrafficProvider` over one HTTPRoute.

    Every write replaces ``spec.rules`` whole, guarded by the ``resourceVersion`` it was computed
    from (a merge patch carrying ``metadata.resourceVersion``), so a concurrent edit by the user or
    another controller is never overwritten: on 409 the route is re-read and the rules recomputed,
    up to :data:`CONFLICT_RETRIES` times. ``where``/``ref_field`` are field paths for messages.
    """

    def __init__(
        self, client: ObjectClient, *, namespace: str, route: str, stable_service: str, canary_service: str,
        where: str, ref_field: str,
    ) -> None:
        self._client, self._ns, self._route = client, namespace, route
        self._stable, self._canary = stable_service, canary_service
        self._where, self._ref_field = where, ref_field

    async def _get(self) -> dict | None:
        try:
            return await self._client.get(HTTPROUTES, self._route, self._ns)
        except NotFound:
            return None

    def _missing(self) -> str:
        return (f"HTTPRoute {self._ns}/{self._route} named in {self._ref_field}.gateway.httpRouteName does not "
                "exist (or the Gateway API CRDs are not installed); create it or correct the name")

    async def initialize(self) -> str | None:
        return None if await self._get() is not None else self._missing()

    def check(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> None:
        check_matches(matches, where=self._where)
        refuse_header_modifier(header_modifier, where=self._where, provider="Gateway API HTTPRoute")

    async def _converge(self, compute: Any, *, missing_ok: bool) -> bool:
        """Write ``compute(rules)`` unless equal to the live rules; True = nothing written."""
        for _ in range(CONFLICT_RETRIES):
            route = await self._get()
            if route is None:
                if missing_ok:
                    return True
                raise TrafficRoutingError(self._missing())
            current = [dict(r) for r in routes.rules(route)]
            desired = compute(current)
            if desired == current:
                return True
            body = {"metadata": {"resourceVersion": objmeta.metadata(route).get("resourceVersion")},
                    "spec": {"rules": desired}}
            try:
                await self._client.patch(HTTPROUTES, self._route, body, self._ns, patch_type="merge")
            except Conflict:
                continue
            except Invalid as e:  # e.g. more than 16 rules or 128 matches in all: retrying cannot help
                raise TrafficRoutingError(
                    f"HTTPRoute {self._ns}/{self._route}: the API server refused the rules computed for "
                    f"{self._where}: {e.message}; use fewer matches in the step or fewer rules in the route") from e
            return False
        raise Conflict(f"HTTPRoute {self._ns}/{self._route}: still conflicting after {CONFLICT_RETRIES} re-reads")

    async def ensure_routes(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> bool:
        self.check(weight=weight, matches=matches, header_modifier=header_modifier)

        def compute(current: list[Rule]) -> list[Rule]:
            if not any(routes.service_ref(r, self._stable) for r in current):
                raise TrafficRoutingError(
                    f"HTTPRoute {self._ns}/{self._route} named in {self._ref_field}.gateway.httpRouteName has no "
                    f"rule with a backendRef to Service {self._stable}; add one or correct {self._ref_field}.service")
            return desired_rules(current, stable=self._stable, canary=self._canary, weight=weight,
                                 matches=matches)
        return await self._converge(compute, missing_ok=False)

    async def finalise(self) -> bool:
        return await self._converge(
            lambda current: finalised_rules(current, stable=self._stable, canary=self._canary), missing_ok=True)
