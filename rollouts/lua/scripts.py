"""Which script runs (lua-contract.md §4.1, §5.1; traffic-routing.md §4.1, §4.3).

The shipped scripts live in the top-level package ``lua_scripts`` (installed with the project),
laid out like upstream's ``lua_configuration``: ``trafficrouting_ingress/<classType>.lua`` and
``<group>/<Kind>/trafficRouting.lua``. They are read once per process (:func:`shipped_scripts`).

Lookup is a pure function of the ConfigMap ``kruise-rollout-configuration``'s ``data`` (``None``
when the ConfigMap does not exist), so the caller reads the ConfigMap on every reconcile and an
edit takes effect without a restart. The two families disagree on precedence, as upstream does:

- Ingress ``classType`` (empty → ``nginx``): the ConfigMap key
  ``lua.traffic.routing.ingress.<classType>`` first, then the shipped script. A missing ConfigMap is
  not an error.
- Custom reference ``<group>/<version>`` ``<Kind>``: the shipped script first (users cannot override
  the Istio scripts), then the ConfigMap key ``lua.traffic.routing.<Kind>.<group>``.

A miss returns :class:`ScriptNotFound` whose message starts with upstream's wording and then says
which key to add where.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources

import attrs

from rollouts.api import keys
from rollouts.lua.sandbox import LuaScript

__all__ = [
    "DEFAULT_INGRESS_CLASS", "ScriptNotFound", "custom_script", "custom_script_key", "ingress_script",
    "ingress_script_key", "shipped_scripts",
]

#: ``classType`` used when a Rollout's ``trafficRoutings[].ingress.classType`` is empty.
DEFAULT_INGRESS_CLASS = "nginx"
_INGRESS_DIR = "trafficrouting_ingress"
_CUSTOM_FILE = "trafficRouting.lua"


@attrs.frozen
class ScriptNotFound:
    """No script for the class or kind; :attr:`message` names the ConfigMap key that would fix it."""

    message: str


@functools.cache
def shipped_scripts() -> Mapping[str, str]:
    """Every shipped ``.lua`` file by its path relative to ``lua_scripts`` (read once)."""
    root = resources.files("lua_scripts")
    found: dict[str, str] = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        for entry in folder.iterdir():
            rel = f"{prefix}{entry.name}"
            if entry.is_dir():
                stack.append((entry, rel + "/"))
            elif entry.name.endswith(".lua"):
                found[rel] = entry.read_text(encoding="utf-8")
    return found


def ingress_script_key(class_type: str) -> str:
    return f"{keys.LUA_INGRESS_SCRIPT_KEY_PREFIX}{class_type or DEFAULT_INGRESS_CLASS}"


def custom_script_key(kind: str, group: str) -> str:
    return f"{keys.LUA_CUSTOM_SCRIPT_KEY_PREFIX}{kind}.{group}"


def _configmap(namespace: str) -> str:
    return f"ConfigMap {namespace}/{keys.ROLLOUT_CONFIGURATION_CONFIGMAP}"


def ingress_script(
    class_type: str, configmap_data: Mapping[str, str] | None, *, namespace: str,
) -> LuaScript | ScriptNotFound:
    """The Ingress script for ``class_type``: ConfigMap key first, then shipped (module docstring)."""
    class_type = class_type or DEFAULT_INGRESS_CLASS
    key = ingress_script_key(class_type)
    source = (configmap_data or {}).get(key)
    if source:
        return LuaScript(f"{_configmap(namespace)} key {key}", source)
    rel = f"{_INGRESS_DIR}/{class_type}.lua"
    if rel in shipped_scripts():
        return LuaScript(f"built-in {rel}", shipped_scripts()[rel])
    return ScriptNotFound(f"{class_type} lua script is not found: add key {key} to {_configmap(namespace)} "
                          "or use a built-in classType (aliyun-alb, higress, mse, nginx)")


def custom_script(
    api_version: str, kind: str, configmap_data: Mapping[str, str] | None, *, namespace: str,
) -> LuaScript | ScriptNotFound:
    """The script for a ``customNetworkRefs`` entry: shipped first, then the ConfigMap key."""
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    rel = f"{group}/{kind}/{_CUSTOM_FILE}"
    if group and rel in shipped_scripts():
        return LuaScript(f"built-in {rel}", shipped_scripts()[rel])
    key = custom_script_key(kind, group)
    if configmap_data is None:
        return ScriptNotFound(f"failed to get ConfigMap({namespace}/{keys.ROLLOUT_CONFIGURATION_CONFIGMAP}): "
                              f"create it with key {key} holding the script for {kind}.{group}")
    source = configmap_data.get(key)
    if not source:
        return ScriptNotFound(f"expected script not found neither locally nor in ConfigMap: add key {key} "
                              f"to {_configmap(namespace)}")
    return LuaScript(f"{_configmap(namespace)} key {key}", source)
