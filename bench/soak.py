"""Soak benchmark (issue 14 item 3): continuous releases for a while; does anything grow with time?

Usage (repo root, project venv; a fresh local control plane unless ``--kubeconfig``):
    .venv/bin/python bench/soak.py --rollouts 50 --minutes 30 [--tracemalloc]

What it does:

1. starts the manager (``bench/scale.py``'s start-up) through ``bench/soak_manager.py``, the
   production entry point plus a sampler thread that reports the manager's Python heap and the size
   of its informer caches and work queues (the manager has no such figures of its own);
2. creates N Deployments (1–3 replicas) with N Rollouts, alternately a multi-batch canary
   (``1`` / ``50%`` / ``100%``) and a canary with nginx traffic routing (``20%`` / ``50%`` / ``100%``
   traffic, its own Service and Ingress), and waits for all to be Healthy;
3. for ``--minutes``: every Rollout is released again and again: a template edit, an approval of
   each paused step as soon as it is seen, ``Healthy``/``Completed``, ``--gap`` seconds, the next edit.
   A release whose Rollout state does not change for ``--stuck`` seconds is reported at once
   (``STUCK``, with the status) and fails the run (exit 1 at the end); the soak keeps going so the
   memory figures are still taken, and says whether and when that release finished after all;
4. every ``--interval`` seconds a row: manager RSS (``/proc``), the heap figures, cache objects,
   the number of series on ``/metrics``, the machine's load average and the releases completed;
5. the verdict: the least-squares slope of RSS over the last two thirds of the run, in KiB/min,
   with first/last/max; ``flat`` when that slope times the window stays under ``--flat-mib``.
   With ``--tracemalloc`` the manager traces allocations (slower, and its RSS includes the traces),
   and the top allocation-site growth between one third of the run and its end is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "deploy")]

import scale  # noqa: E402

from rollouts.cli.commands import approved_body  # noqa: E402
from rollouts.controllers.common import ROLLOUTS  # noqa: E402
from runtime.kube.client import KubeClient  # noqa: E402
from runtime.kube.errors import ApiError, Conflict  # noqa: E402
from runtime.kube.resources import DEPLOYMENTS, INGRESSES, NAMESPACES, SERVICES  # noqa: E402
from tests.e2e.harness import ManagerProcess  # noqa: E402

NS = "soak"
LABEL = "bench.kruise.io/soak"
STEPS = 3
POLL_SECONDS = 2.0
REVISION_HISTORY = 2


def say(msg: str) -> None:
    print(msg, flush=True)


# pure parts (unit-tested) ----------------------------------------------------------------------
def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` points, in value per minute (0 with < 2 points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / var


def verdict(rss: list[tuple[float, float]], flat_mib: float) -> dict[str, Any]:
    """RSS ``(seconds, MiB)`` samples → slope over the last two thirds (KiB/min), first/last/max, flat?

    The first third is left out: caches fill, pools and arenas reach their working size there.
    ``flat`` when the fitted growth over the window (slope × window minutes) is under ``flat_mib``.
    """
    if not rss:
        return {"samples": 0, "flat": False, "why": "no samples"}
    tail = rss[len(rss) // 3:]
    kib_min = slope_per_minute([(t, v * 1024) for t, v in tail])
    window_min = (tail[-1][0] - tail[0][0]) / 60
    growth_mib = kib_min * window_min / 1024
    values = [v for _, v in rss]
    return {"samples": len(rss), "first_mib": round(values[0], 1), "last_mib": round(values[-1], 1),
            "max_mib": round(max(values), 1), "slope_kib_per_min": round(kib_min, 1),
            "window_min": round(window_min, 1), "fitted_growth_mib": round(growth_mib, 2),
            "flat": len(tail) >= 3 and growth_mib < flat_mib}


@dataclass
class Release:
    """One Rollout's release cycle as seen by the soak: edit → approve each pause → Completed."""

    ns: str
    name: str
    version: int = 1
    approved: dict[int, float] = field(default_factory=dict)  # step index → when approved
    editing_since: float | None = None  # set after an edit: the release in flight
    idle_since: float = 0.0  # when the last release completed (the gap runs from here)
    last_state: tuple[Any, ...] = ()
    changed_at: float = 0.0

    def observe(self, state: tuple[Any, ...], now: float) -> None:
        if state != self.last_state:
            self.last_state, self.changed_at = state, now

    def stuck_for(self, now: float) -> float:
        return now - self.changed_at if self.editing_since is not None else 0.0


def next_action(rel: Release, status: dict[str, Any], now: float, gap: float, reapprove: float) -> str:
    """``release`` | ``approve`` | ``done`` | ``wait`` for one Rollout from its listed status."""
    phase, idx, state = status.get("phase"), status.get("currentStepIndex"), status.get("currentStepState")
    if rel.editing_since is None:
        return "release" if now - rel.idle_since >= gap and phase == "Healthy" else "wait"
    if state == "StepPaused" and isinstance(idx, int) and idx < STEPS:
        at = rel.approved.get(idx)
        return "approve" if at is None or now - at > reapprove else "wait"
    if phase == "Healthy" and (idx, state) == (STEPS, "Completed") and len(rel.approved) == STEPS - 1:
        return "done"
    return "wait"


# objects ---------------------------------------------------------------------------------------
def objects(i: int) -> list[tuple[Any, dict[str, Any]]]:
    name = f"app-{i}"
    dep = scale.deployment(NS, name, 1 + i % 3)
    dep["metadata"]["labels"] = {LABEL: "1"}
    # every release makes a ReplicaSet and the Deployment keeps 10 old ones by default: the cluster (and
    # so the caches) would grow for the first ~10 releases of each Rollout, whatever the manager does
    dep["spec"]["revisionHistoryLimit"] = REVISION_HISTORY
    canary: dict[str, Any] = {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}
    out: list[tuple[Any, dict[str, Any]]] = [(DEPLOYMENTS, dep)]
    if i % 2:
        canary = {"steps": [{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"},
                            {"replicas": "100%"}],
                  "trafficRoutings": [{"service": name, "ingress": {"name": name, "classType": "nginx"},
                                       "gracePeriodSeconds": 1}]}
        out += [(SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
                            "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": name}}}),
                (INGRESSES, {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                             "metadata": {"name": name, "namespace": NS},
                             "spec": {"ingressClassName": "nginx", "rules": [{"host": f"{name}.local", "http": {
                                 "paths": [{"path": "/", "pathType": "Prefix", "backend": {
                                     "service": {"name": name, "port": {"number": 80}}}}]}}]}})]
    out.append((ROLLOUTS, {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
                           "metadata": {"name": name, "namespace": NS, "labels": {LABEL: "1"}},
                           "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                                    "strategy": {"canary": canary}}}))
    return out


async def create_all(client: KubeClient, n: int) -> None:
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    await asyncio.sleep(1)  # the namespace's default ServiceAccount

    async def one(i: int) -> None:
        for res, body in objects(i):
            await client.create(res, body, NS)

    await scale.bounded(range(n), one, workers=8)


async def listed(client: KubeClient) -> dict[str, dict[str, Any]]:
    return {ro["metadata"]["name"]: ro for ro in await scale.list_all(client, ROLLOUTS)
            if ro["metadata"].get("namespace") == NS}


# the release loop ------------------------------------------------------------------------------
@dataclass
class Soak:
    client: KubeClient
    o: argparse.Namespace
    releases: dict[str, Release]
    completed: int = 0
    retried: int = 0
    stuck: dict[str, dict[str, Any]] = field(default_factory=dict)  # "name vN" → what was seen

    async def release(self, rel: Release) -> None:
        rel.version += 1
        body = {"spec": {"template": {"spec": {"containers": [
            {"name": "main", "env": [{"name": "VERSION", "value": f"v{rel.version}"}]}]}}}}
        await self.call(lambda: self.client.patch(DEPLOYMENTS, rel.name, body, NS, patch_type="strategic"))
        rel.editing_since, rel.approved = time.monotonic(), {}

    async def approve(self, rel: Release, idx: int) -> None:
        async def once() -> None:
            ro = await self.client.get(ROLLOUTS, rel.name, NS)
            st = ro.get("status") or {}
            if (st.get("currentStepIndex"), st.get("currentStepState")) == (idx, "StepPaused"):
                await self.client.update_status(ROLLOUTS, approved_body(ro))

        await self.call(once)
        rel.approved[idx] = time.monotonic()

    async def call(self, fn: Any) -> None:
        for attempt in range(10):
            try:
                await fn()
                return
            except ApiError as e:
                self.retried += 1
                if attempt == 9 or not isinstance(e, Conflict) and attempt >= 4:
                    raise
                await asyncio.sleep(0.5)

    async def tick(self) -> None:
        now = time.monotonic()
        ros = await listed(self.client)
        jobs = []
        for name, rel in self.releases.items():
            st = (ros.get(name) or {}).get("status") or {}
            rel.observe((st.get("phase"), st.get("currentStepIndex"), st.get("currentStepState"), st.get("message")),
                        now)
            key = f"{name} v{rel.version}"
            if rel.stuck_for(now) > self.o.stuck and key not in self.stuck:
                self.stuck[key] = {"since_edit_s": round(now - (rel.editing_since or now)), "status": st}
                say(f"STUCK: Rollout {NS}/{name} (release v{rel.version}) unchanged for {self.o.stuck:g} s: "
                    f"{json.dumps(st)}")
            action = next_action(rel, st, now, self.o.gap, reapprove=30.0)
            if action == "release":
                jobs.append(self.release(rel))
            elif action == "approve":
                jobs.append(self.approve(rel, st["currentStepIndex"]))
            elif action == "done":
                if key in self.stuck:
                    self.stuck[key]["finished_after_s"] = round(now - (rel.editing_since or now))
                rel.editing_since, rel.idle_since = None, now
                self.completed += 1
        await scale.bounded(jobs, lambda job: job, workers=8)

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            await self.tick()
            await asyncio.sleep(POLL_SECONDS)


# sampling --------------------------------------------------------------------------------------
def series_count(mgr: ManagerProcess) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{mgr.health_port}/metrics", timeout=10) as r:
        return sum(1 for line in r.read().decode().splitlines() if line and not line.startswith("#"))


def last_stats(path: Path) -> dict[str, Any]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return {}
    return json.loads(lines[-1]) if lines else {}


def row(t: float, pid: int, mgr: ManagerProcess, stats: dict[str, Any], soak: Soak) -> dict[str, Any]:
    informers = stats.get("informers") or {}
    queues = stats.get("queues") or {}
    return {"t_s": round(t), "rss_mib": round(scale.rss_mib(pid), 1), "cpu_s": round(scale.cpu_seconds(pid), 1),
            "gc_objects": stats.get("gc_objects"), "traced_mib": round(stats.get("traced_bytes", 0) / 2**20, 1),
            "cache_objects": sum(v["objects"] for v in informers.values()),
            "index_entries": sum(v["index_entries"] for v in informers.values()),
            "queue_entries": sum(sum(q.values()) for q in queues.values()),
            "metric_series": series_count(mgr), "releases": soak.completed, "stuck": len(soak.stuck),
            "load1": float(Path("/proc/loadavg").read_text().split()[0])}


COLUMNS = ("t_s", "rss_mib", "cpu_s", "gc_objects", "traced_mib", "cache_objects", "index_entries",
           "queue_entries", "metric_series", "releases", "stuck", "load1")


def table_line(r: dict[str, Any]) -> str:
    return "  ".join(f"{r[c]!s:>{max(len(c), 7)}}" for c in COLUMNS)


async def sample_loop(pid: int, mgr: ManagerProcess, stats: Path, soak: Soak, t0: float, rows: list,
                      interval: float) -> None:
    say("  ".join(f"{c:>{max(len(c), 7)}}" for c in COLUMNS))
    while True:
        r = row(time.monotonic() - t0, pid, mgr, last_stats(stats), soak)
        rows.append(r)
        say(table_line(r))
        await asyncio.sleep(interval)


async def request_snapshot(workdir: Path, label: str, timeout: float = 120) -> None:  # noqa: ASYNC109
    """Ask the manager's sampler for a heap dump now (a request file) and wait until it is written."""
    (workdir / f"request-{label}").touch()
    done = workdir / f"types-{label}.json"
    t0 = time.monotonic()
    # the dump is written by another process: there is no event to await, only the file to poll
    while not done.exists() and time.monotonic() - t0 < timeout:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    if not done.exists():
        say(f"no heap dump {label!r} after {timeout:g} s")


def heap_diff(workdir: Path, first: str, last: str) -> dict[str, Any]:
    """Top growth between two of the launcher's dumps: allocation sites (tracemalloc) and object types."""
    out: dict[str, Any] = {}
    a, b = workdir / f"snap-{first}.tracemalloc", workdir / f"snap-{last}.tracemalloc"
    if a.exists() and b.exists():
        stats = tracemalloc.Snapshot.load(str(b)).compare_to(tracemalloc.Snapshot.load(str(a)), "lineno")
        grown = sorted((s for s in stats if s.size_diff > 0), key=lambda s: -s.size_diff)
        out["sites"] = [f"{s.size_diff / 1024:+.1f} KiB {s.count_diff:+d} blocks {s.traceback}" for s in grown[:15]]
    ta, tb = workdir / f"types-{first}.json", workdir / f"types-{last}.json"
    if ta.exists() and tb.exists():
        ca, cb = json.loads(ta.read_text()), json.loads(tb.read_text())
        growth = sorted(((cb.get(k, 0) - ca.get(k, 0), k) for k in set(ca) | set(cb)), reverse=True)
        out["types"] = [f"{d:+d} {k}" for d, k in growth[:15]]
    return out


async def soak(kubeconfig: str, o: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    stats = workdir / "stats.jsonl"
    run_s = o.minutes * 60
    env = {"SOAK_STATS_FILE": str(stats), "SOAK_INTERVAL": str(min(5.0, o.interval)),  # a row reads a fresh line
           "SOAK_TRACEMALLOC": "1" if o.tracemalloc else "0"}
    res: dict[str, Any] = {"rollouts": o.rollouts, "minutes": o.minutes, "cpus": os.cpu_count(),
                           "tracemalloc": o.tracemalloc, "workdir": str(workdir)}
    async with scale.manager_and_client(kubeconfig, "bench-soak-", module="bench.soak_manager", env=env) as (
            mgr, client):
        assert mgr.proc is not None
        res["manager_log"] = str(mgr.log_path)
        t_create = time.monotonic()
        await create_all(client, o.rollouts)
        await wait_healthy(client, o.rollouts)
        res["healthy_s"] = round(time.monotonic() - t_create, 1)
        say(f"{o.rollouts} Rollouts Healthy after {res['healthy_s']} s; releasing for {o.minutes:g} min")
        t0 = time.monotonic()
        runner = Soak(client, o, {f"app-{i}": Release(NS, f"app-{i}") for i in range(o.rollouts)})
        rows: list[dict[str, Any]] = []
        sampler = asyncio.create_task(sample_loop(mgr.proc.pid, mgr, stats, runner, t0, rows, o.interval))
        try:
            await runner.run(t0 + run_s / 3)
            await request_snapshot(workdir, "third")
            await runner.run(t0 + run_s)
            await request_snapshot(workdir, "end")
        finally:
            sampler.cancel()
            rows.append(row(time.monotonic() - t0, mgr.proc.pid, mgr, last_stats(stats), runner))
            say(table_line(rows[-1]))
        res["releases_completed"] = runner.completed
        res["retried_calls"] = runner.retried
        res["stuck"] = runner.stuck
        res["load1_mean"] = round(sum(r["load1"] for r in rows) / len(rows), 1)
        res["rows"] = rows
        res["verdict"] = verdict([(r["t_s"], r["rss_mib"]) for r in rows], o.flat_mib)
        res["heap_verdict"] = verdict([(r["t_s"], r["traced_mib"]) for r in rows], o.flat_mib) \
            if o.tracemalloc else None
        res["heap_diff"] = heap_diff(workdir, "third", "end")
    return res


async def wait_healthy(client: KubeClient, n: int, timeout: float = 600) -> None:  # noqa: ASYNC109
    t0 = time.monotonic()
    while True:
        ros = await listed(client)
        ok = sum(1 for ro in ros.values() if scale.healthy(ro))
        if ok >= n:
            return
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{ok}/{n} Healthy after {timeout:g} s")
        await asyncio.sleep(POLL_SECONDS)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rollouts", type=int, default=50)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    p.add_argument("--gap", type=float, default=10.0, help="seconds between a Rollout's Healthy and its next edit")
    p.add_argument("--stuck", type=float, default=300.0, help="a release unchanged this long fails the run")
    p.add_argument("--flat-mib", type=float, default=2.0, help="fitted growth over the window that still counts flat")
    p.add_argument("--tracemalloc", action="store_true", help="trace the manager's allocations (slower)")
    p.add_argument("--kubeconfig", help="existing cluster (default: a fresh local control plane)")
    o = p.parse_args()
    from localcluster.cluster import kubeconfig_or_local

    # a background job's SIGINT is ignored: let SIGTERM stop the manager and the cluster cleanly
    signal.signal(signal.SIGTERM, _interrupt)

    with kubeconfig_or_local(o.kubeconfig, nodes=3) as kubeconfig:
        res = asyncio.run(soak(kubeconfig, o))
    v = res["verdict"]
    say(f"releases completed: {res['releases_completed']} ({res['retried_calls']} retried calls); "
        f"load average (1 min) mean {res['load1_mean']} on {res['cpus']} CPUs")
    say(f"RSS: first {v.get('first_mib')} MiB, last {v.get('last_mib')} MiB, max {v.get('max_mib')} MiB; "
        f"slope over the last {v.get('window_min')} min: {v.get('slope_kib_per_min')} KiB/min "
        f"(fitted growth {v.get('fitted_growth_mib')} MiB) -> {'FLAT' if v.get('flat') else 'GROWS'}")
    if res.get("heap_verdict"):
        h = res["heap_verdict"]
        say(f"traced heap: first {h['first_mib']} MiB, last {h['last_mib']} MiB, "
            f"slope {h['slope_kib_per_min']} KiB/min")
    for line in (res.get("heap_diff") or {}).get("sites", []) + (res.get("heap_diff") or {}).get("types", []):
        say(f"  {line}")
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}))
    if res.get("stuck"):
        say(f"FAILED: {len(res['stuck'])} release(s) stuck: {json.dumps(res['stuck'])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
