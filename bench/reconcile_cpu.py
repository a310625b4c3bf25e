"""CPU per reconcile round of the Rollout machine and the BatchRelease executor (in-process, no cluster).

Usage (repo root, project venv):
    .venv/bin/python bench/reconcile_cpu.py [--releases 200] [--repeat 5]

Why: issue 10 moves the domain from raw dicts to the typed ``rollouts.api`` models (decode at the
edge, encode the status patch at the edge). Decoding and encoding cost CPU that dict access did not,
and the target is to stay within 1.2x of the dict code. This bench replays the seed walkthrough
(10 replicas, steps 1 / 50% / 100%, two approvals) in a scripted world and times, per round:

* ``rollout``: ``settle`` (chained rounds of ``reconcile_rollout``) plus the edge work the reconciler
  does with its result (the status body it writes — the model's one encode since the status is the
  model — and the ``/status`` merge patch against the stored status);
* ``batchrelease``: the executor's ``sync_status`` + ``run`` over a plan of three batches with a
  scripted control plane (always ready, no I/O).

Figures are ``time.process_time`` per round, best of ``--repeat`` runs (the machine is shared, the
minimum is the least disturbed). Nothing here awaits real I/O, so coroutines are driven by hand.
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from rollouts.controllers.batchrelease import deployment as dep  # noqa: E402
from rollouts.controllers.batchrelease import executor as ex  # noqa: E402
from rollouts.controllers.common import merge_patch  # noqa: E402
from rollouts.controllers.rollout import controller as rollout_controller  # noqa: E402
from rollouts.controllers.rollout.controller import with_go_zero_values  # noqa: E402
from rollouts.release.batch import planned_batch_replicas  # noqa: E402
from rollouts.release.plan import release_plan_hash  # noqa: E402
from rollouts.rollout import actions as act  # noqa: E402
from rollouts.rollout.machine import settle  # noqa: E402
from rollouts.rollout.model import Observation, WorkloadObservation  # noqa: E402
from runtime.cache.frozen import thaw  # noqa: E402

T0 = datetime(2023, 4, 8, 7, 27, 16, tzinfo=UTC)
REPLICAS = 10
STABLE, CANARY = "6c7764b765", "6dd59d49b5"


def seed_rollout() -> dict[str, Any]:
    """The seed walkthrough's Rollout (docs/walkthrough.md)."""
    return {
        "apiVersion": "rollouts.kruise.io/v1beta1",
        "kind": "Rollout",
        "metadata": {"name": "rollouts-demo", "namespace": "default", "uid": "ro-uid", "generation": 2,
                     "resourceVersion": "1", "annotations": {"rollouts.kruise.io/rolling-style": "partition"}},
        "spec": {
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
            "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}},
        },
    }


class RolloutWorld:
    """The Rollout, its BatchRelease (reported Ready at once) and the workload, stepped by rounds."""

    def __init__(self) -> None:
        self.rollout = seed_rollout()
        self.now = T0
        self.br: dict[str, Any] | None = None
        self.finalising_done = False
        self.rounds = 0
        self.workload = WorkloadObservation(replicas=REPLICAS, generation=1, stable_revision=STABLE,
                                            canary_revision=STABLE, pod_template_hash=STABLE)

    def round(self) -> tuple[bool, float | None]:
        """One reconcile; (did it change the Rollout or the BatchRelease?, requeue delay)."""
        obs = Observation(workload=self.workload, batch_release=self.br, finalising_done=self.finalising_done)
        out = settle(self.rollout, obs, self.now).outcome
        changed = False
        for a in out.actions:
            changed = self._perform(a) or changed
        if (out.model if hasattr(out, "model") else out.status) is not None:
            new = status_body(out)
            if merge_patch(self.rollout.get("status") or {}, new):
                self.rollout["status"] = new
                changed = True
        self._br_controller()
        self.rounds += 1
        return changed, out.requeue_after

    def _perform(self, a: act.Action) -> bool:
        if isinstance(a, act.PatchHashAnnotation):
            self.rollout["metadata"]["annotations"]["rollouts.kruise.io/hash"] = a.value
        elif isinstance(a, act.CreateBatchRelease):
            self.br = copy.deepcopy(dict(a.body))
            self.br["metadata"]["generation"] = 1
        elif isinstance(a, act.UpdateBatchRelease) and self.br is not None:
            self.br = {**self.br, "spec": copy.deepcopy(dict(a.body["spec"]))}
            self.br["metadata"] = {**self.br["metadata"], "generation": self.br["metadata"]["generation"] + 1}
        else:
            return False
        return True

    def _br_controller(self) -> None:
        if self.br is None:
            return
        plan = self.br["spec"]["releasePlan"]
        batch = plan.get("batchPartition") or 0
        planned = planned_batch_replicas(plan["batches"][batch]["canaryReplicas"], REPLICAS)
        self.br["status"] = {
            "observedGeneration": self.br["metadata"]["generation"], "observedReleasePlanHash": release_plan_hash(plan),
            "observedRolloutID": plan.get("rolloutID", ""),
            "canaryStatus": {"batchState": "Ready", "currentBatch": batch, "updatedReplicas": planned,
                             "updatedReadyReplicas": planned},
        }

    def settle(self) -> None:
        """Rounds until the Rollout stops changing (requeues advance the clock)."""
        quiet = 0
        while quiet < 2:
            changed, requeue = self.round()
            quiet = 0 if changed else quiet + 1
            self.now += timedelta(seconds=requeue or 1.0)

    def approve(self) -> None:
        for st in (self.rollout["status"]["canaryStatus"], self.rollout["status"]):
            st["currentStepState"] = "StepReady"


def play_rollout() -> int:
    """One seed release from Healthy to Healthy; returns the rounds it took."""
    w = RolloutWorld()
    w.settle()
    w.workload = WorkloadObservation(replicas=REPLICAS, generation=2, stable_revision=STABLE,
                                     canary_revision=CANARY, pod_template_hash=CANARY, in_progressing=True)
    w.settle()
    for _ in range(2):
        w.approve()
        w.settle()
    w.finalising_done = True
    w.workload = WorkloadObservation(replicas=REPLICAS, generation=2, stable_revision=CANARY,
                                     canary_revision=CANARY, pod_template_hash=CANARY)
    w.settle()
    assert w.rollout["status"]["phase"] == "Healthy", w.rollout["status"]
    return w.rounds


class ReadyControl:
    """A control plane with nothing to write: every batch is ready at once."""

    async def initialize(self, status: dict[str, Any]) -> bool:
        return True

    async def upgrade_batch(self, status: dict[str, Any]) -> bool:
        return True

    async def batch_ready(self, status: dict[str, Any]) -> str | None:
        return None

    async def finalize(self) -> bool:
        return True


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (no event loop needed)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the scripted control plane suspended")


def _decode_module() -> Any:
    """``rollouts.api.decode``, or None in the dict code (resolved once: a failing import per release
    cost the dict code's rounds ~3 µs each in the first two passes' figures)."""
    try:
        from rollouts.api import decode
    except ImportError:
        return None
    return decode


DECODE = _decode_module()


def _dict_status_body(out: Any) -> dict[str, Any]:
    """The write edge of the reconciler while the status was the wire dict (``_write_status``)."""
    return with_go_zero_values(thaw(out.status))


#: What the reconciler writes for a round (``controller.status_body`` since the status is the model:
#: its one encode). Before, the dict edge; the bench used ``copy.deepcopy`` there until the fourth pass.
status_body = getattr(rollout_controller, "status_body", _dict_status_body)


def _batch_release_decoder() -> Any:
    """The reconciler's decode, made once per BatchRelease (``rollouts.api.decode``): BatchRelease →
    (what the executor takes, extra ``sync_status`` keywords). The identity before issue 10."""
    decode = DECODE
    if decode is None:  # the dict code: nothing to decode
        return lambda br: (br, {})
    if hasattr(decode, "SpecCache"):  # third pass: the spec and its plan hash cached by (uid, generation)
        specs = decode.SpecCache()

        def cached(br: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            model = decode.batch_release_for_executor(br, specs)
            return model, {"plan_digest": specs.plan_hash(model)}
        return cached
    # Since the second pass: metadata + spec + the projected stored status (the first pass decoded it all).
    full = getattr(decode, "batch_release_for_executor", decode.batch_release)
    return lambda br: (full(br), {})


@functools.cache
def _status_edge_kind() -> Any:
    """``batchrelease.brstatus`` when the tree has it (looked up once: a failing import per play
    would be charged to the dict code), else None."""
    try:
        from rollouts.controllers.batchrelease import brstatus  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    return brstatus


def _status_edge() -> tuple[Any, Any]:
    """The reconciler's status edge: (stored wire status → what the executor edits, that → the wire
    status the merge patch is computed from). The dict code copies the dict; since the BatchRelease
    status became the model (``batchrelease.brstatus``) it is decoded once and encoded at most once
    (not at all when nothing was edited), as the reconciler does."""
    brstatus = _status_edge_kind()
    if brstatus is None:
        return copy.deepcopy, lambda status: status
    from rollouts.api.edit import edit_count
    read: list[Any] = []

    def open_status(wire: dict[str, Any]) -> Any:
        read[:] = [wire, edit_count()]
        return brstatus.decode(wire)
    return open_status, lambda st: brstatus.encode(st, read[0], read[1])


#: Reconciles the BatchRelease sees per spec generation (``--rounds-per-generation``). 2 is this
#: bench's original script (the scripted control is ready at once); on a real cluster a step also
#: wakes the BatchRelease for its own status writes, the workload's and every pod's events.
ROUNDS_PER_GENERATION = 2


def play_batch_release() -> int:
    """One BatchRelease walking batches 0..2 then finalizing; returns the rounds it took.

    Each spec change bumps ``metadata.generation`` as the API server does (the typed code caches the
    decoded spec by (uid, generation))."""
    plan: dict[str, Any] = {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}],
                            "batchPartition": 0, "rolloutID": "r1", "rollingStyle": "Partition",
                            "enableExtraWorkloadForCanary": False}
    br: dict[str, Any] = {"metadata": {"name": "rollouts-demo", "namespace": "default", "uid": "br-uid",
                                       "generation": 1},
                          "spec": {"releasePlan": plan}, "status": ex.initial_status()}
    control: Any = ReadyControl()
    decode = _batch_release_decoder()
    open_status, encode = _status_edge()
    info = dep.WorkloadInfo(replicas=REPLICAS, updated=REPLICAS, updated_ready=REPLICAS)
    rounds = 0
    n = ROUNDS_PER_GENERATION
    partitions = [p for p in (0, 1, 2) for _ in range(n)] + [None] * (n + 1)  # n=2: 0,0,1,1,2,2,None×3
    for partition in partitions:
        if br["spec"]["releasePlan"]["batchPartition"] != partition:
            br["spec"]["releasePlan"]["batchPartition"] = partition
            br["metadata"]["generation"] += 1
        status = open_status(br["status"])
        model, extra = decode(br)  # as the reconciler does: once per reconcile
        if ex.sync_status(model, status, dep.NORMAL, info, **extra):
            drive(ex.run(model, status, control, T0, lambda: 0))
        wire = encode(status)
        if merge_patch(br["status"], wire):
            br["status"] = wire
        rounds += 1
    assert br["status"]["phase"] == "Completed", br["status"]
    return rounds


def measure(play: Any, releases: int, repeat: int) -> tuple[float, int]:
    """Best-of-``repeat`` CPU µs per round over ``releases`` plays; and the rounds per play."""
    best = float("inf")
    rounds = 0
    for _ in range(repeat):
        start = time.process_time()
        total = sum(play() for _ in range(releases))
        best = min(best, (time.process_time() - start) / total * 1e6)
        rounds = total // releases
    return best, rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--rounds-per-generation", type=int, default=ROUNDS_PER_GENERATION,
                        help="BatchRelease reconciles per spec generation (default: the original script's 2)")
    args = parser.parse_args()
    globals()["ROUNDS_PER_GENERATION"] = args.rounds_per_generation
    for name, play in (("rollout", play_rollout), ("batchrelease", play_batch_release)):
        us, rounds = measure(play, args.releases, args.repeat)
        print(f"{name:13s} {us:8.1f} µs CPU/round  ({rounds} rounds per release, best of {args.repeat})")


if __name__ == "__main__":
    main()
