"""Run the Argo CD scripts of ``deploy/argocd`` with our Lua 5.1 sandbox (the VM family Argo CD uses).

Argo CD runs ``health.lua`` and ``discovery.lua`` with the object as global ``obj`` and reads the
returned table; an ``action.lua`` returns the modified object. Our sandbox has the libraries these
scripts may use there (base, string, table, math), so a script that passes here uses nothing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollouts.lua import LuaFailure, LuaRunner, LuaScript

ARGOCD = Path(__file__).resolve().parents[1] / "deploy" / "argocd"
ACTIONS = ("approve", "pause", "resume", "disable")


def _run(relative: str, obj: dict[str, Any]) -> Any:
    path = ARGOCD / relative
    result = LuaRunner().run(LuaScript(f"deploy/argocd/{relative}", path.read_text()), obj)
    if isinstance(result, LuaFailure):
        raise LuaError(result.message)
    return result.value


class LuaError(Exception):
    """The script raised (an action refusing, or a bug)."""


def health(obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) of ``health.lua``."""
    out = _run("health.lua", obj)
    return out["status"], out.get("message") or ""


def discovery(obj: dict[str, Any]) -> dict[str, bool]:
    """Action name → enabled."""
    out = _run("actions/discovery.lua", obj)
    return {name: not spec.get("disabled", False) for name, spec in out.items()}


def action(name: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The object ``actions/<name>.lua`` returns."""
    out = _run(f"actions/{name}.lua", obj)
    assert isinstance(out, dict)
    return out
