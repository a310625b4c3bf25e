"""Finding the workload of a Rollout (rollout-lifecycle.md §2), advanced-Deployment finder only.

Revisions: ``canaryRevision`` is our template hash of the Deployment's pod template
(``rollouts.release.template_hash``; the same function names the ReplicaSets our advanced Deployment
controller creates, so a new release's RS suffix equals its canary revision); ``podTemplateHash`` is
read from the ``pod-template-hash`` label of the ReplicaSet whose template equals the Deployment's
(whoever created it); ``stableRevision`` is the ``rollouts.kruise.io/stable-revision`` label the
webhook wrote when the release started, or, outside a release, the ``podTemplateHash`` (the ReplicaSet
running the template is then the stable one), so a Healthy Rollout reports it before its first release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rollouts.api import keys
from rollouts.objects import workload
from rollouts.objects.meta import annotations_of, is_deleting, labels
from rollouts.objects.meta import metadata as meta
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL, compute_template_hash, equal_ignore_hash
from rollouts.rollout.model import WorkloadObservation

IN_PROGRESSING_ANNOTATION = keys.IN_PROGRESSING_ANNOTATION
STABLE_REVISION_LABEL = keys.STABLE_REVISION_LABEL
ROLLOUT_ID_LABEL = keys.ROLLOUT_ID_LABEL


def owned_replica_sets(rss: Iterable[Mapping[str, Any]], owner_uid: str) -> list[Mapping[str, Any]]:
    """ReplicaSets whose controller ownerReference is ``owner_uid`` (not deleting)."""
    out = []
    for rs in rss:
        refs = meta(rs).get("ownerReferences") or []
        if not is_deleting(rs) and any(r.get("controller") and r.get("uid") == owner_uid for r in refs):
            out.append(rs)
    return out


def new_replica_set(deployment: Mapping[str, Any], rss: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The oldest owned RS whose template equals the Deployment's ignoring ``pod-template-hash``."""
    template = workload.template(deployment)
    matches = [rs for rs in rss if equal_ignore_hash(workload.template(rs), template)]
    matches.sort(key=lambda rs: (str(meta(rs).get("creationTimestamp", "")), meta(rs).get("name", "")))
    return matches[0] if matches else None


def update_revision(deployment: Mapping[str, Any]) -> str:
    """The Deployment's canary/update revision (rollout-lifecycle.md §3.2)."""
    return compute_template_hash(workload.template(deployment))


def observe_deployment(deployment: Mapping[str, Any] | None, rss: Iterable[Mapping[str, Any]]) -> WorkloadObservation:
    """The advanced (partition) Deployment record of §2's table."""
    if deployment is None:
        return WorkloadObservation(found=False)
    md = meta(deployment)
    status = workload.status(deployment)
    owned = owned_replica_sets(rss, md.get("uid", ""))
    new_rs = new_replica_set(deployment, owned)
    pod_hash = labels(new_rs).get(POD_TEMPLATE_HASH_LABEL, "") if new_rs else ""
    in_progressing = IN_PROGRESSING_ANNOTATION in annotations_of(deployment)
    # Before a release there is no stable-revision label yet; the ReplicaSet running the template is
    # then the stable one (upstream reports it for canary-style Rollouts; we do for every style).
    stable = labels(deployment).get(STABLE_REVISION_LABEL, "") or ("" if in_progressing else pod_hash)
    return WorkloadObservation(
        found=True,
        replicas=workload.spec_replicas(deployment),
        generation=int(md.get("generation", 0)),
        status_consistent=int(md.get("generation", 0)) == int(status.get("observedGeneration", -1)),
        stable_revision=stable,
        canary_revision=update_revision(deployment),
        pod_template_hash=pod_hash,
        in_progressing=in_progressing,
        in_rollback=in_progressing and bool(stable) and stable == pod_hash,
        rollout_id_label=labels(deployment).get(ROLLOUT_ID_LABEL, ""),
    )
