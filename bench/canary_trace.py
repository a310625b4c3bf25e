"""Per-step latency of a canary release with traffic routing, split into our share, the cluster's and
designed timers.

Usage (repo root, project venv):
    .venv/bin/python bench/canary_trace.py [--rounds 2] [--kubeconfig K] [--verbose] [--no-traffic]

Scenario: part 2 of the seed walkthrough ("金丝雀发布策略", ``../shared/seeds/004_*.txt``), verbatim
but for the pauses: the ``echoserver`` Deployment (5 replicas), its Service and nginx Ingress, and the
v1alpha1 Rollout ``rollouts-canary-demo`` (``rolling-style: canary``; steps weight 5 / 1 replica,
40, 60, 80, 100) with a manual pause on *every* step, so that every transition is started by the
bench and only reactions are measured (the seed's timed pauses would only add their durations).
Each round uses a fresh namespace; transitions:

* ``release``: the v2 edit (``NODE_NAME=version2``) → step 1 done;
* ``approve1`` … ``approve3``: the approval of step N → step N+1 done;
* ``approve4``: the approval of step 4 → step 5 (weight 100, 5 canary pods), which does not pause
  (a last step at full size ends the release) → Healthy/Completed with the canary Deployment,
  Service and Ingress gone, the stable Service's selector as the user wrote it, and 5 ready v2 pods.

"Step N done" is the issue's end state: the canary Ingress carries step N's ``canary-weight``, the
canary Deployment has step N's replicas ready, and the Rollout is StepPaused at step N. Each step is
also reported up to the issue's own measure, "next weight applied on the Ingress and canary pods
Ready" (the later of the two milestones; pods counted from the Pod events).

The machinery is ``bench/step_trace.py``'s: raw watches (here also Services and Ingresses) stamp
every progress event on receipt, the writer comes from ``managedFields``, and every gap is charged
to us, the cluster, or a designed timer. Differences, both said where they are implemented:
our writes that hand the cluster work include *creations* of Deployments/ReplicaSets (the canary
Deployment), and designed timers are time windows (:func:`timer_windows`): the spec's grace
period (``trafficRoutings[0].gracePeriodSeconds``, default 3 s, traffic-routing.md §3 and §6) after
each of our writes to a Service or an Ingress and after the Rollout enters StepTrafficRouting, and
the settle (``INITIALIZING_SETTLE_SECONDS``) after it enters Initializing. The part of a gap that
would be ours and lies inside such a window is "fixed"; the rest of the gap stays ours, so a
controller that waits longer than the timer is charged for the excess.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "deploy")]

import step_trace as st  # noqa: E402
import yaml  # noqa: E402

from rollouts.api import keys  # noqa: E402
from rollouts.cli.commands import approved_body  # noqa: E402
from rollouts.controllers.common import ROLLOUTS  # noqa: E402
from rollouts.rollout.machine import INITIALIZING_SETTLE_SECONDS  # noqa: E402
from rollouts.trafficrouting.grace import effective_grace  # noqa: E402
from runtime.kube.client import ClientSettings, KubeClient  # noqa: E402
from runtime.kube.resources import DEPLOYMENTS, INGRESSES, NAMESPACES, SERVICES  # noqa: E402
from tests.e2e.harness import Kubectl, ManagerProcess, cleanup_cluster_registrations  # noqa: E402

WORKLOAD = "echoserver"
REPLICAS = 5  # the seed Deployment's
ROLLOUT = "rollouts-canary-demo"
CANARY_INGRESS = WORKLOAD + keys.CANARY_NAME_SUFFIX
CANARY_SERVICE = WORKLOAD + keys.CANARY_NAME_SUFFIX
KINDS = (*st.KINDS, SERVICES, INGRESSES)

#: The seed's ``workload-canary-demo.yaml`` and ``rollout-canary-demo.yaml``, as written.
SEED = REPO / "bench" / "canary_seed"
SEED_WORKLOAD = (SEED / "workload-canary-demo.yaml").read_text()
SEED_ROLLOUT = (SEED / "rollout-canary-demo.yaml").read_text()

#: The seed's v2 edit (``NODE_NAME`` version1 → version2), as a strategic merge patch.
V2_PATCH = {"spec": {"template": {"spec": {"containers": [
    {"name": "echoserver", "env": [{"name": "NODE_NAME", "value": "version2"}]}]}}}}


def manual_rollout(*, traffic: bool = True) -> dict[str, Any]:
    """The seed Rollout with ``pause: {}`` on every step (no timed pause in the figures); without
    ``trafficRoutings`` for ``--no-traffic`` (the canary executor alone; a weight needs routing, so
    each step's weight becomes its ``replicas`` percentage where it has none, as upstream reads it)."""
    doc = yaml.safe_load(SEED_ROLLOUT)
    for step in doc["spec"]["strategy"]["canary"]["steps"]:
        step["pause"] = {}
        if not traffic:
            weight = step.pop("weight")
            step.setdefault("replicas", f"{weight}%")
    if not traffic:
        del doc["spec"]["strategy"]["canary"]["trafficRoutings"]
    return doc


def step_targets(rollout: dict[str, Any], replicas: int) -> list[tuple[int | None, int]]:
    """(weight or None, canary replicas) per step: ``replicas``, else the weight's share, rounded up
    (upstream)."""
    out: list[tuple[int | None, int]] = []
    for step in rollout["spec"]["strategy"]["canary"]["steps"]:
        n = step.get("replicas")
        if n is None:
            n = math.ceil(replicas * step["weight"] / 100)
        elif isinstance(n, str):
            n = math.ceil(replicas * int(n.rstrip("%")) / 100)
        weight = step.get("weight")
        out.append((None if weight is None else int(weight), int(n)))
    return out


def grace_seconds(rollout: dict[str, Any]) -> int:
    """The grace after a traffic change as DoTrafficRouting applies it (≤ 0 → 3 s, spec §3)."""
    refs = rollout["spec"]["strategy"]["canary"].get("trafficRoutings") or [{}]
    return effective_grace(int(refs[0].get("gracePeriodSeconds", -1)), zero_means_default=True)


# --- what counts as progress, and who wrote it --------------------------------------------------


def is_canary_deployment(obj: dict) -> bool:
    """Labelled as the canary Deployment, or (should the label be missing) controlled by a BatchRelease."""
    md = obj.get("metadata") or {}
    return keys.CANARY_DEPLOYMENT_LABEL in (md.get("labels") or {}) or any(
        ref.get("kind") == "BatchRelease" and ref.get("controller") for ref in md.get("ownerReferences") or [])


def signature(kind: str, obj: dict) -> dict[str, Any]:
    """step_trace's signature, plus Services, Ingresses and a Deployment's ``spec.replicas``."""
    md, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    deleting = bool(md.get("deletionTimestamp"))
    if kind == "Service":
        return {"selector": spec.get("selector"), "deleting": deleting}
    if kind == "Ingress":
        nginx = {k.rsplit("/", 1)[-1]: v for k, v in (md.get("annotations") or {}).items()
                 if k.startswith(keys.NGINX_CANARY_ANNOTATION)}
        backends = sorted(((p.get("backend") or {}).get("service") or {}).get("name", "")
                          for r in spec.get("rules") or [] for p in (r.get("http") or {}).get("paths") or [])
        return {**nginx, "backends": backends, "deleting": deleting}
    sig = st.signature(kind, obj)
    if kind == "Deployment":
        sig = {"specReplicas": spec.get("replicas"), **sig, "deleting": deleting}
    return sig


def writer(kind: str, etype: str, old: dict | None, new: dict,
           latest: Mapping[tuple[str, str], dict] | None = None) -> str:
    """step_trace's writer, plus deletions, which managedFields do not record: of the canary Service
    and Ingress, ours (nothing else deletes them while the Rollout lives); of the canary Deployment,
    ours while its BatchRelease exists in ``latest`` (the tracer's objects), else the garbage
    collector's (kube-controller-manager), which deletes it after the BatchRelease."""
    started = old is not None and not (old.get("metadata") or {}).get("deletionTimestamp") and \
        bool((new.get("metadata") or {}).get("deletionTimestamp"))
    if (etype == "DELETED" or started) and kind in ("Service", "Ingress"):
        return f"{st.OURS} (delete, inferred)"
    if (etype == "DELETED" or started) and kind == "Deployment" and is_canary_deployment(new):
        owners = [r.get("name") for r in (new.get("metadata") or {}).get("ownerReferences") or []
                  if r.get("kind") == "BatchRelease"]
        if latest is not None and owners and not any(("BatchRelease", o) in latest for o in owners):
            return "kube-controller-manager (garbage collector, inferred)"
        return f"{st.OURS} (delete, inferred)"
    return st.writer(kind, etype, old, new)


def gives_work(e: st.Event) -> bool:
    """Our writes the cluster acts on: spec changes *and creations* of Deployments/ReplicaSets (the
    canary Deployment's creation is what starts its pods)."""
    return e.actor == "ours" and e.kind in ("Deployment", "ReplicaSet") and (e.generation_changed or e.etype == "ADDED")


def timer_windows(events: list[st.Event], grace: float) -> list[tuple[float, float, str]]:
    """(start, end, why) of every designed wait:

    * the grace after each of our Service/Ingress writes (spec §3 step 6–7, §6);
    * the grace after the Rollout enters StepTrafficRouting: that write sets ``lastUpdateTime``, and
      DoTrafficRouting waits ``lastUpdateTime + grace`` before touching the routes ("wait for network
      providers to consume the modification about workload", upstream; spec §3 step 5);
    * the settle after the Rollout enters Initializing.

    A window closes at the timer's length or at our next write that is not the Rollout's status,
    whichever is first: the timer has fired once we act on another object (the settle and
    DoTrafficRouting's grace count from a second-truncated ``lastUpdateTime``, so they may end up
    to 1 s early; what we do after that is reaction). The Rollout's own status writes do not close a
    window: they record the wait (a round persisting its message) rather than end it. An unrelated
    write of ours inside a window closes it early, which errs towards charging us."""
    out = []
    ours = [e for e in events if e.actor == "ours"]
    for i, e in enumerate(ours):
        if e.kind in ("Service", "Ingress"):
            length, why = grace, f"grace after {e.describe()}"
        elif e.kind == "Rollout" and e.after.get("state") == "StepTrafficRouting" != e.before.get("state"):
            length, why = grace, "grace after the workload change (StepTrafficRouting's lastUpdateTime)"
        elif e.kind == "Rollout" and e.after.get("reason") == "Initializing" != e.before.get("reason"):
            length, why = INITIALIZING_SETTLE_SECONDS, "Initializing settle"
        else:
            continue
        nxt = next((x.t for x in ours[i + 1:] if x.t > e.t and x.kind != "Rollout"), math.inf)
        out.append((e.t, min(e.t + length, nxt), why))
    return out


def designed_wait(windows: list[tuple[float, float, str]]) -> Callable[[st.Event | None, st.Event, float], float]:
    """For :func:`step_trace.attribute`: the part of an ours-gap starting at ``prev_t`` inside a timer
    window. Windows start at events, so a window can only cover a prefix of a gap."""
    def wait(prev: st.Event | None, e: st.Event, prev_t: float) -> float:
        ends = [end for start, end, _ in windows if start <= prev_t < end]
        return min(max(ends), e.t) - prev_t if ends else 0.0
    return wait


def attribute(events: list[st.Event], t0: float, t_end: float, grace: float) -> list[st.Interval]:
    return st.attribute(events, t0, t_end, gives_work=gives_work,
                        designed_wait=designed_wait(timer_windows(events, grace)))


# --- end states and milestones ------------------------------------------------------------------


def rollout_state(tr: st.Tracer) -> tuple[Any, Any, Any]:
    status = tr.obj("Rollout", ROLLOUT).get("status") or {}
    sub = status.get("canaryStatus") or {}
    return (status.get("phase"), status.get("currentStepIndex", sub.get("currentStepIndex")),
            status.get("currentStepState", sub.get("currentStepState")))


def canary_weight(ingress: dict | None) -> str | None:
    annotations = ((ingress or {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get(keys.NGINX_CANARY_ANNOTATION) != "true":
        return None
    return annotations.get(keys.NGINX_CANARY_WEIGHT_ANNOTATION)


def canary_ready(tr: st.Tracer, replicas: int) -> bool:
    """Exactly one canary Deployment, scaled to ``replicas``, all of them ready."""
    canaries = [o for (k, _), o in tr.latest.items() if k == "Deployment" and is_canary_deployment(o)]
    if len(canaries) != 1:
        return False
    d = canaries[0]
    ds = d.get("status") or {}
    return (d["spec"].get("replicas") == replicas and ds.get("readyReplicas") == replicas
            and ds.get("replicas") == replicas)


def step_done(step: int, weight: int | None, replicas: int) -> Callable[[st.Tracer], bool]:
    """The issue's end of a step: weight on the canary Ingress (unless ``None``: no traffic
    routing), canary pods ready, StepPaused there."""
    def pred(tr: st.Tracer) -> bool:
        return (rollout_state(tr) == ("Progressing", step, "StepPaused")
                and (weight is None or canary_weight(tr.obj("Ingress", CANARY_INGRESS)) == str(weight))
                and canary_ready(tr, replicas))
    return pred


def release_done(replicas: int, selector: dict[str, str], *, canary_gone: bool = True) -> Callable[[st.Tracer], bool]:
    """Healthy/Completed, canary objects gone, stable Service as written, all pods ready on v2.

    ``canary_gone=False`` leaves out the canary Deployment, which the garbage collector deletes after
    the BatchRelease (batch-release.md §7, as upstream): the controller's part ends before."""
    def pred(tr: st.Tracer) -> bool:
        phase, _, state = rollout_state(tr)
        d = tr.obj("Deployment", WORKLOAD)
        ds = d.get("status") or {}
        canaries = [o for (k, _), o in tr.latest.items() if k == "Deployment" and is_canary_deployment(o)]
        gone = not canary_gone or not canaries
        gone = gone and not tr.obj("Ingress", CANARY_INGRESS) and not tr.obj("Service", CANARY_SERVICE)
        return ((phase, state) == ("Healthy", "Completed") and gone
                and (tr.obj("Service", WORKLOAD).get("spec") or {}).get("selector") == selector
                and not (d.get("spec") or {}).get("paused")
                and ds.get("observedGeneration") == (d.get("metadata") or {}).get("generation")
                and ds.get("updatedReplicas") == ds.get("readyReplicas") == ds.get("replicas") == replicas)
    return pred


def weight_applied_at(events: list[st.Event], t0: float, t_end: float, weight: int) -> float:
    """Receipt time of the first canary Ingress event after ``t0`` carrying ``weight`` (``t_end`` if none)."""
    return next((e.t for e in events if t0 < e.t <= t_end and e.kind == "Ingress" and e.name == CANARY_INGRESS
                 and e.etype != "DELETED" and canary_weight(e.obj) == str(weight)), t_end)


# --- reporting ----------------------------------------------------------------------------------


def split(ivs: list[st.Interval]) -> dict[str, float]:
    return {w: sum(iv.ms for iv in ivs if iv.who == w) for w in ("ours", "cluster", "fixed")}


def step_summary(name: str, tr: st.Tracer, t0: float, t_end: float, grace: float, *, stable: str,
                 weight: int | None, replicas: int | None, verbose: bool) -> dict[str, float]:
    """The whole step split, and (for a step, ``replicas`` set) its part up to "weight on the
    Ingress (``None``: no routing) and canary pods Ready"."""
    r = st.summarize(name, attribute(tr.events, t0, t_end, grace), t0, t_end, verbose)
    if replicas is None:
        return r
    t_weight = t0 if weight is None else weight_applied_at(tr.events, t0, t_end, weight)
    t_pods = st.pods_updated_at(tr.events, t0, t_end, stable, replicas)
    t_issue = max(t_weight, t_pods)
    tot = split(attribute(tr.events, t0, t_issue, grace))
    print(f"    → {replicas} canary pods ready after {1000 * (t_pods - t0):5.0f} ms, weight {weight} after "
          f"{1000 * (t_weight - t0):5.0f} ms: ours {tot['ours']:5.0f}  cluster {tot['cluster']:5.0f}"
          f"  fixed {tot['fixed']:5.0f}", flush=True)
    return {**r, "pods_ms": (t_pods - t0) * 1000, "weight_ms": (t_weight - t0) * 1000,
            "issue_total_ms": (t_issue - t0) * 1000, **{f"issue_{k}_ms": v for k, v in tot.items()}}


async def canary_collected(tr: st.Tracer, t0: float, selector: dict[str, str]) -> float:
    """ms from ``t0`` until the garbage collector has deleted the canary Deployment as well."""
    t = await tr.wait(release_done(REPLICAS, selector))
    print(f"    → canary Deployment gone after {1000 * (t - t0):6.0f} ms", flush=True)
    return (t - t0) * 1000


def print_stuck(tr: st.Tracer, last: int = 25) -> None:
    """What a step that never ended was waiting for: the last progress events and the objects."""
    print(f"  stuck; last {last} progress events:")
    for e in tr.events[-last:]:
        print(f"    {e.t:12.3f} {e.actor:7s} {e.describe()} [{e.manager}]")
    print(f"  rollout status: {json.dumps(tr.obj('Rollout', ROLLOUT).get('status'), sort_keys=True)}")
    for (kind, name), o in sorted(tr.latest.items()):
        if kind in ("Service", "Ingress", "Deployment", "BatchRelease"):
            print(f"  {kind} {name}: {signature(kind, o)}")


async def approve(client: KubeClient, ns: str) -> float:
    """The plugin's ``approve`` (an UPDATE of ``/status``) sent by this process; returns when stored."""
    ro = await client.get(ROLLOUTS, ROLLOUT, ns)
    body = approved_body(ro)
    body["metadata"].pop("managedFields", None)  # sent back as read, they would credit our manager
    await client.update_status(ROLLOUTS, body)
    return time.monotonic()


async def run_namespace(client: KubeClient, kc: Kubectl, verbose: bool, traffic: bool) -> dict[str, dict]:
    ns = f"canary-trace-{uuid.uuid4().hex[:5]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    tr = st.Tracer(client, ns, kinds=KINDS, signature_of=signature, rollout=ROLLOUT)
    tr.writer_of = functools.partial(writer, latest=tr.latest)
    rollout = manual_rollout(traffic=traffic)
    targets, grace = step_targets(rollout, 5), grace_seconds(rollout)
    out: dict[str, dict] = {}
    try:
        await asyncio.sleep(1)  # default ServiceAccount
        await tr.start()
        kc("-n", ns, "apply", "-f", "-", input=SEED_WORKLOAD)
        kc("-n", ns, "apply", "-f", "-", input=yaml.safe_dump(rollout))
        selector = next(d for d in yaml.safe_load_all(SEED_WORKLOAD) if d["kind"] == "Service")["spec"]["selector"]
        await tr.wait(release_done(REPLICAS, selector))
        await asyncio.sleep(0.5)
        print(f" canary ({ns})", flush=True)
        stable = st.stable_hash(tr)
        t0 = time.monotonic()
        await client.patch(DEPLOYMENTS, WORKLOAD, V2_PATCH, ns, patch_type="strategic")
        for step, (weight, replicas) in enumerate(targets, start=1):
            key = "release" if step == 1 else f"approve{step - 1}"
            # A last step at full size does not pause (rollout-lifecycle.md): it runs into the finish.
            ends_release = step == len(targets) and replicas >= REPLICAS
            t_end = await tr.wait(release_done(REPLICAS, selector, canary_gone=False) if ends_release
                                  else step_done(step, weight, replicas))
            out[key] = step_summary(key, tr, t0, t_end, grace, stable=stable, weight=weight, replicas=replicas,
                                    verbose=verbose)
            if ends_release:
                out[key]["gc_ms"] = await canary_collected(tr, t0, selector)
                return out
            await asyncio.sleep(0.5)
            t0 = await approve(client, ns)
        t_end = await tr.wait(release_done(REPLICAS, selector, canary_gone=False))
        out["finish"] = step_summary("finish", tr, t0, t_end, grace, stable=stable, weight=None, replicas=None,
                                     verbose=verbose)
        out["finish"]["gc_ms"] = await canary_collected(tr, t0, selector)
        return out
    except TimeoutError:
        print_stuck(tr)
        raise
    finally:
        await tr.stop()
        await client.delete(NAMESPACES, ns)


async def bench(kubeconfig: str, rounds: int, verbose: bool, traffic: bool) -> dict[str, dict[str, float]]:
    kc = Kubectl(kubeconfig)
    mgr = ManagerProcess(kubeconfig, Path(tempfile.mkdtemp(prefix="canary-trace-mgr-")),
                         extra_args=("--no-leader-elect",))
    mgr.start()
    client = await KubeClient.from_kubeconfig(kubeconfig, settings=ClientSettings(user_agent=f"{st.ME}/0.1"))
    results: list[dict[str, dict]] = []
    try:
        for i in range(rounds):
            print(f"round {i + 1} (load average {os.getloadavg()[0]:.1f})", flush=True)
            results.append(await run_namespace(client, kc, verbose, traffic))
    finally:
        await client.aclose()
        mgr.stop()
        cleanup_cluster_registrations(kc)
        print(f"manager log: {mgr.log_path}")
    return {k: {m: round(statistics.median(r[k][m] for r in results)) for m in results[0][k]} for k in results[0]}


def print_summary(summary: dict[str, dict[str, float]], rounds: int) -> None:
    print(f"medians over {rounds} rounds (ms): whole step (to StepPaused; the last to Healthy) | until weight "
          "on the Ingress and canary pods Ready")
    for key, v in summary.items():
        line = (f"  {key:9s} total {v['total_ms']:6d}  ours {v['ours_ms']:5d}  cluster {v['cluster_ms']:5d}"
                f"  fixed {v['fixed_ms']:5d}")
        if "issue_total_ms" in v:
            line += (f" | total {v['issue_total_ms']:6d}  ours {v['issue_ours_ms']:5d}"
                     f"  cluster {v['issue_cluster_ms']:5d}  fixed {v['issue_fixed_ms']:5d}")
        if "gc_ms" in v:
            line += f" | canary Deployment gone (GC) {v['gc_ms']:6d}"
        print(line)
    print(json.dumps(summary))


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--kubeconfig", help="existing cluster (default: a fresh local control plane)")
    p.add_argument("--verbose", action="store_true", help="also list the cluster's intervals")
    p.add_argument("--no-traffic", action="store_true",
                   help="the seed Rollout without trafficRoutings: the canary Deployment executor alone")
    args = p.parse_args()
    from localcluster.cluster import kubeconfig_or_local

    with kubeconfig_or_local(args.kubeconfig) as kubeconfig:
        summary = asyncio.run(bench(kubeconfig, args.rounds, args.verbose, not args.no_traffic))
    print_summary(summary, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
