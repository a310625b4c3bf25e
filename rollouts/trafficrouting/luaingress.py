"""Ingress classes through Lua (traffic-routing.md §4.1, lua-contract.md §4): every ``classType``, nginx included.

The canary Ingress mechanics are :class:`~rollouts.trafficrouting.nginx.CanaryIngressProvider`'s;
this module only decides the annotations: the script of the Ingress's ``classType`` (empty →
``nginx``), looked up by :func:`rollouts.lua.scripts.ingress_script` — the ConfigMap key
``lua.traffic.routing.ingress.<classType>`` first, then the shipped
``lua_scripts/trafficrouting_ingress/<classType>.lua``. The ConfigMap is read (from a cache) each
time a provider is built, so an edit applies to the next reconcile.

What the script is trusted with:

* The shipped nginx, higress and aliyun-alb scripts express one header and one cookie rule, as
  nginx does; their steps go through :func:`~rollouts.trafficrouting.nginx.check_matches` (the
  check admission also applies), so a match they would silently drop is refused instead. The
  shipped mse script and every ConfigMap script decide for themselves.
* ``requestHeaderModifier`` is passed only to a script that reads it (its source names the field:
  shipped, only mse.lua); for any other the step is refused, as routing without the modification
  would mark no request.
* A script that fails (error, time or memory limit, a result that is not a table of strings) or a
  class without a script raises :class:`TrafficRoutingError` naming the script and the cause before
  anything is written to the canary Ingress; :meth:`LuaIngressProvider.initialize` also runs it
  once on the stable Ingress's annotations, so a broken script holds the release before the
  Services are touched. The Rollout controller retries, so fixing the ConfigMap resumes it. That
  dry run is remembered once it succeeded (:mod:`rollouts.trafficrouting.dryrun`), so a round
  runs the script once, not twice, until the script or the stable Ingress's annotations change.

Lua runs on a worker thread (:meth:`LuaRunner.run_async`), bounded in time, instructions and
memory: the event loop is never held by a script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rollouts.api import dump
from rollouts.api.common import HTTPHeaderFilter
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.lua import LuaFailure, LuaRunner, LuaScript
from rollouts.lua.contract import ingress_annotations, ingress_input
from rollouts.lua.scripts import DEFAULT_INGRESS_CLASS, ScriptNotFound
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.dryrun import DryRunCache, dry_run_key
from rollouts.trafficrouting.nginx import CanaryIngressProvider, check_matches
from rollouts.trafficrouting.provider import ObjectClient, TrafficRoutingError, refuse_header_modifier

__all__ = ["NGINX_MATCH_SCRIPTS", "LuaIngressProvider", "reads_header_modifier"]

#: Shipped scripts with nginx's match semantics (first header per match, the ``canary-by-cookie``
#: header), checked like nginx. Names as :func:`rollouts.lua.scripts.ingress_script` gives them.
NGINX_MATCH_SCRIPTS = frozenset(f"built-in trafficrouting_ingress/{c}.lua" for c in ("nginx", "higress", "aliyun-alb"))
#: ``obj.requestHeaderModifier`` or ``obj["requestHeaderModifier"]`` in the source.
_READS_MODIFIER = re.compile(r"""obj\s*(\.\s*requestHeaderModifier\b|\[\s*["']requestHeaderModifier["']\s*\])""")


def reads_header_modifier(script: LuaScript) -> bool:
    """Whether the script can apply ``requestHeaderModifier``: it reads ``obj.requestHeaderModifier``.

    A textual test, deliberately: a script that never reads the field cannot use it, and one that
    does is trusted to (shipped: mse.lua only, lua-contract.md §4.4). A script reaching it some
    other way (``obj[k]`` with a computed ``k``) is refused the modifier: say so in docs/traffic.md.
    """
    return _READS_MODIFIER.search(script.source) is not None


class LuaIngressProvider(CanaryIngressProvider):
    """The canary Ingress whose annotations come from ``script`` (or why there is none)."""

    def __init__(
        self, client: ObjectClient, *, script: LuaScript | ScriptNotFound, runner: LuaRunner, class_type: str,
        namespace: str, ingress: str, stable_service: str, canary_service: str, owner_ref: Mapping, where: str,
        ref_field: str, dry_runs: DryRunCache | None = None,
    ) -> None:
        super().__init__(client, namespace=namespace, ingress=ingress, stable_service=stable_service,
                         canary_service=canary_service, owner_ref=owner_ref, where=where, ref_field=ref_field)
        self.script, self._runner = script, runner
        self._class = class_type or DEFAULT_INGRESS_CLASS
        #: Successful dry runs, shared by the providers of one manager (None: every dry run runs).
        self._dry_runs = dry_runs

    def _script(self) -> LuaScript:
        if isinstance(self.script, ScriptNotFound):
            raise TrafficRoutingError(f"{self._ref_field}.ingress.classType: {self.script.message}")
        return self.script

    async def initialize(self) -> str | None:
        """The stable Ingress exists and the script produces annotations from it (nothing is written)."""
        stable = await self._get(self._ingress)
        if stable is None:
            return self._missing()
        try:
            await self.initial_annotations(objmeta.annotations_of(stable))
        except TrafficRoutingError as e:
            return str(e)
        return None

    async def initial_annotations(self, stable: Mapping[str, str]) -> dict[str, str]:
        """The dry run of :meth:`initialize` (also the canary Ingress's first annotations), remembered on success."""
        cache = self._dry_runs
        if cache is None:
            return await super().initial_annotations(stable)
        key = dry_run_key(self._script(), stable, self._canary_service)
        if (known := cache.get(key)) is not None:
            return known
        result = await super().initial_annotations(stable)
        cache.put(key, result)
        return result

    def check(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> None:
        script = self._script()
        if script.name in NGINX_MATCH_SCRIPTS:
            check_matches(matches, where=self._where)
        if not reads_header_modifier(script):
            refuse_header_modifier(header_modifier, where=self._where,
                                   provider=f"{self._class} Ingress (script {script.name})")

    async def annotations(
        self, current: Mapping[str, str], *, weight: int | None, matches: list[HttpRouteMatch],
        header_modifier: HTTPHeaderFilter | None,
    ) -> dict[str, str]:
        script = self._script()
        obj = ingress_input(annotations=current, weight=weight, matches=[dump(m) for m in matches],
                            canary_service=self._canary_service,
                            header_modifier=dump(header_modifier) if header_modifier is not None else None)
        result = ingress_annotations(await self._runner.run_async(script, obj))
        if isinstance(result, LuaFailure):
            raise TrafficRoutingError(
                f"Ingress {self._ns}/{self.canary_ingress} ({self._ref_field}.ingress, classType {self._class}): "
                f"{result.message}; nothing was written. Fix the script (a ConfigMap edit applies without restart)")
        return result
