"""Admission latency of the Rollout validating webhook under a steady request rate.

What it measures: wall-clock time from sending an AdmissionReview to having the decoded answer, for
``/validate-rollouts-kruise-io-rollout`` served by ``webhooks.server.WebhookServer`` over TLS, at a
fixed open-loop rate (default 200 requests/second — requests are sent on schedule whether or not
earlier ones finished, so queueing shows up in the tail). The server runs in a separate process (as
in production the API server and the operator do not share an event loop); the client keeps TLS
connections alive like the API server's webhook client. Valid and invalid Rollouts alternate so both
the allow and the deny (422, aggregated field errors) paths are timed. No lister is configured, so
the figures are the handler + wire cost without cache lookups.

Two CPU figures are printed besides the latencies: the server process's CPU per request over TLS
(includes aiohttp, TLS and the kernel's socket work, and is inflated when the machine is busy), and
the in-process CPU per request of ``WebhookServer.respond`` — review decode, validation, encode, no
HTTP or TLS — which is insensitive to load and is the part our code controls.

Run: ``.venv/bin/python bench/webhook_bench.py [--rate 200] [--seconds 10] [--inprocess 5000]``.
Target: p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import multiprocessing
import os
import socket
import ssl
import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from runtime.logging import configure_logging
from webhooks import certs, configs
from webhooks.certdir import write_dir
from webhooks.server import HandlerRegistry, WebhookServer
from webhooks.settings import WebhookSettings
from webhooks.validating_rollout import RolloutValidator

#: A partition Rollout: canary style and traffic routing are refused until built (rollouts/api/unsupported.py).
VALID: dict[str, Any] = {
    "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
    "metadata": {"name": "demo", "namespace": "bench", "uid": "1"},
    "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echo"},
             "strategy": {"canary": {"steps": [{"replicas": 1, "pause": {}},
                                               {"replicas": "50%", "pause": {"duration": 60}},
                                               {"replicas": "100%"}]}}},
}


def _invalid() -> dict[str, Any]:
    bad = copy.deepcopy(VALID)
    bad["spec"]["strategy"]["canary"]["steps"][1]["replicas"] = "150%"
    return bad


def _review(i: int, obj: dict[str, Any]) -> bytes:
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": f"req-{i}", "operation": "CREATE", "name": "demo", "namespace": "bench",
                                   "kind": {"group": "rollouts.kruise.io", "version": "v1beta1", "kind": "Rollout"},
                                   "resource": {"group": "rollouts.kruise.io", "version": "v1beta1",
                                                "resource": "rollouts"},
                                   "object": obj}}).encode()


def _quiet_logs() -> None:
    """The manager's own logging set-up at its default level (info), so whatever the per-request
    debug line costs when it is *not* written is measured as in production."""
    configure_logging(level="info")


def _server(port: int, cert_dir: str) -> WebhookServer:
    registry = HandlerRegistry()
    registry.validating(configs.PATH_VALIDATE_ROLLOUT, RolloutValidator())
    return WebhookServer(registry, WebhookSettings(host="127.0.0.1", port=port, cert_dir=cert_dir))


def _inprocess_cpu_ms(requests: int) -> float:
    """CPU ms per request of the server's own work (``respond``), valid and invalid alternating."""
    server = _server(0, "")
    bodies = [_review(i, VALID if i % 2 == 0 else _invalid()) for i in range(2)]

    async def run(n: int) -> float:
        for i in range(200):  # warm the decoder caches
            await server.respond(configs.PATH_VALIDATE_ROLLOUT, bodies[i % 2])
        started = time.process_time()
        for i in range(n):
            await server.respond(configs.PATH_VALIDATE_ROLLOUT, bodies[i % 2])
        return (time.process_time() - started) * 1000 / n

    return asyncio.run(run(requests))


def _serve(cert_dir: str, port: int, ready: Any, cpu: Any) -> None:
    """Server process; ``cpu.value`` is kept at its CPU seconds so far (a contention-free cost figure)."""
    _quiet_logs()

    async def main() -> None:
        server = _server(port, cert_dir)
        await server.start()
        ready.set()
        while True:
            cpu.value = time.process_time()
            await asyncio.sleep(0.05)

    asyncio.run(main())


async def _load(port: int, ca: bytes, rate: float, seconds: float) -> tuple[list[float], int]:
    ctx = ssl.create_default_context(cadata=ca.decode())
    url = f"https://127.0.0.1:{port}{configs.PATH_VALIDATE_ROLLOUT}"
    bodies = [_review(i, VALID if i % 2 == 0 else _invalid()) for i in range(2)]
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=64)) as session:
        async def one(i: int) -> None:
            nonlocal errors
            started = time.perf_counter()
            async with session.post(url, data=bodies[i % 2], headers={"Content-Type": "application/json"}) as r:
                out = await r.json()
            latencies.append((time.perf_counter() - started) * 1000)
            if out["response"]["allowed"] != (i % 2 == 0):
                errors += 1

        for i in range(50):  # warm up connections and code paths
            await one(i)
        latencies.clear()
        total = int(rate * seconds)
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies, errors


def _machine_busy_s() -> float | None:
    """CPU seconds all processes have used since boot (``/proc/stat``), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement duration")
    parser.add_argument("--inprocess", type=int, default=5000, metavar="N",
                        help="requests for the in-process CPU figure (0 skips it)")
    args = parser.parse_args()
    _quiet_logs()
    inprocess_ms = _inprocess_cpu_ms(args.inprocess) if args.inprocess > 0 else None
    with tempfile.TemporaryDirectory() as cert_dir, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        material = certs.generate("127.0.0.1", datetime.now(UTC))
        write_dir(cert_dir, material, datetime.now(UTC))
        ready = multiprocessing.Event()
        cpu = multiprocessing.Value("d", 0.0)
        proc = multiprocessing.Process(target=_serve, args=(cert_dir, port, ready, cpu), daemon=True)
        proc.start()
        try:
            if not ready.wait(30):
                raise SystemExit("webhook server did not start")
            time.sleep(0.1)
            cpu_before, busy_before, own_before, wall_before = (
                cpu.value, _machine_busy_s(), time.process_time(), time.monotonic())
            latencies, errors = asyncio.run(_load(port, material.ca_cert, args.rate, args.seconds))
            busy_after, own_after, wall = _machine_busy_s(), time.process_time(), time.monotonic() - wall_before
            time.sleep(0.1)
            server_cpu_ms = (cpu.value - cpu_before) * 1000 / (len(latencies) + 50)
            # What the rest of the machine used meanwhile: the load average lags by a minute and misses
            # short bursts (a test starting a control plane), which is what ruins a p99.
            others = (None if busy_before is None or busy_after is None else
                      (busy_after - busy_before - (own_after - own_before) - (cpu.value - cpu_before)) / wall)
        finally:
            proc.terminate()
            proc.join(5)
    print(f"validating webhook /validate-rollouts-kruise-io-rollout over TLS, {args.rate:g} req/s open loop, "
          f"{len(latencies)} requests ({errors} wrong answers)")
    print(f"latency ms: p50 {_pct(latencies, 50):.2f}  p90 {_pct(latencies, 90):.2f}  "
          f"p99 {_pct(latencies, 99):.2f}  max {max(latencies):.2f}  mean {statistics.fmean(latencies):.2f}")
    if inprocess_ms is not None:
        print(f"server CPU per request in-process (review decode + validation + encode, no HTTP/TLS; "
              f"{args.inprocess} requests): {inprocess_ms:.3f} ms")
    print(f"server CPU per request over TLS (incl. 50 warm-up): {server_cpu_ms:.3f} ms; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (contention inflates the tail)")
    if others is not None:
        print(f"CPU used by other processes during the run: {max(others, 0.0):.2f} cores "
              f"(of {os.cpu_count()}; ~0 on a quiet machine)")
    print(f"target p99 <= 5 ms: {'met' if _pct(latencies, 99) <= 5.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
