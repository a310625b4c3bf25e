"""Run one traffic script in a fresh, bounded Lua 5.1 VM (lua-contract.md §1).

Why Lua 5.1 (``lupa.lua51``): upstream embeds gopher-lua, a 5.1 VM, and users' scripts must keep
working; 5.1 has no integer subtype and no ``//``, and unlike LuaJIT it honours lupa's
``max_memory`` allocator limit.

The sandbox. The script runs as a chunk whose environment is a fresh table holding only the base
functions of the contract, copies of ``string``/``table``/``math``, ``json`` and ``obj``: no ``os``,
``io``, ``package``/``require``, ``coroutine``, ``debug``, ``getfenv``/``setfenv``, ``dofile``/
``loadfile``, nor lupa's ``python`` bridge. ``load``/``loadstring`` compile source text only (a
binary chunk is refused: bytecode can break the VM) and give the new chunk the same environment.
``print`` is silenced (the controller's stdout is not the script's).

The limits (:class:`LuaLimits`). A count hook runs every :data:`HOOK_INTERVAL` VM instructions and
stops the script when it exceeds ``max_instructions`` or, checked every tenth hook, when the
injected clock passes the deadline. ``pcall``/``xpcall`` re-raise once the script is stopped, so a
script cannot swallow its own stop. Memory is capped by the VM's allocator (``max_memory``), and
the result's size by ``max_output``. Nothing stops a single long C call (``string.rep`` up to the
memory cap, a pathological ``string.find``): hooks only run between instructions. That is why
:meth:`LuaRunner.run_async` runs the VM on a worker thread: lupa releases the GIL while Lua runs,
so the event loop keeps serving other objects even then (bench/lua_bench.py measures the stall).

Errors never escape as exceptions: :meth:`LuaRunner.run` returns :class:`LuaFailure` naming the
script, the kind of failure and Lua's message.

Memory cap and Lua panics: an allocation that fails outside a protected call makes Lua *panic*,
which exits the whole process. So the cap is applied from inside the Lua call, only while the script
runs, and lifted whenever Python uses the Lua API (building ``obj``, lupa's own pushes and
references, the ``json`` helpers, reading the result); ``json.decode`` takes at most ``max_output``
bytes of text so that what it builds uncapped stays bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import attrs
from lupa import lua51

from rollouts.lua import gojson
from rollouts.lua.convert import ConversionError, OutputBudget, lua_to_tree, tree_to_lua

__all__ = ["HOOK_INTERVAL", "LuaFailure", "LuaLimits", "LuaResult", "LuaRunner", "LuaScript", "LuaSuccess"]

#: VM instructions between two runs of the count hook: small enough that a runaway loop is seen
#: within ~0.02 ms, large enough that the hook costs < 1 % of a script's time.
HOOK_INTERVAL = 1000
#: The hook consults the (Python) clock only every this many runs: a Python call per 1000
#: instructions would cost ~10 % of a tight loop.
_CLOCK_EVERY = 10
_MEMORY_MESSAGE = "not enough memory"

FailureKind = Literal["compile", "runtime", "time", "instructions", "memory", "output"]


@attrs.frozen(kw_only=True)
class LuaLimits:
    """Bounds of one script call. A shipped script runs < 2 000 VM instructions in < 64 KiB (VM
    included) on its test cases; a whole call (fresh VM, conversions) costs ~0.1–0.3 ms CPU."""

    #: Wall-clock seconds per call. Upstream allows 1 s; 0.1 s is still ~1000× a shipped script and
    #: keeps a runaway from holding a reconcile worker (issue 12's target: stopped within 100 ms).
    timeout: float = 0.1
    #: VM instructions per call (~40 ms of a tight loop here); stops CPU loops even on a slow clock.
    max_instructions: int = 5_000_000
    #: Bytes the script may allocate beyond the VM and its ``obj`` (lupa ``max_memory``); shipped
    #: scripts need < 64 KiB. Small so that a memory bomb fails (and its heap is freed) in milliseconds.
    max_memory: int = 8 << 20
    #: Approximate JSON bytes of the returned value or of one ``json.encode``: the apiserver refuses
    #: objects over 1.5 MiB, so a larger result is a bug, and converting it would block the caller.
    max_output: int = 1 << 20


@attrs.frozen
class LuaScript:
    """A script's source and the name errors show (``built-in trafficrouting_ingress/nginx.lua``)."""

    name: str
    source: str = attrs.field(repr=False)


@attrs.frozen
class LuaSuccess:
    """The script's return value as a JSON-like tree (``None`` for an empty table)."""

    value: Any
    script: str = ""


@attrs.frozen
class LuaFailure:
    """Why a call produced nothing; :attr:`message` is ready for a Rollout status message."""

    script: str
    kind: FailureKind
    detail: str

    @property
    def message(self) -> str:
        return f"Lua script {self.script} failed ({self.kind}): {self.detail}"


LuaResult = LuaSuccess | LuaFailure

_BOOT = b"""
local sethook, setfenv, loadstring, pcall, xpcall, error, type, pairs, ipairs, sbyte =
      debug.sethook, setfenv, loadstring, pcall, xpcall, error, type, pairs, ipairs, string.byte
string.dump = nil
local BASE = {"assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset", "select",
              "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack", "_VERSION"}
local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
return function(source, name, obj, py_encode, py_decode, clock, deadline, max_ticks, clock_every, cap, uncap)
  local stopped = nil
  local env = {}
  for _, k in ipairs(BASE) do env[k] = _G[k] end
  env.string, env.table, env.math = copy(string), copy(table), copy(math)
  env.print = function() end
  local function rethrow(...) if stopped then error(stopped, 0) end return ... end
  env.pcall = function(...) return rethrow(pcall(...)) end
  env.xpcall = function(...) return rethrow(xpcall(...)) end
  local function safe_load(chunk, chunkname)
    if type(chunk) ~= "string" then return nil, "load: only source strings are allowed" end
    if sbyte(chunk, 1) == 27 then return nil, "load: binary chunks are not allowed" end
    local f, err = loadstring(chunk, chunkname)
    if f then setfenv(f, env) end
    return f, err
  end
  env.load, env.loadstring = safe_load, safe_load
  env.json = {encode = function(v) return py_encode(v) end, decode = function(s) return py_decode(s) end}
  env.obj, env._G = obj, env
  local chunk, err = safe_load(source, "=" .. name)
  if not chunk then return "compile", err end
  local ticks = 0
  cap()
  sethook(function()
    ticks = ticks + 1
    if ticks > max_ticks then stopped = "instructions"
    elseif ticks % clock_every == 0 and clock() > deadline then stopped = "time" end
    if stopped then error(stopped, 0) end
  end, "", @HOOK@)
  local ok, out = pcall(chunk)
  uncap()
  sethook()
  if stopped then return stopped, stopped end
  if not ok then return "runtime", out end
  return "ok", out
end
""".replace(b"@HOOK@", str(HOOK_INTERVAL).encode())


class LuaRunner:
    """Runs scripts under :class:`LuaLimits`; a fresh VM per call (~30 µs), so no state survives."""

    def __init__(self, limits: LuaLimits | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or LuaLimits()
        self._clock = clock

    def run(self, script: LuaScript, obj: Any) -> LuaResult:
        """Run ``script`` with global ``obj`` (a JSON-like tree); the returned table as a tree."""
        try:
            return self._run(script, obj)
        except Exception as exc:  # the contract: nothing escapes into the controller
            return LuaFailure(script.name, "runtime", f"{type(exc).__name__}: {exc}")

    async def run_async(self, script: LuaScript, obj: Any) -> LuaResult:
        """:meth:`run` on a worker thread: the event loop is not held even by a long C call."""
        return await asyncio.to_thread(self.run, script, obj)

    def _run(self, script: LuaScript, obj: Any) -> LuaResult:
        limits = self.limits
        # Created without a cap (0 = none, but counted): lupa raises a Lua *panic* (the process
        # exits) when an allocation fails outside a protected call, e.g. while we build ``obj``.
        # The cap is set just before the script runs and lifted around our own Lua API use.
        rt = lua51.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                              unpack_returned_tuples=True, max_memory=0, attribute_filter=_deny_attributes)
        prepare = rt.execute(_BOOT)
        lua_obj = tree_to_lua(rt.table, obj)
        vm = _Vm(rt, rt.get_memory_used() + limits.max_memory)
        # The json helpers reach the VM through this cell, emptied after the call: a closure holding
        # ``rt`` while ``rt`` holds the closure would be a cycle, freed only by Python's cyclic GC,
        # which then closes dozens of VMs at once (a 3 ms p99 before this).
        cell = [vm]
        encode, decode = _json_helpers(cell, limits.max_output)
        deadline = self._clock() + limits.timeout
        max_ticks = max(1, limits.max_instructions // HOOK_INTERVAL)
        try:
            # Capped only while the script itself runs (``cap``/``uncap`` are called from inside the
            # Lua call): lupa's own pushes and refs around the call never meet the cap.
            status, out = prepare(script.source.encode("utf-8"), script.name.encode("utf-8"), lua_obj,
                                  encode, decode, self._clock, deadline, max_ticks, _CLOCK_EVERY,
                                  lambda: cell[0].cap(), lambda: cell[0].uncap())
            return _result(script, status.decode(), out, limits)
        except lua51.LuaMemoryError:
            return LuaFailure(script.name, "memory", f"more than {limits.max_memory} bytes allocated")
        finally:
            vm.uncap()
            cell.clear()


@attrs.define
class _Vm:
    """A runtime and its memory cap (absolute bytes, base VM and ``obj`` included)."""

    rt: Any
    limit: int

    def cap(self) -> None:
        self.rt.set_max_memory(self.limit, total=True)

    def uncap(self) -> None:
        self.rt.set_max_memory(0)

    def over(self) -> bool:
        return bool(self.rt.get_memory_used() > self.limit)


def _result(script: LuaScript, status: str, out: Any, limits: LuaLimits) -> LuaResult:
    if status == "time":
        return LuaFailure(script.name, "time", f"still running after {limits.timeout:g} s")
    if status == "instructions":
        return LuaFailure(script.name, "instructions", f"more than {limits.max_instructions} instructions")
    if status != "ok":
        if isinstance(out, bytes):
            detail = out.decode("utf-8", "replace")
        else:  # error(<table>) or error(nil): the value has no message to show
            detail = f"error raised with a {lua51.lua_type(out) or _lua_type_name(out)} value instead of a message"
        if detail == _MEMORY_MESSAGE:
            return LuaFailure(script.name, "memory", f"more than {limits.max_memory} bytes allocated")
        return LuaFailure(script.name, "compile" if status == "compile" else "runtime", detail)
    kind = lua51.lua_type(out) or _lua_type_name(out)
    if kind != "table":
        return LuaFailure(script.name, "output", f"expect table output from Lua script, not {kind}")
    try:
        return LuaSuccess(lua_to_tree(out, OutputBudget(limits.max_output)), script.name)
    except ConversionError as exc:
        return LuaFailure(script.name, "output", str(exc))


def _lua_type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, bytes) else type(value).__name__


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    """lupa's attribute filter: the script never sees a Python attribute (no ``__globals__`` walk)."""
    raise AttributeError("Python attributes are not accessible from Lua")


def _json_helpers(cell: list[_Vm], max_output: int) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """``json.encode``/``json.decode`` for this VM: ``value`` or ``nil, message`` (§1).

    They run inside the script's call but use the Lua API from Python, where a failed allocation
    would be a panic; so the cap is lifted meanwhile. ``decode`` refuses text over ``max_output``
    (bounding what it may allocate uncapped) and reports the cap exceeded afterwards.
    """

    def encode(value: Any) -> tuple[bytes | None, bytes | None]:
        vm = cell[0]
        vm.uncap()
        try:
            return gojson.dumps(lua_to_tree(value, OutputBudget(max_output))).encode("utf-8"), None
        except (ConversionError, ValueError, TypeError) as exc:
            return None, str(exc).encode("utf-8")
        finally:
            vm.cap()

    def decode(text: Any) -> tuple[Any, bytes | None]:
        if isinstance(text, bytes) and len(text) > max_output:
            return None, f"json text larger than {max_output} bytes".encode()
        vm = cell[0]
        vm.uncap()
        try:
            raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            value = tree_to_lua(vm.rt.table, json.loads(raw))
            return (None, _MEMORY_MESSAGE.encode()) if vm.over() else (value, None)
        except (ValueError, TypeError, AttributeError) as exc:
            return None, str(exc).encode("utf-8")
        finally:
            vm.cap()

    return encode, decode
