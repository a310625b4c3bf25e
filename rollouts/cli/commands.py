"""``kubectl kruise rollout approve|pause|resume|undo|status`` against a :class:`RolloutApi`.

Behaviour matches upstream kruise-tools where it is observable (object changes, one-line results,
``error: ...`` on stderr with exit code 1). Deliberate differences are documented in
docs/release.md ("kubectl plugin").
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from rollouts.api import load_hub
from rollouts.api.v1beta1.rollout import RolloutSpec
from rollouts.cli.api import ApiConflict, ApiNotFound, RolloutApi
from rollouts.cli.target import Target
from rollouts.objects import deployment as deploy
from rollouts.objects import meta, replicaset, workload
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL, equal_ignore_hash

#: Attempts of the read-check-update cycle of ``approve`` when the status write conflicts.
MAX_CONFLICT_RETRIES = 5
STEP_PAUSED = "StepPaused"
STEP_READY = "StepReady"
#: The Rollout condition carrying the last metrics-analysis values (docs/analysis.md).
ANALYSIS_CONDITION = "MetricsAnalysis"
#: Deployment annotations kubectl never copies from a ReplicaSet during undo.
_UNDO_SKIP_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)
#: Kruise Rollouts bookkeeping on the Deployment is kept as is by undo (see docs).
_ROLLOUTS_ANNOTATION_PREFIXES = ("rollouts.kruise.io/", "batchrelease.rollouts.kruise.io/")


class CommandError(Exception):
    """A user-facing failure; printed as ``error: <message>`` with exit code 1."""


def is_v1alpha1(rollout: dict[str, Any]) -> bool:
    return str(rollout.get("apiVersion", "")).endswith("/v1alpha1")


def step_state(rollout: dict[str, Any]) -> tuple[str, str]:
    """(field path, current step state) — the path the approval must change.

    v1alpha1 keeps the state only in ``status.canaryStatus``. v1beta1 has it in the active
    sub-status (``canaryStatus`` or ``blueGreenStatus``) — which is what the controller reads — and
    mirrors it at ``status.currentStepState``.
    """
    status = rollout.get("status") or {}
    for key in ("canaryStatus",) if is_v1alpha1(rollout) else ("canaryStatus", "blueGreenStatus"):
        sub = status.get(key)
        if sub:
            return f"status.{key}.currentStepState", sub.get("currentStepState", "")
    if is_v1alpha1(rollout):
        return "status.canaryStatus.currentStepState", ""
    return "status.currentStepState", status.get("currentStepState", "")


def approved_body(rollout: dict[str, Any]) -> dict[str, Any]:
    """The Rollout with its step state set to ``StepReady`` (sub-status and v1beta1 mirror)."""
    body = copy.deepcopy(rollout)
    status = body.setdefault("status", {})
    path, _ = step_state(rollout)
    parts = path.split(".")
    if len(parts) == 3:
        status.setdefault(parts[1], {})["currentStepState"] = STEP_READY
    if not is_v1alpha1(rollout):
        status["currentStepState"] = STEP_READY
    return body


async def _get_rollout(api: RolloutApi, namespace: str, target: Target) -> dict[str, Any]:
    try:
        return await api.get_rollout(namespace, target.name)
    except ApiNotFound as exc:
        raise CommandError(f'rollouts.rollouts.kruise.io "{target.name}" not found in namespace "{namespace}"') from exc


async def approve(api: RolloutApi, namespace: str, target: Target, out: TextIO) -> None:
    """Read, require ``StepPaused``, set ``StepReady`` via an UPDATE of ``/status`` (retry on conflict)."""
    for _ in range(MAX_CONFLICT_RETRIES):
        rollout = await _get_rollout(api, namespace, target)
        path, state = step_state(rollout)
        if state != STEP_PAUSED:
            raise CommandError(
                f"{target.display} does not allow to approve, because {path} is {state!r}, not {STEP_PAUSED!r}; "
                "approve only when the rollout waits for manual confirmation"
            )
        try:
            await api.update_rollout_status(approved_body(rollout))
        except ApiConflict:
            continue
        print(f"{target.display} approved", file=out)
        return
    raise CommandError(f"{target.display}: status update kept conflicting after {MAX_CONFLICT_RETRIES} attempts, retry")


def _spec(rollout: dict[str, Any]) -> RolloutSpec:
    """The Rollout's spec as the v1beta1 model, whichever version the plugin read (a v1alpha1 object
    is converted: its workload sits under ``objectRef``). The status stays a dict here: the plugin
    reads it per version (:func:`step_state`)."""
    return load_hub({k: v for k, v in rollout.items() if k != "status"}).spec


async def set_paused(api: RolloutApi, namespace: str, target: Target, paused: bool, out: TextIO) -> None:
    """``pause``/``resume``: merge-patch ``spec.strategy.paused``; error if already in that state."""
    rollout = await _get_rollout(api, namespace, target)
    current = _spec(rollout).strategy.paused
    if current == paused:
        what = "already paused" if paused else "not paused"
        raise CommandError(f'rollouts.rollouts.kruise.io "{target.name}" is {what}')
    await api.patch_rollout(namespace, target.name, {"spec": {"strategy": {"paused": paused}}})
    print(f"{target.display} {'paused' if paused else 'resumed'}", file=out)


def _revision(obj: dict[str, Any]) -> int:
    return replicaset.revision(obj, default=0)


def _selector_string(deployment: dict[str, Any]) -> str:
    labels = workload.match_labels(deployment)
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _rollouts_managed(deployment: dict[str, Any]) -> bool:
    anns = meta.annotations_of(deployment)
    return any(k.startswith(_ROLLOUTS_ANNOTATION_PREFIXES) for k in anns)


def _previous_revision(deployment: dict[str, Any], owned: list[dict[str, Any]], name: str) -> int:
    """kubectl's "last revision" (the second newest), unless the template never got a ReplicaSet.

    A canary-style release keeps the Deployment paused on its new template, so no ReplicaSet has
    it: the newest ReplicaSet is then the revision before it (the one still running), and undo means
    going back to that one. kubectl would answer "no rollout history" for a first release."""
    revisions = sorted({_revision(rs) for rs in owned}, reverse=True)
    current = workload.spec(deployment).get("template")
    if revisions and not any(equal_ignore_hash(workload.template(rs), current) for rs in owned):
        return revisions[0]
    if len(revisions) < 2:
        raise CommandError(f'no rollout history found for deployment "{name}"')
    return revisions[1]


def undo_patch(deployment: dict[str, Any], replica_sets: list[dict[str, Any]], to_revision: int) -> tuple[list, int]:
    """kubectl's DeploymentRollbacker as a pure function → (JSON patch ops, revision); [] = no-op."""
    uid = meta.metadata(deployment).get("uid")
    owned = [rs for rs in replica_sets if meta.is_controlled_by(rs, uid)]
    name = meta.metadata(deployment).get("name")
    if to_revision == 0:
        to_revision = _previous_revision(deployment, owned, str(name))
    matches = [rs for rs in owned if _revision(rs) == to_revision]
    if not matches:
        raise CommandError(f"unable to find specified revision {to_revision} in history")
    rs = matches[0]
    if deploy.is_paused(deployment) and not _rollouts_managed(deployment):
        raise CommandError(
            f"you cannot rollback a paused deployment; resume it first with "
            f"'kubectl rollout resume deployment/{name}' and try again"
        )
    template = copy.deepcopy(workload.template(rs))
    if equal_ignore_hash(template, workload.spec(deployment).get("template")):
        return [], to_revision
    ((template.get("metadata") or {}).get("labels") or {}).pop(POD_TEMPLATE_HASH_LABEL, None)
    current = meta.annotations_of(deployment)
    annotations = {
        k: v for k, v in current.items() if k in _UNDO_SKIP_ANNOTATIONS or k.startswith(_ROLLOUTS_ANNOTATION_PREFIXES)
    }
    for k, v in meta.annotations_of(rs).items():
        if k not in _UNDO_SKIP_ANNOTATIONS and not k.startswith(_ROLLOUTS_ANNOTATION_PREFIXES):
            annotations[k] = v
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]
    return ops, to_revision


async def undo(api: RolloutApi, namespace: str, target: Target, to_revision: int, out: TextIO) -> None:
    """Roll the *workload* back (Kruise Rollouts has no rollback of its own; it detects this)."""
    name = target.name
    if target.kind == "Rollout":
        rollout = await _get_rollout(api, namespace, target)
        ref = _spec(rollout).workload_ref
        if ref.kind != "Deployment":
            raise CommandError(f"{target.display}: undo supports Deployment workloads, got {ref.kind!r}")
        name = ref.name
    try:
        deployment = await api.get_deployment(namespace, name)
    except ApiNotFound as exc:
        raise CommandError(f'deployments.apps "{name}" not found in namespace "{namespace}"') from exc
    rss = await api.list_replica_sets(namespace, _selector_string(deployment))
    ops, revision = undo_patch(deployment, rss, to_revision)
    if not ops:
        print(
            f"deployment.apps/{name} skipped rollback (current template already matches revision {revision})", file=out
        )
        return
    await api.json_patch_deployment(namespace, name, ops)
    print(f"deployment.apps/{name} rolled back", file=out)


def status_line(rollout: dict[str, Any]) -> tuple[str, bool, bool]:
    """(line, done, failed) for ``rollout status``."""
    meta = rollout.get("metadata") or {}
    status = rollout.get("status") or {}
    name = meta.get("name")
    if int(meta.get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return "Waiting for rollout spec update to be observed...", False, False
    phase = status.get("phase", "")
    if phase == "Disabled":
        return f'rollout "{name}" is disabled', False, True
    if phase == "Terminating":
        return f'rollout "{name}" is being deleted', False, True
    _, state = step_state(rollout)
    if phase == "Healthy" and state in ("", "Completed"):
        return f'rollout "{name}" successfully rolled out', True, False
    steps = _spec(rollout).strategy.steps()
    sub = status.get("canaryStatus") or status.get("blueGreenStatus") or {}
    index = sub.get("currentStepIndex", status.get("currentStepIndex", 0))
    msg = status.get("message", "")
    line = f'Waiting for rollout "{name}" to finish: phase {phase}, step {index}/{len(steps)} {state}: {msg}'
    analysis = next((c for c in status.get("conditions") or [] if c.get("type") == ANALYSIS_CONDITION), None)
    if analysis is not None and analysis.get("message") and analysis["message"].split(": ", 1)[-1] not in msg:
        line += f" (last analysis {analysis.get('reason', '')}: {analysis['message']})"
    return line, False, False


async def watch_status(
    api: RolloutApi,
    namespace: str,
    target: Target,
    out: TextIO,
    *,
    watch: bool = True,
    timeout_seconds: float = 0.0,
    interval: float = 1.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Poll until done (return), failed or timed out (:class:`CommandError`); prints changed lines."""
    deadline = monotonic() + timeout_seconds if timeout_seconds > 0 else None
    last = None
    while True:
        line, done, failed = status_line(await _get_rollout(api, namespace, target))
        if line != last:
            print(line, file=out)
            last = line
        if failed:
            raise CommandError(line)
        if done or not watch:
            return
        if deadline is not None and monotonic() >= deadline:
            raise CommandError("timed out waiting for the condition")
        await sleep(interval)
