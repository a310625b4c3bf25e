"""Per-step latency of a multi-batch Deployment release split into our controller's share and the cluster's.

Usage (repo root, project venv):
    .venv/bin/python bench/step_trace.py [--rounds 3] [--kubeconfig K] [--verbose]

Each round uses two fresh namespaces with the seed Deployment (10 replicas):

* ``manual``: the seed Rollout (1 / 50% / 100%); transitions ``release`` (patch → step 1 StepPaused,
  1 updated ready pod), ``approve1`` (→ step 2 StepPaused, 5) and ``approve2`` (→ Healthy/Completed,
  10 updated, old RS at 0). The approval is the ``kubectl kruise rollout approve`` UPDATE of
  ``/status`` (:func:`rollouts.cli.commands.approved_body`) sent by this process, so the plugin's
  start-up is not in the figures; the clock starts when the API server has stored it.
* ``pause0``: the same steps with ``pause: {duration: 0}``; transitions ``release``, ``auto1`` (step 1
  paused → step 2 with 5 updated ready pods) and ``auto2`` (step 2 paused → Completed, 10 updated).

Each transition is reported twice: the whole step (to the Rollout's next state, as above) and its
first part, "the next batch's pods updated" as the issue words the target: from the action to the
first moment the batch's number of pods run the new template and are Ready.

While a transition runs, raw watches on the namespace's Rollouts, BatchReleases, Deployments,
ReplicaSets and Pods stamp every event with ``time.monotonic()`` on receipt. The writer of each event
is read from ``metadata.managedFields`` (the entry whose time/fields changed; the informer's transform
drops them, so raw watches are used): our manager's field manager is the default one the API server
derives from its User-Agent (``kruise-rollouts-py``, :class:`runtime.kube.client.ClientSettings`);
this process sends ``step-trace``; everything else (kube-controller-manager, kube-scheduler, kwok) is
the cluster. Only *progress* events count (a changed phase/step/batch/partition/replica count/pod
readiness/label, a creation or deletion), not message-only or heartbeat writes.

Attribution: the events between the action and the end state are ordered by receipt and every gap is
charged to one actor. A gap ending at a cluster event is the cluster's. A gap ending at one of our
events is also the cluster's when the cluster still had work in flight, i.e. its next event comes
before our next write that gives it new work (a spec change of the Deployment/a ReplicaSet): such
writes of ours (Deployment status per ready pod, say) run in parallel and are off the critical path.
The rest is ours, listed with its cause (the previous progress event). Ours-intervals that end in a
designed timer (the Initializing settle, ``INITIALIZING_SETTLE_SECONDS`` in
``rollouts/rollout/machine.py``) are reported as ``fixed`` separately from reaction latency. Times
are receipt times of this process's watches, so each figure includes one watch delivery delay.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy")]

import yaml  # noqa: E402

from rollouts.cli.commands import approved_body  # noqa: E402
from rollouts.controllers.common import BATCHRELEASES, ROLLOUTS  # noqa: E402
from rollouts.rollout.machine import INITIALIZING_SETTLE_SECONDS  # noqa: E402
from runtime.kube.client import ClientSettings, KubeClient  # noqa: E402
from runtime.kube.resources import DEPLOYMENTS, NAMESPACES, PODS, REPLICASETS, Resource  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    Kubectl,
    ManagerProcess,
    cleanup_cluster_registrations,
    manifest,
    patch_version,
)

OURS = "kruise-rollouts-py"  # ClientSettings.user_agent up to "/": the API server's default field manager
ME = "step-trace"
KINDS: tuple[Resource, ...] = (ROLLOUTS, BATCHRELEASES, DEPLOYMENTS, REPLICASETS, PODS)


def actor(manager: str) -> str:
    if manager.startswith(OURS):
        return "ours"
    if manager.startswith(ME) or manager.startswith("kubectl"):
        return "user"
    return "cluster"


def _cond(obj: dict, ctype: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), {})


def signature(kind: str, obj: dict) -> dict[str, Any]:
    """The fields whose change is progress for the release (not messages, timestamps, heartbeats)."""
    md, spec, st = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ours_meta = {k: v for k, v in {**(md.get("annotations") or {}), **(md.get("labels") or {})}.items()
                 if "rollouts.kruise.io" in k and not k.endswith("deployment-extra-status")}
    if kind == "Rollout":
        return {"phase": st.get("phase"), "step": st.get("currentStepIndex"), "state": st.get("currentStepState"),
                "reason": _cond(obj, "Progressing").get("reason"), "paused": (spec.get("strategy") or {}).get("paused")}
    if kind == "BatchRelease":
        cs = st.get("canaryStatus") or {}
        plan = spec.get("releasePlan") or {}
        return {"partition": plan.get("batchPartition"), "finalizing": plan.get("finalizingPolicy"),
                "phase": st.get("phase"), "batch": cs.get("currentBatch"), "batchState": cs.get("batchState")}
    if kind == "Deployment":
        return {"paused": spec.get("paused"), "strategy": (spec.get("strategy") or {}).get("type"), **ours_meta,
                "updated": st.get("updatedReplicas"), "ready": st.get("readyReplicas"), "replicas": st.get("replicas"),
                "available": st.get("availableReplicas"), "observed": st.get("observedGeneration")}
    if kind == "ReplicaSet":
        return {"spec": spec.get("replicas"), "replicas": st.get("replicas"), "ready": st.get("readyReplicas"),
                "available": st.get("availableReplicas"), "observed": st.get("observedGeneration")}
    if kind == "Pod":
        return {"node": spec.get("nodeName"), "ready": _cond(obj, "Ready").get("status"), **ours_meta,
                "deleting": bool(md.get("deletionTimestamp"))}
    return {}


def _fields(obj: dict) -> dict[tuple[str, str, str], tuple[str, str]]:
    return {(f.get("manager", ""), f.get("operation", ""), f.get("subresource", "")):
            (f.get("time", ""), json.dumps(f.get("fieldsV1"), sort_keys=True))
            for f in (obj.get("metadata") or {}).get("managedFields") or []}


def writer(kind: str, etype: str, old: dict | None, new: dict) -> str:
    """The field manager that produced this version of the object."""
    if etype == "DELETED":
        return OURS if kind == "BatchRelease" else "kwok (final delete)" if kind == "Pod" else "?"
    if old is not None and not (old.get("metadata") or {}).get("deletionTimestamp") and \
            (new.get("metadata") or {}).get("deletionTimestamp"):
        return OURS if kind in ("BatchRelease", "Rollout") else "kube-controller-manager (delete)"
    before, after = _fields(old or {}), _fields(new)
    changed = [k for k, v in after.items() if before.get(k) != v] if old is not None else list(after)
    if changed:
        return max(changed, key=lambda k: after[k][0])[0]
    # Same manager, same fields, same second: managedFields did not change. Infer from what changed.
    b, a = signature(kind, old or {}), signature(kind, new)
    moved = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    if kind == "ReplicaSet" and "spec" not in moved:
        return "kube-controller-manager (inferred)"
    if kind == "Pod" and moved <= {"ready"}:
        return "kwok (inferred)"
    if kind == "Pod" and moved <= {"node"}:
        return "kube-scheduler (inferred)"
    if kind in ("Rollout", "BatchRelease"):
        return OURS + " (inferred)"
    return max(after, key=lambda k: after[k][0])[0] + " (inferred)" if after else "?"


@dataclass
class Event:
    t: float
    kind: str
    name: str
    etype: str
    manager: str
    before: dict[str, Any]
    after: dict[str, Any]
    generation_changed: bool
    obj: dict = field(repr=False, default_factory=dict)

    @property
    def actor(self) -> str:
        return actor(self.manager)

    def describe(self) -> str:
        if self.etype in ("ADDED", "DELETED"):
            return f"{self.kind} {self.name} {self.etype.lower()}"
        keys = list(self.after) + [k for k in self.before if k not in self.after]
        diff = [f"{k} {self.before.get(k)}→{self.after.get(k)}" for k in keys
                if self.before.get(k) != self.after.get(k)]
        return f"{self.kind} {self.name} {', '.join(diff)}"


class Tracer:
    """Raw watches on the namespace; every progress event, stamped on receipt.

    ``kinds``, ``signature_of`` and ``writer_of`` default to this module's (the partition style);
    ``bench/canary_trace.py`` passes its own to watch Services and Ingresses too."""

    def __init__(self, client: KubeClient, ns: str, *, kinds: tuple[Resource, ...] = KINDS,
                 signature_of: Callable[[str, dict], dict[str, Any]] = signature,
                 writer_of: Callable[[str, str, dict | None, dict], str] = writer,
                 rollout: str = "rollouts-demo") -> None:
        self.client, self.ns = client, ns
        self.kinds, self.signature_of, self.writer_of, self.rollout = kinds, signature_of, writer_of, rollout
        self.events: list[Event] = []
        self.latest: dict[tuple[str, str], dict] = {}
        self._tasks: list[asyncio.Task] = []
        self.changed = asyncio.Event()
        self._pred: Any = None
        self._hit: float | None = None

    async def start(self) -> None:
        for res in self.kinds:
            lst = await self.client.list(res, self.ns)
            for o in lst["items"]:
                self.latest[(res.kind, o["metadata"]["name"])] = o
            self._tasks.append(asyncio.create_task(self._watch(res, lst["metadata"]["resourceVersion"])))

    async def _watch(self, res: Resource, rv: str) -> None:
        while True:
            async for ev in self.client.watch(res, self.ns, resource_version=rv, allow_bookmarks=True):
                t = time.monotonic()
                rv = ev.resource_version or rv
                if ev.type == "BOOKMARK":
                    continue
                name = ev.object["metadata"]["name"]
                key = (res.kind, name)
                old = self.latest.get(key)
                if ev.type == "DELETED":
                    self.latest.pop(key, None)
                else:
                    self.latest[key] = ev.object
                before = self.signature_of(res.kind, old) if old is not None else {}
                after = self.signature_of(res.kind, ev.object)
                if ev.type == "MODIFIED" and before == after:
                    continue
                gen_changed = old is not None and ev.type == "MODIFIED" and \
                    old["metadata"].get("generation") != ev.object["metadata"].get("generation")
                self.events.append(Event(t, res.kind, name, ev.type, self.writer_of(res.kind, ev.type, old, ev.object),
                                         before, after, gen_changed, ev.object))
                if self._pred is not None and self._hit is None and self._pred(self):
                    self._hit = t
                self.changed.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def obj(self, kind: str, name: str) -> dict:
        return self.latest.get((kind, name)) or {}

    def rss(self) -> list[dict]:
        return [o for (k, _), o in self.latest.items() if k == "ReplicaSet"]

    async def wait(self, pred: Any, limit: float = 120) -> float:
        """Wait until ``pred(self)`` holds; return the receipt time of the event that made it hold."""
        self._pred, self._hit = pred, (time.monotonic() if pred(self) else None)
        deadline = time.monotonic() + limit
        while self._hit is None:
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                ro = self.obj("Rollout", self.rollout).get("status") or {}
                raise TimeoutError(f"{self.ns}: last rollout {ro.get('phase')} {ro.get('currentStepIndex')} "
                                   f"{ro.get('currentStepState')} {ro.get('message')}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
        self._pred = None
        return self._hit


def at_state(phase: str, step: int, state: str, updated: int, *, old_rs_gone: bool = False) -> Any:
    def pred(tr: Tracer) -> bool:
        st = tr.obj("Rollout", "rollouts-demo").get("status") or {}
        ds = tr.obj("Deployment", "workload-demo").get("status") or {}
        ok = (st.get("phase"), st.get("currentStepIndex"), st.get("currentStepState")) == (phase, step, state)
        ok = ok and ds.get("updatedReplicas") == updated and ds.get("readyReplicas") == 10
        if ok and old_rs_gone:
            ok = sorted((rs.get("spec") or {}).get("replicas", 0) for rs in tr.rss()) == [0, 10]
        return ok
    return pred


def paused_at(step: int, updated: int) -> Any:
    """Step ``step`` done (paused, or already past it with a 0 s pause) with ``updated`` ready pods."""
    def pred(tr: Tracer) -> bool:
        st = tr.obj("Rollout", "rollouts-demo").get("status") or {}
        ds = tr.obj("Deployment", "workload-demo").get("status") or {}
        idx = st.get("currentStepIndex") or 0
        rolling = st.get("phase") == "Progressing" and _cond(tr.obj("Rollout", "rollouts-demo"), "Progressing").get(
            "reason") == "InRolling"
        done = rolling and (idx > step or (idx == step and st.get("currentStepState") in ("StepPaused", "StepReady")))
        return done and (ds.get("updatedReplicas") or 0) >= updated and ds.get("readyReplicas") == 10
    return pred


@dataclass
class Interval:
    start: float
    end: float
    who: str  # ours / cluster / fixed
    cause: str

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


def _ends_settle(prev: Event | None, e: Event) -> bool:
    """The gap from "Rollout entered Initializing" to our next write is the settle timer.

    The Rollout controller chains rounds in memory (``rollouts.rollout.machine.settle``), so the
    first write after the timer may be the BatchRelease it creates rather than the Rollout's own
    Initializing → InRolling status."""
    if e.kind == "Rollout" and e.before.get("reason") == "Initializing" and e.after.get("reason") == "InRolling":
        return True
    return prev is not None and prev.kind == "Rollout" and prev.after.get("reason") == "Initializing"


def gives_cluster_work(e: Event) -> bool:
    """One of our writes the cluster must act on: a spec change of a Deployment or ReplicaSet."""
    return e.actor == "ours" and e.generation_changed and e.kind in ("Deployment", "ReplicaSet")


def settle_wait(prev: Event | None, e: Event, prev_t: float) -> float:
    """Seconds at the start of the ours-gap ``prev_t → e`` that are a designed timer: here the
    whole gap when it ends the Initializing settle (see :func:`_ends_settle`), else none."""
    return e.t - prev_t if _ends_settle(prev, e) and e.t - prev_t > INITIALIZING_SETTLE_SECONDS / 2 else 0.0


def attribute(events: list[Event], t0: float, t_end: float, *,
              gives_work: Callable[[Event], bool] = gives_cluster_work,
              designed_wait: Callable[[Event | None, Event, float], float] = settle_wait) -> list[Interval]:
    """Charge every gap between the action and the end state to one actor (see the module docstring).

    ``gives_work`` says which of our writes hand the cluster new work; ``designed_wait`` how much of
    a gap that would be ours is a designed timer instead ("fixed", split off the gap's start)."""
    evs = [e for e in events if t0 < e.t <= t_end and e.actor != "user"]
    out: list[Interval] = []
    prev_t, prev_desc = t0, "the action"
    prev: Event | None = None
    for i, e in enumerate(evs):
        who = e.actor
        cause = f"{e.describe()} [{e.manager}] written {1000 * (e.t - prev_t):.0f} ms after {prev_desc}"
        split = False
        if who == "ours":
            nxt_cluster = next((x.t for x in evs[i + 1:] if x.actor == "cluster"), None)
            nxt_trigger = next((x.t for x in evs[i:] if gives_work(x)), None)
            if nxt_cluster is not None and (nxt_trigger is None or nxt_cluster < nxt_trigger):
                who = "cluster"
            else:
                fixed = min(max(designed_wait(prev, e, prev_t), 0.0), e.t - prev_t)
                if fixed > 0:
                    out.append(Interval(prev_t, prev_t + fixed, "fixed", cause))
                    prev_t, split = prev_t + fixed, True
        if not split or e.t > prev_t:
            out.append(Interval(prev_t, e.t, who, cause))
        prev_t, prev_desc, prev = e.t, e.describe(), e
    return out


def summarize(name: str, ivs: list[Interval], t0: float, t_end: float, verbose: bool) -> dict[str, float]:
    tot = {w: sum(iv.ms for iv in ivs if iv.who == w) for w in ("ours", "cluster", "fixed")}
    r = {"total_ms": (t_end - t0) * 1000, **{f"{k}_ms": v for k, v in tot.items()}}
    print(f"  {name:9s} total {r['total_ms']:6.0f} ms  ours {tot['ours']:5.0f}  cluster {tot['cluster']:5.0f}"
          f"  fixed {tot['fixed']:5.0f}", flush=True)
    for iv in ivs:
        if iv.who != "cluster" or verbose:
            print(f"      {iv.who:7s} {iv.ms:6.0f} ms  {iv.cause}")
    return r


def stable_hash(tr: Tracer) -> str:
    """The pod-template-hash most pods carry now (called before a release starts)."""
    hashes = [((o.get("metadata") or {}).get("labels") or {}).get("pod-template-hash", "")
              for (k, _), o in tr.latest.items() if k == "Pod"]
    return statistics.mode(hashes) if hashes else ""


def pods_updated_at(events: list[Event], t0: float, t_end: float, stable: str, n: int) -> float:
    """Receipt time of the event after ``t0`` from which ``n`` ready, non-terminating pods run a
    template other than ``stable``: the issue's "next batch's pods updated" (``t_end`` if never)."""
    pods: dict[str, dict] = {}
    for e in events:
        if e.t > t_end:
            break
        if e.kind != "Pod":
            continue
        if e.etype == "DELETED":
            pods.pop(e.name, None)
        else:
            pods[e.name] = e.obj
        if e.t > t0 and sum(1 for o in pods.values() if _updated_ready(o, stable)) >= n:
            return e.t
    return t_end


def _updated_ready(pod: dict, stable: str) -> bool:
    md = pod.get("metadata") or {}
    return (not md.get("deletionTimestamp") and (md.get("labels") or {}).get("pod-template-hash") != stable
            and _cond(pod, "Ready").get("status") == "True")


def step_summary(name: str, tr: Tracer, t0: float, t_end: float, stable: str, pods: int,
                 verbose: bool) -> dict[str, float]:
    """The whole step (to the Rollout's next state) and its "pods updated" part, each split."""
    r = summarize(name, attribute(tr.events, t0, t_end), t0, t_end, verbose)
    t_pods = pods_updated_at(tr.events, t0, t_end, stable, pods)
    ivs = attribute(tr.events, t0, t_pods)
    tot = {w: sum(iv.ms for iv in ivs if iv.who == w) for w in ("ours", "cluster", "fixed")}
    print(f"    → {pods} updated pods ready after {1000 * (t_pods - t0):6.0f} ms: ours {tot['ours']:5.0f}"
          f"  cluster {tot['cluster']:5.0f}  fixed {tot['fixed']:5.0f}", flush=True)
    return {**r, "pods_total_ms": (t_pods - t0) * 1000, **{f"pods_{k}_ms": v for k, v in tot.items()}}


def pause0_rollout(ns: str) -> str:
    doc = yaml.safe_load(manifest("rollouts-demo.yaml", ns))
    for step in doc["spec"]["strategy"]["canary"]["steps"]:
        step["pause"] = {"duration": 0}
    return yaml.safe_dump(doc)


async def run_namespace(client: KubeClient, kc: Kubectl, variant: str, verbose: bool) -> dict[str, dict]:
    ns = f"trace-{variant}-{uuid.uuid4().hex[:5]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    tr = Tracer(client, ns)
    out: dict[str, dict] = {}
    try:
        await asyncio.sleep(1)  # default ServiceAccount
        await tr.start()
        kc("apply", "-f", "-", input=manifest("workload-demo.yaml", ns))
        kc("apply", "-f", "-", input=manifest("rollouts-demo.yaml", ns) if variant == "manual" else pause0_rollout(ns))
        await tr.wait(at_state("Healthy", 3, "Completed", 10))
        await asyncio.sleep(0.5)
        print(f" {variant} ({ns})", flush=True)

        stable = stable_hash(tr)
        t0 = time.monotonic()
        await client.patch(DEPLOYMENTS, "workload-demo", json.loads(patch_version("v2")), ns, patch_type="strategic")
        if variant == "manual":
            t_end = await tr.wait(at_state("Progressing", 1, "StepPaused", 1))
            out["release"] = step_summary("release", tr, t0, t_end, stable, 1, verbose)
            for key, step, phase, state, updated in (("approve1", 2, "Progressing", "StepPaused", 5),
                                                     ("approve2", 3, "Healthy", "Completed", 10)):
                await asyncio.sleep(0.5)
                ro = await client.get(ROLLOUTS, "rollouts-demo", ns)
                body = approved_body(ro)
                # Sent back as read, managedFields would credit the approval to our manager's entry.
                body["metadata"].pop("managedFields", None)
                await client.update_status(ROLLOUTS, body)
                t0 = time.monotonic()  # the approval is stored: from here on it is ours to react
                t_end = await tr.wait(at_state(phase, step, state, updated, old_rs_gone=key == "approve2"))
                out[key] = step_summary(key, tr, t0, t_end, stable, updated, verbose)
        else:
            t1 = await tr.wait(paused_at(1, 1))
            out["release"] = step_summary("release", tr, t0, t1, stable, 1, verbose)
            t2 = await tr.wait(paused_at(2, 5))
            out["auto1"] = step_summary("auto1", tr, t1, t2, stable, 5, verbose)
            t3 = await tr.wait(at_state("Healthy", 3, "Completed", 10, old_rs_gone=True))
            out["auto2"] = step_summary("auto2", tr, t2, t3, stable, 10, verbose)
        return out
    finally:
        await tr.stop()
        await client.delete(NAMESPACES, ns)


async def bench(kubeconfig: str, rounds: int, verbose: bool) -> dict[str, dict[str, float]]:
    kc = Kubectl(kubeconfig)
    mgr = ManagerProcess(kubeconfig, Path(tempfile.mkdtemp(prefix="trace-mgr-")), extra_args=("--no-leader-elect",))
    mgr.start()
    client = await KubeClient.from_kubeconfig(kubeconfig, settings=ClientSettings(user_agent=f"{ME}/0.1"))
    results: list[dict[str, dict]] = []
    try:
        for i in range(rounds):
            print(f"round {i + 1}", flush=True)
            r: dict[str, dict] = {}
            for variant in ("manual", "pause0"):
                r.update({f"{variant}.{k}": v for k, v in (await run_namespace(client, kc, variant, verbose)).items()})
            results.append(r)
    finally:
        await client.aclose()
        mgr.stop()
        cleanup_cluster_registrations(kc)
    return {k: {m: round(statistics.median(r[k][m] for r in results)) for m in results[0][k]}
            for k in results[0]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--kubeconfig", help="existing cluster (default: a fresh local control plane)")
    p.add_argument("--verbose", action="store_true", help="also list the cluster's intervals")
    args = p.parse_args()
    from localcluster.cluster import kubeconfig_or_local

    with kubeconfig_or_local(args.kubeconfig) as kubeconfig:
        summary = asyncio.run(bench(kubeconfig, args.rounds, args.verbose))
    print(f"medians over {args.rounds} rounds (ms): whole step | until the batch's pods are updated and ready")
    for key, v in summary.items():
        print(f"  {key:16s} total {v['total_ms']:6d}  ours {v['ours_ms']:5d}  cluster {v['cluster_ms']:5d}"
              f"  fixed {v['fixed_ms']:5d} | total {v['pods_total_ms']:6d}  ours {v['pods_ours_ms']:5d}"
              f"  cluster {v['pods_cluster_ms']:5d}  fixed {v['pods_fixed_ms']:5d}")
    print(json.dumps(copy.deepcopy(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
