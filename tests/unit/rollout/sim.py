"""A scripted world for the pure Rollout machine: a fake BatchRelease controller and a clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from rollouts.release.batch import planned_batch_replicas
from rollouts.release.plan import release_plan_hash
from rollouts.rollout import actions as act
from rollouts.rollout.machine import reconcile_rollout, settle
from rollouts.rollout.model import Observation, WorkloadObservation

T0 = datetime(2023, 4, 8, 7, 27, 16, tzinfo=UTC)


def seed_rollout(steps=None):
    return {
        "apiVersion": "rollouts.kruise.io/v1beta1",
        "kind": "Rollout",
        "metadata": {
            "name": "rollouts-demo",
            "namespace": "default",
            "uid": "ro-uid",
            "generation": 2,
            "annotations": {"rollouts.kruise.io/rolling-style": "partition"},
        },
        "spec": {
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
            "strategy": {"canary": {"steps": steps or [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}},
        },
    }


class Sim:
    def __init__(self, rollout, replicas=10, revision="6c7764b765", chained=False):
        self.rollout = rollout
        #: Reconcile like the controller does (``settle``: rounds chained in memory until I/O).
        self.chained = chained
        self.now = T0
        self.workload = WorkloadObservation(
            replicas=replicas,
            generation=1,
            stable_revision=revision,
            canary_revision=revision,
            pod_template_hash=revision,
        )
        self.br = None
        self.finalising_done = False
        self.reset_done = False
        self.events = []
        self.trace = []
        self.br_auto_ready = True
        #: The reconciler's ``rollback_in_batch_policy`` verdict for this Rollout and workload.
        self.rollback_in_batch = False

    def observe(self):
        return Observation(
            workload=self.workload,
            batch_release=copy.deepcopy(self.br),
            finalising_done=self.finalising_done,
            reset_done=self.reset_done,
            rollback_in_batch=self.rollback_in_batch,
        )

    def _br_controller(self):
        """Fake BR controller: instantly releases up to batchPartition and reports Ready."""
        if self.br is None or not self.br_auto_ready:
            return
        plan = self.br["spec"]["releasePlan"]
        part = plan.get("batchPartition")
        batch = 0 if part is None else part
        planned = planned_batch_replicas(plan["batches"][batch]["canaryReplicas"], self.workload.replicas)
        self.br["status"] = {
            "observedGeneration": self.br["metadata"]["generation"],
            "observedReleasePlanHash": release_plan_hash(plan),
            "observedRolloutID": plan.get("rolloutID", ""),
            "canaryStatus": {
                "batchState": "Ready",
                "currentBatch": batch,
                "updatedReplicas": planned,
                "updatedReadyReplicas": planned,
            },
        }

    def step(self, advance=0.0):
        self.now += timedelta(seconds=advance)
        if self.chained:
            settled = settle(self.rollout, self.observe(), self.now)
            out = settled.outcome
            self.events.extend(a.message for a in settled.events)
        else:
            out = reconcile_rollout(self.rollout, self.observe(), self.now)
        for a in out.actions:
            if isinstance(a, act.PatchHashAnnotation):
                self.rollout["metadata"]["annotations"]["rollouts.kruise.io/hash"] = a.value
            elif isinstance(a, act.CreateBatchRelease):
                self.br = copy.deepcopy(dict(a.body))
                self.br["metadata"]["generation"] = 1
            elif isinstance(a, act.UpdateBatchRelease):
                self.br["spec"] = copy.deepcopy(dict(a.body["spec"]))
                self.br["metadata"]["annotations"] = copy.deepcopy((a.body.get("metadata") or {}).get("annotations"))
                self.br["metadata"]["generation"] += 1
            elif isinstance(a, act.PatchBatchReleaseRolloutID):
                self.br["spec"]["releasePlan"]["rolloutID"] = a.rollout_id
                self.br["metadata"]["generation"] += 1
            elif isinstance(a, act.EmitEvent):
                self.events.append(a.message)
        if out.status is not None:
            self.rollout["status"] = copy.deepcopy(dict(out.status))
        self._br_controller()
        st = self.rollout.get("status") or {}
        self.trace.append((st.get("phase"), st.get("currentStepIndex"), st.get("currentStepState"), st.get("message")))
        return out

    def settle(self, rounds=30):
        """Reconcile until the visible tuple stops changing (advancing the clock for requeues)."""
        quiet = 0
        for _ in range(rounds):
            before = copy.deepcopy(self.rollout)
            out = self.step()
            quiet = quiet + 1 if self.rollout == before else 0
            if quiet >= 3:
                return out
            if out.requeue_after:
                self.now += timedelta(seconds=out.requeue_after)
        raise AssertionError("did not settle")

    def release(self, revision):
        self.workload = WorkloadObservation(
            replicas=self.workload.replicas,
            generation=self.workload.generation + 1,
            stable_revision=self.workload.stable_revision,
            canary_revision=revision,
            pod_template_hash=revision,
            in_progressing=True,
        )

    def finish_cleanup(self):
        """The reconciler's cleanup finished: workload released, in-progressing annotation removed."""
        self.finalising_done = True
        self.workload = WorkloadObservation(
            replicas=self.workload.replicas,
            generation=self.workload.generation,
            stable_revision=self.workload.canary_revision,
            canary_revision=self.workload.canary_revision,
            pod_template_hash=self.workload.pod_template_hash,
        )

    def approve(self):
        self.rollout["status"]["canaryStatus"]["currentStepState"] = "StepReady"
        self.rollout["status"]["currentStepState"] = "StepReady"

    def distinct_trace(self):
        out = []
        for t in self.trace:
            if not out or out[-1] != t:
                out.append(t)
        return out
