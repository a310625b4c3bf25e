"""Cost of the Lua traffic scripts (rollouts.lua) and how long a runaway script holds the event loop.

1. Per shipped script: wall and thread-CPU time of one ``LuaRunner.run`` (fresh VM, ``obj`` conversion, script,
   result conversion) on its first YAML test case; p50/p99 over ROUNDS calls.
2. The provider path per shipped Ingress script: one ``LuaIngressProvider.annotations`` call (models
   dumped to wire form, ``obj`` built, the script on a worker thread via ``run_async``, the result
   checked), awaited on the event loop; p50/p99 over ROUNDS calls. This is what a traffic step costs
   beyond its API calls. Beside it, ``initialize`` (the dry run every round starts with, the stable
   Ingress read from an in-memory stub) without and with the memory of successful dry runs
   (``rollouts.trafficrouting.dryrun``): a round costs ``initialize`` + ``annotations``.
3. Runaway user scripts (infinite loop, ``pcall``-wrapped loop, memory bomb, loop with the
   instruction limit lifted so the wall-clock limit must stop it): time until the call returns, and
   the longest gap of a 1 ms ticker on the event loop meanwhile, both when the call runs inline on
   the loop (``run``) and on a worker thread (``run_async``).

    .venv/bin/python bench/lua_bench.py [--rounds 2000] [--only calls,provider,runaways]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

import yaml

from rollouts.api.common import HTTPHeaderFilter
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.lua import LuaFailure, LuaLimits, LuaRunner, LuaScript, LuaSuccess
from rollouts.lua.scripts import ingress_script, shipped_scripts
from rollouts.trafficrouting.dryrun import DryRunCache
from rollouts.trafficrouting.luaingress import LuaIngressProvider

RUNAWAYS = {
    "while true do end": ("while true do end", LuaLimits()),
    "pcall-wrapped loop": ("while true do pcall(function() while true do end end) end", LuaLimits()),
    "memory bomb (s = s .. s)": ("local s = 'x' while true do s = s .. s end", LuaLimits()),
    "table growth": ("local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end", LuaLimits()),
    "loop, instruction limit lifted (time limit stops it)": ("while true do end", LuaLimits(max_instructions=10**12)),
}


def _first_case(script: str) -> dict:
    root = Path(str(resources.files("lua_scripts")))
    folder = Path(script).parent
    pattern = f"{Path(script).stem}.yaml" if folder.name == "trafficrouting_ingress" else "*.yaml"
    path = sorted((root / folder / "testdata").glob(pattern))[0]
    return yaml.safe_load(path.read_text())[0]["obj"]


def per_call(rounds: int) -> None:
    print(f"{'script':58s} {'p50 µs':>8s} {'p99 µs':>8s} {'CPU p50':>8s} {'CPU p99':>8s}")
    for name, source in sorted(shipped_scripts().items()):
        runner, script, obj = LuaRunner(), LuaScript(name, source), _first_case(name)
        assert isinstance(runner.run(script, obj), LuaSuccess)
        wall, cpu = [], []
        for _ in range(rounds):
            start, start_cpu = time.perf_counter(), time.thread_time()
            runner.run(script, obj)
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
        q, c = statistics.quantiles(wall, n=100), statistics.quantiles(cpu, n=100)
        print(f"{name:58s} {q[49] * 1e6:8.0f} {q[98] * 1e6:8.0f} {c[49] * 1e6:8.0f} {c[98] * 1e6:8.0f}")


class _StableIngress:
    """The one read ``initialize`` makes, answered from memory (the bench measures Lua, not the API)."""

    def __init__(self, annotations: dict[str, str]) -> None:
        self.ingress = {"metadata": {"name": "echoserver", "annotations": annotations}}

    async def get(self, resource: object, name: str, namespace: str | None = None) -> dict:
        return self.ingress


async def _quantiles(call: Callable[[], Awaitable[object]], rounds: int) -> tuple[float, float]:
    wall = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        wall.append(time.perf_counter() - start)
    q = statistics.quantiles(wall, n=100)
    return q[49] * 1e6, q[98] * 1e6


async def _provider_class(class_type: str, runner: LuaRunner, rounds: int) -> str:
    """One row: the step's annotations, then ``initialize`` without and with the dry-run memory."""
    obj = _first_case(f"trafficrouting_ingress/{class_type}.lua")
    script = ingress_script(class_type, None, namespace="kruise-rollout")
    current = obj.get("annotations") or {}

    def build(dry_runs: DryRunCache | None) -> LuaIngressProvider:
        return LuaIngressProvider(
            _StableIngress(current), script=script, runner=runner,  # type: ignore[arg-type]  # get() only
            class_type=class_type, namespace="default", ingress="echoserver", stable_service="echoserver",
            canary_service=obj.get("canaryService", "echoserver-canary"), owner_ref={}, where="steps[0]",
            ref_field="trafficRoutings[0]", dry_runs=dry_runs)

    provider, remembering = build(None), build(DryRunCache())
    weight = None if obj.get("weight", "-1") == "-1" else int(obj["weight"])
    matches = [from_dict(HttpRouteMatch, m) for m in obj.get("matches") or []]
    modifier = obj.get("requestHeaderModifier")
    header_modifier = from_dict(HTTPHeaderFilter, modifier) if modifier else None
    step = await _quantiles(lambda: provider.annotations(current, weight=weight, matches=matches,
                                                         header_modifier=header_modifier), rounds)
    dry = await _quantiles(provider.initialize, rounds)
    remembered = await _quantiles(remembering.initialize, rounds)
    cells = " ".join(f"{p50:6.0f} /{p99:6.0f}" for p50, p99 in (step, dry, remembered))
    return f"{'trafficrouting_ingress/' + class_type + '.lua':42s} {cells}"


async def provider_path(rounds: int) -> None:
    """The Ingress provider's annotation step and its dry run per shipped class, on its first testdata case."""
    print(f"\n{'provider path, p50 / p99 µs':42s} {'annotations':>14s} {'initialize':>14s} "
          f"{'init, memory':>14s}")
    runner = LuaRunner()
    for class_type in ("nginx", "aliyun-alb", "higress", "mse"):
        print(await _provider_class(class_type, runner, rounds))


async def _stall(source: str, limits: LuaLimits, *, threaded: bool) -> tuple[float, float, str]:
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    runner, script = LuaRunner(limits), LuaScript("runaway.lua", source)
    start = time.perf_counter()
    result = await runner.run_async(script, {}) if threaded else runner.run(script, {})
    stopped = time.perf_counter() - start
    await asyncio.sleep(0.005)
    task.cancel()
    kind = result.kind if isinstance(result, LuaFailure) else "NOT STOPPED"
    return stopped, max(gaps), kind


async def runaways(repeats: int) -> None:
    print(f"\n{'runaway script':54s} {'mode':7s} {'stopped ms (max)':>17s} {'loop stall ms (max)':>20s}  kind")
    for label, (source, limits) in RUNAWAYS.items():
        for threaded in (False, True):
            runs = [await _stall(source, limits, threaded=threaded) for _ in range(repeats)]
            print(f"{label:54s} {'thread' if threaded else 'inline':7s} {max(r[0] for r in runs) * 1e3:17.1f} "
                  f"{max(r[1] for r in runs) * 1e3:20.1f}  {runs[0][2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5, help="runs per runaway case (the max is reported)")
    parser.add_argument("--only", default="calls,provider,runaways", help="comma-separated parts to run")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "calls" in parts:
        per_call(args.rounds)
    if "provider" in parts:
        asyncio.run(provider_path(args.rounds))
    if "runaways" in parts:
        asyncio.run(runaways(args.repeats))


if __name__ == "__main__":
    main()
