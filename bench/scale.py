"""Scale benchmark (issue 14): N Rollouts, each with its Deployment, on one manager replica.

Usage (repo root, project venv; a fresh local control plane unless ``--kubeconfig``):
    .venv/bin/python bench/scale.py --rollouts 1000 --namespaces 1
    .venv/bin/python bench/scale.py --rollouts 1000 --namespaces 100

What it does and prints (one ``figure: value`` line each, then one JSON object):

1. starts the manager as a subprocess (``--local-cluster --no-leader-elect``, default flags);
2. creates ``--namespaces`` namespaces and N Deployments (1–3 replicas, kwok marks the pods Ready)
   and N v1beta1 Rollouts (partition style, steps ``1`` then ``100%``, the first one paused), 32 at a
   time. ``admission_create`` is each Rollout CREATE's round trip seen by the client (API server +
   our validating webhook + etcd): an outside view of admission while the cluster fills;
   ``deployment_create`` the same for the Deployments (no Rollout webhook): the baseline;
3. ``healthy_s``: from the first create until every Rollout reports ``phase: Healthy``;
4. ``webhook_direct``: AdmissionReviews POSTed straight to the webhook server with all N Rollouts
   present (a new Rollout for a free workload, and one conflicting with an existing Rollout, the
   path that confirms on the API server): the webhook's own p50/p99, once right after the last
   Healthy (``webhook_direct_draining``: the controllers still work on the same event loop) and once
   after the idle period (``webhook_direct``);
5. the manager's RSS (``/proc``) before the objects and with them, per Rollout; ``cache_heap``: the
   tracemalloc bytes of informer caches holding the same objects as the manager's (same transforms,
   same indexes), built in *this* process from one LIST of each kind (the manager does not run
   tracemalloc: it would slow every allocation), per Rollout, with and without the transforms;
6. ``reconcile``: p50/p99 per controller from the manager's ``controller_runtime_reconcile_time_seconds``
   histogram (bucket upper bounds, so "≤"), read from its ``/metrics``;
7. ``idle_cpu``: the manager's CPU time over ``--idle`` seconds with everything Healthy, in % of a core;
8. ``burst``: ``--burst`` Deployments' templates edited at once; time until all those Rollouts are at
   step 1 ``StepPaused``; all approved at once (status update, as ``kubectl-kruise rollout approve``);
   time until all are ``Healthy``/``Completed``.

The local nodes accept 1,000 pods each (``deploy/localcluster``): ``--nodes`` defaults to enough for
3 pods per Rollout. With ``--kubeconfig`` the namespaces are deleted at the end unless ``--keep``;
a throwaway cluster is just stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import re
import ssl
import sys
import tempfile
import time
import traceback
import tracemalloc
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy")]

from rollouts.cli.commands import approved_body  # noqa: E402
from rollouts.controllers.common import BATCHRELEASES, ROLLOUTS  # noqa: E402
from rollouts.objects import pod as podobj  # noqa: E402
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_ref_index  # noqa: E402
from runtime.cache import InformerSettings, SharedInformer  # noqa: E402
from runtime.kube.client import ClientSettings, KubeClient  # noqa: E402
from runtime.kube.errors import ApiError, Conflict  # noqa: E402
from runtime.kube.resources import DEPLOYMENTS, NAMESPACES, PODS, REPLICASETS, Resource  # noqa: E402
from runtime.testing import FakeListWatcher  # noqa: E402
from tests.e2e.harness import Kubectl, ManagerProcess, cleanup_cluster_registrations  # noqa: E402

LABEL = "bench.kruise.io/scale"
PODS_PER_NODE = 1000  # deploy/localcluster: every kwok node's pod capacity
CONCURRENCY = 32
POLL_SECONDS = 1.0


def say(msg: str) -> None:
    print(msg, flush=True)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))] if s else float("nan")


def summary_ms(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": round(pct(values, 50) * 1000, 2), "p99_ms": round(pct(values, 99) * 1000, 2),
            "max_ms": round(max(values) * 1000, 2) if values else float("nan")}


# objects ---------------------------------------------------------------------------------------
def names(i: int, namespaces: int) -> tuple[str, str]:
    return f"scale-{i % namespaces}", f"app-{i}"


def deployment(ns: str, name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {LABEL: "1"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": "nginx:1",
                                                           "env": [{"name": "VERSION", "value": "v1"}]}]}}}}


def rollout(ns: str, name: str, workload: str) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": name, "namespace": ns, "labels": {LABEL: "1"}},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
                     "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}}}


async def bounded(items: Iterable[Any], fn: Callable[[Any], Awaitable[None]], workers: int = CONCURRENCY) -> None:
    queue = list(items)[::-1]

    async def worker() -> None:
        while queue:
            await fn(queue.pop())

    await asyncio.gather(*(worker() for _ in range(workers)))


async def list_all(client: KubeClient, res: Resource) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for page in client.list_pages(res, None, label_selector=None, limit=500):
        out.extend(page.get("items") or [])
    return out


async def scale_rollouts(client: KubeClient) -> list[dict[str, Any]]:
    return [ro for ro in await list_all(client, ROLLOUTS) if (ro["metadata"].get("labels") or {}).get(LABEL)]


async def get_each(client: KubeClient, keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The burst's few Rollouts one GET each: a LIST of all 10,000 every second would load the API
    server (and this process) more than the 100 releases being timed."""
    out: list[dict[str, Any]] = []

    async def one(key: tuple[str, str]) -> None:
        out.append(await client.get(ROLLOUTS, key[1], key[0]))

    await bounded(keys, one)
    return out


def poll_seconds(n: int) -> float:
    """One LIST of every Rollout per poll: at 10,000 that is ~40 MB of JSON for the API server to
    encode and this process to decode, so the poll slows with N (1 s at 1,000, 10 s at 10,000) to
    keep the bench's own load off the figures it takes."""
    return max(POLL_SECONDS, n / 1000)


async def wait_rollouts(client: KubeClient, wanted: set[tuple[str, str]], ok: Callable[[dict], bool],
                        what: str, timeout: float, poll: float = POLL_SECONDS) -> float:  # noqa: ASYNC109
    t0 = time.monotonic()
    while True:
        ros = await (get_each(client, wanted) if len(wanted) <= 500 else scale_rollouts(client))
        done = sum(1 for ro in ros if (ro["metadata"]["namespace"], ro["metadata"]["name"]) in wanted and ok(ro))
        if done >= len(wanted):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{what}: {done}/{len(wanted)} after {timeout}s")
        await asyncio.sleep(poll)


def healthy(ro: dict) -> bool:
    return (ro.get("status") or {}).get("phase") == "Healthy"


def paused_at_step_1(ro: dict) -> bool:
    st = ro.get("status") or {}
    return (st.get("currentStepIndex"), st.get("currentStepState")) == (1, "StepPaused")


def completed(ro: dict) -> bool:
    st = ro.get("status") or {}
    return st.get("phase") == "Healthy" and (st.get("currentStepIndex"), st.get("currentStepState")) == (2, "Completed")


# the manager, from the outside -----------------------------------------------------------------
def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_pct_since(pid: int, cpu0: float, t0: float) -> float:
    """Percent of one core ``pid`` used since ``cpu_seconds(pid) == cpu0`` at ``time.monotonic() == t0``."""
    return 100 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)


def histograms(metrics_text: str, metric: str, label: str) -> dict[str, list[tuple[float, float]]]:
    """Cumulative buckets ``(le, count)`` of one histogram, by the value of ``label``, sorted by ``le``."""
    pattern = re.compile(rf'^{re.escape(metric)}_bucket\{{(?P<labels>[^}}]*)\}} (?P<v>\S+)$')
    buckets: dict[str, list[tuple[float, float]]] = {}
    for line in metrics_text.splitlines():
        m = pattern.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
        le = float("inf") if labels.get("le") == "+Inf" else float(labels.get("le", "nan"))
        buckets.setdefault(labels.get(label, "?"), []).append((le, float(m["v"])))
    return {k: sorted(v) for k, v in sorted(buckets.items()) if v and v[-1][1]}


def reconcile_percentiles(metrics_text: str, since: str | None = None) -> dict[str, dict[str, Any]]:
    """p50/p99 per controller from the cumulative histogram (the bucket bound holding the rank); with
    ``since`` (an earlier scrape), of the reconciles between the two scrapes only."""
    found = percentiles(metrics_text, "controller_runtime_reconcile_time_seconds", "controller", since)
    return {ctl: {"reconciles": v.pop("count"), **v} for ctl, v in found.items()}


def percentiles(metrics_text: str, metric: str, label: str, since: str | None = None) -> dict[str, dict[str, Any]]:
    """p50/p99 of a histogram by ``label`` (bucket bound and PromQL-style estimate); with ``since``, of the
    observations between the two scrapes only."""
    out = {}
    earlier = histograms(since, metric, label) if since is not None else {}
    for key, now in histograms(metrics_text, metric, label).items():
        before = dict(earlier.get(key, []))
        bs = [(le, c - before.get(le, 0.0)) for le, c in now]
        total = bs[-1][1]
        if not total:
            continue
        def at(q: float, bs: list[tuple[float, float]] = bs, total: float = total) -> str:
            return next(f"<= {le:g} s" for le, c in bs if c >= q * total)
        out[key] = {"count": int(total), "p50": at(0.5), "p99": at(0.99),
                    "p99_interpolated_s": interpolated(bs, 0.99)}
    return out


def burst_breakdown(after: str, before: str) -> dict[str, Any]:
    """Where a reconcile's time went during the burst: the API server's answers by verb, the client's own
    QPS budget by verb, and how late the event loop ran what was due (other work holding it)."""
    lag = percentiles(after, "python_asyncio_event_loop_lag_seconds", "", before)  # unlabelled: one group
    return {"api_request": percentiles(after, "rest_client_request_duration_seconds", "method", before),
            "client_throttle": percentiles(after, "rest_client_rate_limiter_duration_seconds", "method", before),
            "loop_lag": next(iter(lag.values()), {})}


def gc_pauses(metrics_text: str) -> dict[str, dict[str, Any]]:
    """Per generation: collections, the longest pause's bucket bound, and the total paused (from ``_sum``)."""
    sums = dict(re.findall(r'^python_gc_duration_seconds_sum\{generation="(\d)"\} (\S+)$', metrics_text, re.M))
    out = {}
    for gen, bs in histograms(metrics_text, "python_gc_duration_seconds", "generation").items():
        below = [le for (le, c), (_, prev) in zip(bs, [(0.0, 0.0), *bs[:-1]], strict=True) if c > prev]
        out[gen] = {"collections": int(bs[-1][1]), "longest_le_s": below[-1] if below else 0.0,
                    "total_s": round(float(sums.get(gen, "nan")), 3)}
    return out


def conversions(metrics_text: str) -> dict[str, int]:
    """Objects the conversion webhook converted so far, by desired version (the API server's watch
    cache of v1alpha1 converts every write; a re-list converts every Rollout at once)."""
    pattern = r'^kruise_rollout_conversion_objects_total\{desired_version="(\w+)"\} (\S+)$'
    found = re.findall(pattern, metrics_text, re.M)
    return {version: int(float(v)) for version, v in found}


def interpolated(buckets: list[tuple[float, float]], q: float) -> float:
    """PromQL's ``histogram_quantile``: linear inside the bucket holding the rank (an estimate, as the
    bucket bound is an upper bound: both are printed)."""
    total = buckets[-1][1]
    rank, lower, below = q * total, 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return lower
            return round(lower + (le - lower) * (rank - below) / max(count - below, 1e-9), 3)
        lower, below = le, count
    return float("nan")


def queue_work(metrics_text: str) -> tuple[float, float]:
    """Items waiting in every work queue, and reconciles done so far (all controllers)."""
    depth = sum(float(v) for v in re.findall(r'^workqueue_depth\{[^}]*\} (\S+)$', metrics_text, re.M))
    done = sum(float(v) for v in re.findall(r'^controller_runtime_reconcile_total\{[^}]*\} (\S+)$', metrics_text, re.M))
    return depth, done


async def until_drained(mgr: ManagerProcess, *, quiet: float = 10.0, timeout: float = 900.0) -> float:  # noqa: ASYNC109
    """Seconds until every queue is empty and no reconcile ran for ``quiet`` seconds: the idle figures
    are taken after this (Healthy Rollouts can still have reconciles queued at 10k)."""
    t0 = time.monotonic()
    last_done, since = -1.0, time.monotonic()
    while time.monotonic() - t0 < timeout:
        depth, done = queue_work(scrape(mgr))
        if depth or done != last_done:
            last_done, since = done, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return round(time.monotonic() - t0 - quiet, 1)
        await asyncio.sleep(1.0)
    return float("nan")


async def until_cpu_below(pid: int, pct: float, *, window: float = 10.0,
                          timeout: float = 1200.0) -> float:  # noqa: ASYNC109 - NaN at the deadline, not an error
    """Seconds until the manager used less than ``pct`` % of a core over one ``window``; NaN at ``timeout``.

    Why: right after a write storm at 10,000 the manager is still answering the API server's v1alpha1 watch
    cache, one conversion per write it has not converted yet, with no reconcile running (bench/RESULTS.md,
    eighth session). This says how long that lasts; the idle figures taken after it are the steady state.
    It reads /proc only: a ``/metrics`` scrape at 10,000 would itself cost the manager a second of CPU."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        c0, w0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(window)
        if cpu_pct_since(pid, c0, w0) < pct:
            return round(time.monotonic() - t0, 1)
    return float("nan")


async def profile(pid: int, seconds: float, out: Path, top: int = 25) -> list[str]:
    """``py-spy record`` of the manager for ``seconds`` (raw stacks in ``out``); the hottest frames,
    inclusive, our code only. What the idle CPU is spent on when it is not near zero."""
    spy = Path(sys.executable).with_name("py-spy")
    proc = await asyncio.create_subprocess_exec(str(spy), "record", "--pid", str(pid), "-d", str(int(seconds)),
                                                "-r", "50", "-f", "raw", "-o", str(out),
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"py-spy failed ({proc.returncode}): {err.decode()[-500:]}")
    return hottest(await asyncio.to_thread(out.read_text), top)


def hottest(raw: str, top: int) -> list[str]:
    """Inclusive share of samples per frame from py-spy's raw format (``a;b;c N`` lines)."""
    total, frames = 0, collections.Counter[str]()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        for frame in set(stack.split(";")):
            frames[frame] += int(n)
    ours = [(f, n) for f, n in frames.most_common() if any(d in f for d in ("rollouts/", "runtime/", "webhooks/"))]
    return [f"{100 * n / max(total, 1):5.1f} % {f}" for f, n in ours[:top]] + [f"({total} samples)"]


def scrape(mgr: ManagerProcess) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{mgr.health_port}/metrics", timeout=10) as r:
        return r.read().decode()


async def webhook_direct(mgr: ManagerProcess, ns: str, taken: str, rounds: int) -> dict[str, Any]:
    """POST AdmissionReviews to the webhook server (TLS not verified: latency only)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    url = f"https://127.0.0.1:{mgr.webhook_port}/validate-rollouts-kruise-io-rollout"
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        for case, workload in (("free_workload", "no-such-app"), ("conflict", taken)):
            obj = rollout(ns, "bench-probe", workload)
            review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": {"uid": "u", "kind": {"group": "rollouts.kruise.io", "version": "v1beta1",
                                                       "kind": "Rollout"},
                                  "resource": {"group": "rollouts.kruise.io", "version": "v1beta1",
                                               "resource": "rollouts"},
                                  "name": "bench-probe", "namespace": ns, "operation": "CREATE", "object": obj}}
            lat, allowed = [], None
            for _ in range(rounds):
                t = time.perf_counter()
                async with session.post(url, json=review) as resp:
                    body = await resp.json()
                lat.append(time.perf_counter() - t)
                allowed = body["response"]["allowed"]
            out[case] = {**summary_ms(lat), "allowed": allowed}
    return out


# cache heap, in this process -------------------------------------------------------------------
async def cache_heap(client: KubeClient, rollouts: int) -> dict[str, Any]:
    """tracemalloc bytes of informers like the manager's, filled from one LIST of each kind."""
    kinds: list[tuple[Resource, Any, dict]] = [
        (ROLLOUTS, None, {WORKLOAD_REF_INDEX: workload_ref_index}),
        (BATCHRELEASES, None, {WORKLOAD_REF_INDEX: workload_ref_index}),
        (DEPLOYMENTS, None, {}), (REPLICASETS, None, {}), (PODS, podobj.keep_read_fields, {})]
    raw = {res: await list_all(client, res) for res, _, _ in kinds}
    out: dict[str, Any] = {}
    for label, transformed in (("with_transforms", True), ("without_transforms", False)):
        total, per_kind = 0, {}
        for res, extra, indexers in kinds:
            items = json.loads(json.dumps(raw[res]))
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            settings = InformerSettings(resync_period=0) if transformed else InformerSettings(resync_period=0,
                                                                                              transform=None)
            inf = SharedInformer(FakeListWatcher(), res, settings=settings, indexers=indexers)
            if transformed and extra is not None:
                inf.set_transform(extra)
            inf.replace(items, "1")
            del items
            used = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            per_kind[res.plural] = {"objects": len(inf.store), "bytes_per_object": used // max(1, len(inf.store))}
            total += used
            del inf
        out[label] = {"kib_per_rollout": round(total / 1024 / max(1, rollouts), 2), "by_kind": per_kind}
    return out


# phases ----------------------------------------------------------------------------------------
async def create_all(client: KubeClient, n: int, namespaces: int, *,
                     deployments_first: bool = False) -> tuple[list[float], list[float], float | None]:
    """N Deployments and their Rollouts; the third value is how long the cluster took to make every
    Deployment available before the first Rollout (``deployments_first``), else None."""
    for k in range(namespaces):
        await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": f"scale-{k}", "labels": {LABEL: "1"}}})
    admission: list[float] = []
    plain: list[float] = []

    async def create_deployment(i: int) -> None:
        ns, name = names(i, namespaces)
        t = time.perf_counter()
        await client.create(DEPLOYMENTS, deployment(ns, name, 1 + i % 3), ns)
        plain.append(time.perf_counter() - t)

    async def create_rollout(i: int) -> None:
        ns, name = names(i, namespaces)
        t = time.perf_counter()
        await client.create(ROLLOUTS, rollout(ns, name, name), ns)
        admission.append(time.perf_counter() - t)

    async def both(i: int) -> None:
        await create_deployment(i)
        await create_rollout(i)

    if not deployments_first:
        await bounded(range(n), both)
        return admission, plain, None
    t0 = time.monotonic()
    await bounded(range(n), create_deployment)
    await wait_deployments_available(client, n, poll_seconds(n))
    available_s = time.monotonic() - t0
    await bounded(range(n), create_rollout)
    return admission, plain, available_s


async def wait_deployments_available(client: KubeClient, n: int, poll: float) -> None:
    """The cluster's own work (ReplicaSets, pods scheduled, kwok marking them Ready) done."""
    while True:
        ready = sum(1 for d in await list_all(client, DEPLOYMENTS)
                    if (d.get("status") or {}).get("availableReplicas") == d["spec"]["replicas"]
                    and (d["metadata"].get("labels") or {}).get(LABEL))
        if ready >= n:
            return
        await asyncio.sleep(poll)


async def burst(client: KubeClient, n: int, namespaces: int, timeout: float) -> dict[str, float]:  # noqa: ASYNC109
    picked = [names(i, namespaces) for i in range(n)]
    wanted = set(picked)
    t0 = time.monotonic()

    errors: list[str] = []

    async def release(key: tuple[str, str]) -> None:
        ns, name = key
        for attempt in range(5):  # an overloaded API server may time the workload webhook out: retry
            try:
                await client.patch(DEPLOYMENTS, name, {"spec": {"template": {"spec": {"containers": [
                    {"name": "main", "env": [{"name": "VERSION", "value": "v2"}]}]}}}}, ns, patch_type="strategic")
                return
            except ApiError as e:
                errors.append(f"release {ns}/{name} attempt {attempt + 1}: {e}")
                await asyncio.sleep(1)

    await bounded(picked, release)
    await wait_rollouts(client, wanted, paused_at_step_1, "burst step 1 paused", timeout)
    t_paused = time.monotonic() - t0
    t1 = time.monotonic()

    async def approve(key: tuple[str, str]) -> None:
        ns, name = key
        for attempt in range(10):
            try:
                ro = await client.get(ROLLOUTS, name, ns)
                await client.update_status(ROLLOUTS, approved_body(ro))
                return
            except ApiError as e:
                if not isinstance(e, Conflict):
                    errors.append(f"approve {ns}/{name} attempt {attempt + 1}: {e}")
                await asyncio.sleep(0.2)

    await bounded(picked, approve)
    await wait_rollouts(client, wanted, completed, "burst completed", timeout)
    if errors:
        say(f"burst: {len(errors)} retried calls, first: {errors[0]}")
    return {"released_to_all_step1_paused_s": round(t_paused, 2),
            "approved_to_all_healthy_s": round(time.monotonic() - t1, 2), "retried_calls": len(errors)}


@contextlib.asynccontextmanager
async def manager_and_client(kubeconfig: str, prefix: str, *, module: str = "rollouts.cmd.manager",
                             env: dict[str, str] | None = None,
                             args: tuple[str, ...] = ()) -> AsyncIterator[tuple[ManagerProcess, KubeClient]]:
    """The manager as a subprocess (``--no-leader-elect``, default flags) and a fast client, for a bench.

    With ``--kubeconfig`` (a cluster that outlives the bench) the manager's cluster-wide
    registrations are removed after it stops; a throwaway cluster is simply stopped.
    """
    mgr = ManagerProcess(kubeconfig, Path(tempfile.mkdtemp(prefix=prefix)), extra_args=("--no-leader-elect", *args),
                         module=module, env=env)
    mgr.start(timeout=120)
    assert mgr.proc is not None
    client = await KubeClient.from_kubeconfig(kubeconfig, settings=ClientSettings(qps=2000, burst=4000))
    try:
        yield mgr, client
    finally:
        await client.aclose()
        mgr.stop()


async def bench(kubeconfig: str, o: argparse.Namespace) -> dict[str, Any]:
    module, env = "rollouts.cmd.manager", None
    if o.heap_diff:  # the same main() with the soak's sampler thread, tracing allocations
        o.heap_dir = Path(tempfile.mkdtemp(prefix="bench-scale-heap-"))
        module, env = "bench.soak_manager", {"SOAK_STATS_FILE": str(o.heap_dir / "stats.jsonl"),
                                             "SOAK_INTERVAL": "3600", "SOAK_TRACEMALLOC": "1"}
    async with manager_and_client(kubeconfig, "bench-scale-", module=module, env=env,
                                  args=tuple(o.manager_arg)) as (mgr, client):
        res = await measure(mgr, client, o)
    if o.kubeconfig:
        cleanup_cluster_registrations(Kubectl(kubeconfig))
    return res


async def measure(mgr: ManagerProcess, client: KubeClient, o: argparse.Namespace) -> dict[str, Any]:
    assert mgr.proc is not None
    pid = mgr.proc.pid
    res: dict[str, Any] = {"rollouts": o.rollouts, "namespaces": o.namespaces, "cpus": os.cpu_count(),
                           "manager_args": o.manager_arg, "manager_log": str(mgr.log_path)}
    try:
        await asyncio.sleep(5)
        res["rss_mib_empty"] = round(rss_mib(pid), 1)
        say(f"manager RSS before the objects: {res['rss_mib_empty']} MiB")
        t0 = time.monotonic()
        admission, plain, available_s = await create_all(client, o.rollouts, o.namespaces,
                                                         deployments_first=o.deployments_first)
        if available_s is not None:  # time to Healthy counts from the first Rollout create
            res["deployments_available_s"] = round(available_s, 1)
            say(f"{o.rollouts} Deployments available after {res['deployments_available_s']} s "
                f"(the cluster's work); creating the Rollouts")
            t0 += available_s
        res["created_s"] = round(time.monotonic() - t0, 1)
        res["admission_create"] = summary_ms(admission)
        res["deployment_create"] = summary_ms(plain)  # same API server, no Rollout webhook: the baseline
        say(f"created {o.rollouts} Deployments + Rollouts in {res['created_s']} s; "
            f"Rollout CREATE round trip p50 {res['admission_create']['p50_ms']} ms, "
            f"p99 {res['admission_create']['p99_ms']} ms "
            f"(Deployment CREATE p50 {res['deployment_create']['p50_ms']} ms, "
            f"p99 {res['deployment_create']['p99_ms']} ms)")
        all_keys = {names(i, o.namespaces) for i in range(o.rollouts)}
        await wait_rollouts(client, all_keys, healthy, "all Healthy", o.timeout, poll_seconds(o.rollouts))
        res["healthy_s"] = round(time.monotonic() - t0, 1)
        say(f"all {o.rollouts} Healthy {res['healthy_s']} s after the first create")
        # Right after the last Healthy the controllers still drain their queues on the same event loop.
        res["webhook_direct_draining"] = await webhook_direct(mgr, "scale-0", "app-0", o.probes)
        say(f"webhook direct, queues draining: {json.dumps(res['webhook_direct_draining'])}")
        await asyncio.sleep(5)
        res["rss_mib_loaded"] = round(rss_mib(pid), 1)
        res["rss_kib_per_rollout"] = round((res["rss_mib_loaded"] - res["rss_mib_empty"]) * 1024 / o.rollouts, 1)
        say(f"manager RSS with them: {res['rss_mib_loaded']} MiB, "
            f"{res['rss_kib_per_rollout']} KiB per Rollout (with its Deployment, ReplicaSet, pods, BatchRelease)")
        if not o.skip_cache_heap:
            res["cache_heap"] = await cache_heap(client, o.rollouts)
            say(f"cache heap per Rollout: {res['cache_heap']['with_transforms']['kib_per_rollout']} KiB "
                f"(without transforms {res['cache_heap']['without_transforms']['kib_per_rollout']} KiB)")
        res["reconcile_after_create"] = reconcile_percentiles(scrape(mgr))
        say(f"reconcile latency: {json.dumps(res['reconcile_after_create'])}")
        res["gc_after_create"] = gc_pauses(scrape(mgr))
        say(f"collector pauses: {json.dumps(res['gc_after_create'])}")
        res["conversions_after_create"] = conversions(scrape(mgr))
        say(f"objects converted by the conversion webhook: {json.dumps(res['conversions_after_create'])}")
        res["drained_after_s"] = await until_drained(mgr)
        say(f"queues drained {res['drained_after_s']} s later (no reconcile for 10 s)")
        c0, t = cpu_seconds(pid), time.monotonic()
        if o.profile_idle:
            res["idle_profile"] = await profile(pid, o.idle, Path(str(mgr.log_path)).with_name("idle.pyspy"))
            say("idle profile (inclusive % of samples):\n  " + "\n  ".join(res["idle_profile"]))
        else:
            await asyncio.sleep(o.idle)
        res["idle_cpu_pct_of_core"] = round(cpu_pct_since(pid, c0, t), 2)
        say(f"idle CPU over {o.idle:g} s: {res['idle_cpu_pct_of_core']} % of a core")
        res["conversions_after_idle"] = conversions(scrape(mgr))
        say(f"objects converted, after the idle window: {json.dumps(res['conversions_after_idle'])}")
        res["webhook_direct"] = await webhook_direct(mgr, "scale-0", "app-0", o.probes)  # the manager idle
        say(f"webhook direct, manager idle: {json.dumps(res['webhook_direct'])}")
        res["quiet_after_s"] = await until_cpu_below(pid, 5.0)
        say(f"manager under 5 % of a core over 10 s, {res['quiet_after_s']} s later (the conversion backlog done)")
        c0, t = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(o.idle)
        res["idle_cpu_when_quiet_pct_of_core"] = round(cpu_pct_since(pid, c0, t), 2)
        say(f"idle CPU over {o.idle:g} s after that: {res['idle_cpu_when_quiet_pct_of_core']} % of a core")
        res["conversions_when_quiet"] = conversions(scrape(mgr))
        say(f"objects converted by then: {json.dumps(res['conversions_when_quiet'])}")
        res["webhook_direct_when_quiet"] = await webhook_direct(mgr, "scale-0", "app-0", o.probes)
        say(f"webhook direct, manager quiet: {json.dumps(res['webhook_direct_when_quiet'])}")
        if o.burst:
            before_burst = scrape(mgr)
            c_burst, t_burst = cpu_seconds(pid), time.monotonic()
            if o.heap_diff:
                from soak import request_snapshot  # soak imports this module: imported when used
                await request_snapshot(o.heap_dir, "before-burst")
            try:
                res["burst"] = {"rollouts": min(o.burst, o.rollouts),
                                **await burst(client, min(o.burst, o.rollouts), o.namespaces, o.timeout)}
            except Exception as e:  # noqa: BLE001 - keep the figures taken so far
                traceback.print_exc()
                res["burst"] = {"error": repr(e)}
            say(f"burst: {json.dumps(res['burst'])}")
            after = scrape(mgr)
            res["reconcile_after_burst"] = reconcile_percentiles(after)
            say(f"reconcile latency after the burst: {json.dumps(res['reconcile_after_burst'])}")
            res["reconcile_burst_only"] = reconcile_percentiles(after, since=before_burst)
            say(f"reconcile latency of the burst's reconciles only: {json.dumps(res['reconcile_burst_only'])}")
            res["burst_breakdown"] = burst_breakdown(after, before_burst)
            say(f"during the burst: {json.dumps(res['burst_breakdown'])}")
            res["burst_cpu_pct_of_core"] = round(cpu_pct_since(pid, c_burst, t_burst), 1)
            say(f"manager CPU during the burst: {res['burst_cpu_pct_of_core']} % of a core")
            res["gc_after_burst"] = gc_pauses(scrape(mgr))
            say(f"collector pauses after the burst: {json.dumps(res['gc_after_burst'])}")
            res["rss_mib_after_burst"] = round(rss_mib(pid), 1)
            say(f"manager RSS after the burst: {res['rss_mib_after_burst']} MiB")
            if o.heap_diff:
                from soak import heap_diff, request_snapshot
                await request_snapshot(o.heap_dir, "after-burst")
                res["burst_heap_diff"] = heap_diff(o.heap_dir, "before-burst", "after-burst")
                say("burst heap diff:\n  " + "\n  ".join(res["burst_heap_diff"].get("sites", [])
                                                         + res["burst_heap_diff"].get("types", [])))
        res["rss_mib_end"] = round(rss_mib(pid), 1)
    finally:
        if o.kubeconfig and not o.keep:  # a throwaway cluster is simply stopped
            for k in range(o.namespaces):
                try:
                    await client.delete(NAMESPACES, f"scale-{k}")
                except Exception:  # noqa: BLE001 - best-effort cleanup
                    pass
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rollouts", type=int, default=1000)
    p.add_argument("--namespaces", type=int, default=1)
    p.add_argument("--nodes", type=int, default=0, help="kwok nodes (default: 3 pods per Rollout fit)")
    p.add_argument("--burst", type=int, default=100)
    p.add_argument("--profile-idle", action="store_true",
                   help="run py-spy on the manager during the idle window and print its hottest frames")
    p.add_argument("--idle", type=float, default=60.0)
    p.add_argument("--probes", type=int, default=300, help="AdmissionReviews per direct webhook case")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--keep", action="store_true", help="keep the namespaces (with --kubeconfig)")
    p.add_argument("--kubeconfig", help="existing cluster (default: a fresh local control plane)")
    p.add_argument("--skip-cache-heap", action="store_true",
                   help="skip the in-process cache heap figure (minutes at 10,000: every kind LISTed and "
                        "cached twice under tracemalloc)")
    p.add_argument("--deployments-first", action="store_true",
                   help="create every Deployment and wait until the cluster made them available, then the "
                        "Rollouts (bypass onto existing workloads; time to Healthy then measures the Rollouts only)")
    p.add_argument("--heap-diff", action="store_true",
                   help="run the manager with tracemalloc (bench/soak_manager.py) and print what the burst "
                        "allocated and kept (slower: not for the latency figures)")
    p.add_argument("--manager-arg", action="append", default=[],
                   help="extra manager flag, repeatable: --manager-arg=--rest-config-qps=200")
    p.add_argument("--apiserver-flag", action="append", default=[],
                   help="extra kube-apiserver flag of the fresh cluster, repeatable (the later one wins): "
                        "--apiserver-flag=--max-requests-inflight=3000")
    o = p.parse_args()
    nodes = o.nodes or max(3, math.ceil(3 * o.rollouts / PODS_PER_NODE) + 1)
    from localcluster.cluster import kubeconfig_or_local

    with kubeconfig_or_local(o.kubeconfig, nodes=nodes, apiserver_flags=tuple(o.apiserver_flag)) as kubeconfig:
        res = asyncio.run(bench(kubeconfig, o))
    res["nodes"] = nodes
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
