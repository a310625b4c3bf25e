"""The sandbox: what a script cannot reach, and every runaway ends in bounded time with a clear error."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time

import pytest

from rollouts.lua import LuaFailure, LuaLimits, LuaRunner, LuaScript, LuaSuccess

#: Generous bound for "stopped promptly" on a loaded 2-core machine; the limits themselves are 0.1 s.
BOUND_S = 1.0


def run(source: str, obj: object = None, limits: LuaLimits | None = None) -> tuple[object, float]:
    start = time.perf_counter()
    result = LuaRunner(limits).run(LuaScript("user.lua", source), obj if obj is not None else {})
    return result, time.perf_counter() - start


def failure(source: str, kind: str, limits: LuaLimits | None = None) -> LuaFailure:
    result, elapsed = run(source, limits=limits)
    assert isinstance(result, LuaFailure), result
    assert result.kind == kind, result
    assert elapsed < BOUND_S, f"{kind} took {elapsed:.3f} s"
    assert result.message.startswith(f"Lua script user.lua failed ({kind}): ")
    return result


def instructions_only(source: str) -> LuaFailure:
    """The instruction budget alone: a clock that never moves, so a loaded machine (5 million
    instructions can take longer than the 0.1 s wall limit) cannot turn this into a time failure."""
    result = LuaRunner(LuaLimits(), clock=lambda: 0.0).run(LuaScript("user.lua", source), {})
    assert isinstance(result, LuaFailure) and result.kind == "instructions", result
    return result


def test_infinite_loop_stopped_by_instruction_count() -> None:
    f = instructions_only("while true do end")
    assert "5000000 instructions" in f.detail


def test_pcall_cannot_swallow_the_stop() -> None:
    instructions_only("while true do pcall(function() while true do end end) end")


def test_wall_clock_limit_with_a_stepped_clock() -> None:
    ticks = iter(range(10**9))
    runner = LuaRunner(LuaLimits(max_instructions=10**12, timeout=5.0), clock=lambda: float(next(ticks)))
    result = runner.run(LuaScript("user.lua", "while true do end"), {})
    assert isinstance(result, LuaFailure) and result.kind == "time", result
    assert result.detail == "still running after 5 s"


def test_memory_bomb() -> None:
    failure("local s = 'x' while true do s = s .. s end", "memory")


def test_memory_bomb_in_one_c_call() -> None:
    failure("return {string.rep('x', 1e9)}", "memory")


def test_table_growth_is_bounded() -> None:
    result, elapsed = run("local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end")
    assert isinstance(result, LuaFailure) and result.kind in ("memory", "instructions", "time"), result
    assert elapsed < BOUND_S


@pytest.mark.parametrize("source", [
    "os.execute('touch /tmp/pwned')", "io.open('/etc/passwd')", "require('os')", "debug.getinfo(1)",
    "coroutine.create(print)", "dofile('/etc/passwd')", "loadfile('/etc/passwd')", "return getfenv(0).os",
    "return python.eval('1')", "return string.dump(print)",
])
def test_unavailable_libraries(source: str) -> None:
    f = failure(source, "runtime")
    assert "nil value" in f.detail


def test_bytecode_is_refused() -> None:
    result, _ = run("local f, err = loadstring('\\27Lua') return {err = err}")
    assert result == LuaSuccess({"err": "load: binary chunks are not allowed"}, "user.lua")


def test_loaded_source_shares_the_sandbox() -> None:
    result, _ = run("return {loadstring('return type(os), obj.x')()}", {"x": 7})
    assert isinstance(result, LuaSuccess) and result.value == ["nil", 7]


def test_python_attributes_are_hidden() -> None:
    f = failure("return {json.encode.__globals__}", "runtime")
    assert "encode" in f.detail


def test_huge_output() -> None:
    f = failure("local s = string.rep('x', 100000) local t = {} for i = 1, 20 do t[i] = s end return t", "output")
    assert f.detail == f"output larger than {1 << 20} bytes"


def test_huge_json_encode_returns_an_error() -> None:
    result, _ = run("local s = string.rep('x', 2000000) local v, err = json.encode({s}) return {err = err}")
    assert result == LuaSuccess({"err": f"output larger than {1 << 20} bytes"}, "user.lua")


@pytest.mark.parametrize(("source", "shape"), [
    ("return", "nil"), ("return 'x'", "string"), ("return 1", "number"), ("return true", "boolean"),
    ("return print", "function"),
])
def test_wrong_return_shape(source: str, shape: str) -> None:
    f = failure(source, "output")
    assert f.detail == f"expect table output from Lua script, not {shape}"


def test_syntax_and_runtime_errors_name_the_line() -> None:
    assert failure("x = ", "compile").detail.startswith("user.lua:1:")
    assert failure("\nerror('boom')", "runtime").detail == "user.lua:2: boom"


def test_error_with_a_table_value() -> None:
    assert failure("error({code = 1})", "runtime").detail == "error raised with a table value instead of a message"
    assert failure("error()", "runtime").detail == "error raised with a nil value instead of a message"


def test_fresh_vm_per_call() -> None:
    runner = LuaRunner()
    first = runner.run(LuaScript("a.lua", "counter = (counter or 0) + 1 return {counter}"), {})
    second = runner.run(LuaScript("a.lua", "counter = (counter or 0) + 1 return {counter}"), {})
    assert first == second == LuaSuccess([1], "a.lua")


def test_obj_follows_the_input_rules() -> None:
    result, _ = run("return {n = obj.n, t = type(obj.n), absent = obj.none == nil, len = #obj.a}",
                    {"n": 3, "none": None, "a": ["x", "y"]})
    assert result == LuaSuccess({"n": 3, "t": "number", "absent": True, "len": 2}, "user.lua")


async def test_run_async_keeps_the_loop_serving() -> None:
    """A runaway on the worker thread: the loop keeps ticking every ~1 ms meanwhile."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    limits = LuaLimits(max_instructions=10**12, timeout=0.5)
    result = await LuaRunner(limits).run_async(LuaScript("u.lua", "while true do end"), {})
    task.cancel()
    assert isinstance(result, LuaFailure) and result.kind == "time"
    # Inline, the loop would not tick at all for 0.5 s; half of that leaves room for a loaded machine.
    assert len(gaps) > 20 and max(gaps) < 0.25, (len(gaps), max(gaps))


def test_vms_are_freed_without_the_cyclic_gc() -> None:
    """No reference cycle keeps a VM alive: closing dozens at once in a GC pass cost a 3 ms p99."""
    from lupa import lua51

    gc.collect()
    gc.disable()
    try:
        runner = LuaRunner()
        for _ in range(20):
            runner.run(LuaScript("x.lua", "return {json.decode('[1]'), json.encode({1})}"), {"a": [1]})
        assert sum(isinstance(o, lua51.LuaRuntime) for o in gc.get_objects()) == 0
    finally:
        gc.enable()


AT_THE_CAP = {
    "large obj": ("return {1}", "{'items': [{'name': 'n%d' % i, 'v': 'x' * 20} for i in range(100000)]}"),
    "json.decode past the cap": (
        "local p = {} for i = 1, 60000 do p[i] = '{\"a\":[1,2,3]}' end "
        "local v, err = json.decode('[' .. table.concat(p, ',') .. ']') return {err}", "{}"),
    "returns a table at the cap": (
        "local t, ok = {}, true while ok do ok = pcall(function() t[#t + 1] = string.rep('x', 999) .. #t end) end "
        "return t", "{}"),
    "json.encode at the cap": (
        "local t, ok = {}, true while ok do ok = pcall(function() t[#t + 1] = string.rep('y', 999) .. #t end) end "
        "return {json.encode(t)}", "{}"),
}


@pytest.mark.parametrize("case", sorted(AT_THE_CAP))
def test_memory_cap_never_panics_the_process(case: str) -> None:
    """An allocation failing outside a protected call is a Lua panic: the process exits. Run in a
    child process so that a regression fails this test instead of killing the suite."""
    source, obj = AT_THE_CAP[case]
    code = ("from rollouts.lua import LuaRunner, LuaScript, LuaSuccess, LuaFailure\n"
            f"r = LuaRunner().run(LuaScript('s.lua', {source!r}), {obj})\n"
            "print(type(r).__name__, getattr(r, 'kind', ''))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split()[0] in ("LuaSuccess", "LuaFailure"), proc.stdout
