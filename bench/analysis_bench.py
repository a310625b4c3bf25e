"""Metrics-analysis overhead: 100 Rollouts analysed at once against a real Prometheus.

Starts the tests' Prometheus (``localcluster.prometheus``, 1 s scrapes) and a test exporter serving one
``demo_error_ratio{version}`` series per Rollout, then runs ``rollouts.analysis.run.advance`` for N
Rollouts concurrently, each on its own 1 s interval, for DURATION seconds — the controller's work per
measurement minus its Kubernetes I/O (one GET of the template, a GET and a status PUT of the run:
see ``rollouts/controllers/rollout/analysis.py``). Prints queries/s achieved, the query latency
p50/p99 and this process's CPU seconds per query and per Rollout-second.

    .venv/bin/python bench/analysis_bench.py [--rollouts 100] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy")]

from localcluster.prometheus import PrometheusServer  # noqa: E402

from rollouts.analysis import prometheus  # noqa: E402
from rollouts.analysis import template as t  # noqa: E402
from rollouts.analysis.run import advance  # noqa: E402
from tests.promexporter import Exporter  # noqa: E402


def _template(address: str) -> t.TemplateSpec:
    return t.parse_template({"spec": {"actions": {"pass": "Wait"}, "checks": [{
        "name": "error-rate", "prometheus": {"address": address,
                                             "query": 'max(demo_error_ratio{version="{{canary_revision}}"})'},
        "successCondition": "result < 0.05", "intervalSeconds": 1, "count": 3}]}})


async def _rollout(i: int, spec: t.TemplateSpec, until: float, latencies: list[float]) -> int:
    """One Rollout's analysis loop: advance, sleep until the next measurement is due."""
    status: dict[str, Any] = {}
    n = 0

    async def timed(address: str, promql: str, seconds: float) -> prometheus.Answer:
        t0 = time.perf_counter()
        answer = await prometheus.query(address, promql, seconds)
        latencies.append(time.perf_counter() - t0)
        return answer

    while time.monotonic() < until:
        decision, status = await advance(spec, status, {"canary_revision": f"r{i}"}, datetime.now(UTC), timed)
        n += 1
        if decision.action != t.WAIT:
            raise SystemExit(f"rollout {i}: verdict {decision.verdict} ({decision.message})")
        await asyncio.sleep(decision.requeue_after or 1.0)
    return n


async def _run(rollouts: int, duration: float, address: str) -> dict[str, float]:
    spec = _template(address)
    latencies: list[float] = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(_rollout(i, spec, wall0 + duration, latencies) for i in range(rollouts)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    lat = sorted(latencies)
    return {"queries": len(lat), "queries_per_s": len(lat) / wall, "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "cpu_ms_per_query": cpu / len(lat) * 1000,
            "cpu_share": cpu / wall, "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    exporter = Exporter()
    for i in range(args.rollouts):
        exporter.set("demo_error_ratio", {"version": f"r{i}"}, 0.01)
    with tempfile.TemporaryDirectory() as tmp:
        server = PrometheusServer(Path(tmp)).start({"bench": [exporter.address]})
        try:
            deadline = time.monotonic() + 30
            while len(server.query("demo_error_ratio")) < args.rollouts:  # the first scrape landed
                if time.monotonic() > deadline:
                    raise SystemExit("Prometheus did not scrape the exporter within 30 s")
                time.sleep(0.2)
            figures = asyncio.run(_run(args.rollouts, args.duration, server.url))
        finally:
            server.stop()
            exporter.close()
    print(f"{args.rollouts} Rollouts, 1 check each, 1 s interval, {figures['wall_s']:.0f} s:")
    f = figures
    print(f"  queries {f['queries']:.0f}, {f['queries_per_s']:.1f}/s; latency p50 {f['p50_ms']:.1f} ms,"
          f" p99 {f['p99_ms']:.1f} ms")
    print(f"  controller-side CPU {f['cpu_ms_per_query']:.2f} ms/query, {f['cpu_share'] * 100:.0f}% of one core")


if __name__ == "__main__":
    main()
