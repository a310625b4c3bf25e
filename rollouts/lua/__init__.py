"""Sandboxed Lua traffic scripts (lua-contract.md; issue 12 items 1–2).

- :mod:`rollouts.lua.sandbox`: :class:`LuaRunner` runs one script in a fresh bounded Lua 5.1 VM and
  returns :class:`LuaSuccess` or :class:`LuaFailure` (never raises).
- :mod:`rollouts.lua.convert`, :mod:`rollouts.lua.gojson`: the Go/JSON ↔ Lua value rules and the
  ``json`` helper's exact output.
- :mod:`rollouts.lua.scripts`: the shipped scripts (``lua_scripts/``) and the lookup order against
  the ``kruise-rollout-configuration`` ConfigMap, as pure functions.
- :mod:`rollouts.lua.contract`: the ``obj`` each script family receives and the decoding of what it
  returns.
- :mod:`rollouts.lua.configuration`: the ConfigMap of user scripts, read from an informer's store.

Used by the Ingress provider of every class (``rollouts.trafficrouting.luaingress``; docs/traffic.md).
"""

from rollouts.lua.sandbox import LuaFailure, LuaLimits, LuaResult, LuaRunner, LuaScript, LuaSuccess

__all__ = ["LuaFailure", "LuaLimits", "LuaResult", "LuaRunner", "LuaScript", "LuaSuccess"]
