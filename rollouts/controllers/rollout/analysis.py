"""The Rollout controller's I/O for metrics analysis: the template, the run object, Prometheus.

The machine asks for :class:`~rollouts.rollout.actions.RunAnalysis`; :func:`run_analysis` reads the
``AnalysisTemplate``, finds or creates the Rollout's ``AnalysisRun`` (one per Rollout, named like
it and owned by it, so it is garbage-collected with it), advances it
(:func:`rollouts.analysis.run.advance`: measures due checks) and writes its status; the answer goes
back to the machine as an :class:`~rollouts.rollout.model.AnalysisObservation`. A run whose step or
canary revision is not the current one is started afresh: the object always describes the step
being analysed now (Events and the Rollout condition keep the history users need).

A missing or invalid template is not a pass: it is an ``inconclusive`` verdict whose action is
``Pause``, with the message naming the template (or the field) and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from rollouts.analysis import kubecheck, prometheus, refs
from rollouts.analysis import run as analysis_run
from rollouts.analysis import template as t
from rollouts.api.status import CanaryStatus
from rollouts.api.v1beta1.rollout import Rollout
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL
from rollouts.rollout import model as m
from runtime.kube.errors import AlreadyExists, Conflict, NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import Resource

ANALYSIS_TEMPLATES: Final = Resource(t.GROUP, t.VERSION, "analysistemplates", t.KIND_TEMPLATE)
ANALYSIS_RUNS: Final = Resource(t.GROUP, t.VERSION, "analysisruns", t.KIND_RUN)


def _run_spec(rollout: Rollout, sub: CanaryStatus, index: int, template: str) -> dict[str, Any]:
    return {"rollout": rollout.metadata.get("name", ""), "template": template, "stepIndex": index,
            "canaryRevision": sub.canary_revision, "stableRevision": sub.stable_revision}


def _args(rollout: Rollout, sub: CanaryStatus) -> dict[str, str]:
    md = rollout.metadata
    return {"canary_revision": sub.canary_revision, "stable_revision": sub.stable_revision,
            "namespace": md.get("namespace", ""), "rollout": md.get("name", "")}


def _observation(spec: Mapping[str, Any], status: Mapping[str, Any], *, fresh: bool,
                 requeue_after: float | None = None) -> m.AnalysisObservation:
    return m.AnalysisObservation(
        step_index=int(spec.get("stepIndex", 0)), canary_revision=str(spec.get("canaryRevision", "")),
        verdict=str(status.get("verdict", t.RUNNING)), action=str(status.get("action", t.WAIT)),
        message=str(status.get("message", "")), template=str(spec.get("template", "")),
        requeue_after=requeue_after, fresh=fresh, reason=str(status.get("reason", "")))


async def _template(client: KubeApi, ns: str, name: str) -> t.TemplateSpec | str:
    """The parsed template, or the message saying why there is none to run."""
    try:
        obj = await client.get(ANALYSIS_TEMPLATES, name, ns)
    except NotFound:
        return (f"AnalysisTemplate {name!r} not found in namespace {ns!r}: create it, or fix the Rollout "
                f"annotation {refs.TEMPLATE_ANNOTATION} (or {refs.STEP_ANNOTATION_PREFIX}<N>)")
    try:
        return t.parse_template(obj)
    except t.TemplateError as e:
        return f"AnalysisTemplate {name!r} is invalid: {e}"


async def _run_object(client: KubeApi, rollout: Rollout, spec: dict[str, Any]) -> dict[str, Any]:
    """The Rollout's AnalysisRun for ``spec``: the stored one if it describes this step, else a fresh one."""
    md = rollout.metadata
    ns, name = md.get("namespace", ""), md.get("name", "")
    try:
        live = await client.get(ANALYSIS_RUNS, name, ns)
    except NotFound:
        body = {"apiVersion": t.API_VERSION, "kind": t.KIND_RUN,
                "metadata": {"name": name, "namespace": ns, "ownerReferences": [m.owner_reference(rollout)]},
                "spec": spec}
        try:
            return await client.create(ANALYSIS_RUNS, body, ns)
        except AlreadyExists:
            live = await client.get(ANALYSIS_RUNS, name, ns)
    if live.get("spec") != spec:
        live["spec"] = spec
        live = await client.update(ANALYSIS_RUNS, live)
        live["status"] = {}
    return live


def _observer(client: KubeApi, ns: str, sub: CanaryStatus, revision_key: str) -> analysis_run.Observe:
    """``kubernetes`` checks: canary pods by the canary Service's selector value, stable by the stable one's."""
    async def observe(source: t.KubernetesSource) -> prometheus.Answer:
        return await kubecheck.observe(client, ns, revision_key, sub.pod_template_hash, sub.stable_revision, source)
    return observe


async def run_analysis(client: KubeApi, rollout: Rollout, sub: CanaryStatus, index: int, template: str,
                       now: datetime, query: analysis_run.Query = prometheus.query, *,
                       revision_key: str = POD_TEMPLATE_HASH_LABEL,
                       on_checks: Callable[[Sequence[Mapping[str, Any]]], None] | None = None,
                       ) -> m.AnalysisObservation:
    """Advance the step's run once (measuring what is due) and report its decision; ``on_checks`` gets
    the run's per-check status (``/metrics``: ``analysis_metrics.py``)."""
    ns = rollout.metadata.get("namespace", "")
    spec = _run_spec(rollout, sub, index, template)
    found = await _template(client, ns, template)
    run = await _run_object(client, rollout, spec)
    stored = run.get("status") or {}
    if isinstance(found, str):
        status: dict[str, Any] = {"verdict": t.INCONCLUSIVE, "action": t.PAUSE, "message": found}
        requeue = None
    else:
        decision, status = await analysis_run.advance(found, stored, _args(rollout, sub), now, query,
                                                      observe=_observer(client, ns, sub, revision_key))
        requeue = decision.requeue_after
    status.setdefault("startedAt", stored.get("startedAt") or m.format_time(now))
    if on_checks is not None:
        on_checks(status.get("checks") or [])
    if status != stored:
        run["status"] = status
        try:
            await client.update(ANALYSIS_RUNS, run, subresource="status")
        except Conflict:
            pass  # another writer (a previous leader): the next reconcile measures again from its status
    return _observation(spec, status, fresh=True, requeue_after=requeue)


async def stored_analysis(client: KubeApi, rollout: Rollout, sub: CanaryStatus | None) -> m.AnalysisObservation | None:
    """The stored run of the current step (what holds a paused step), None when there is none."""
    if sub is None or not refs.uses_analysis(rollout.annotations):
        return None
    md = rollout.metadata
    try:
        run = await client.get(ANALYSIS_RUNS, md.get("name", ""), md.get("namespace", ""))
    except NotFound:
        return None
    spec = run.get("spec") or {}
    if spec.get("canaryRevision") != sub.canary_revision or not run.get("status"):
        return None
    return _observation(spec, run["status"], fresh=False)
