"""The workload kinds a Rollout can drive, in one table (rollout-lifecycle.md §1 step 4, §2).

Reconcilers never branch on kind: they look the workload reference up here and get its REST
resource, the ``rollouts.kruise.io/workload-type`` label value and its finder (the §2 record the
pure Rollout machine consumes). Finders of the partition kinds read only the object itself, except
the native DaemonSet one, which reads ControllerRevisions (its revisions live nowhere else).

Lookup is by API group (version ignored) and kind; any other kind whose object carries the label
``rollouts.kruise.io/workload-type: statefulset`` is treated as StatefulSet-like (§2: the
StatefulSet-like finder is last and accepts any kind following the StatefulSet status convention).
Objects of kinds without an informer are read with a direct GET (always fresh, one request per
reconcile); the plural of such a custom kind comes from its CRD.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import structlog

from rollouts.api import keys
from rollouts.controllers.common import group_of
from rollouts.objects import crd as crd_objects
from rollouts.objects import workload as wl
from rollouts.objects.meta import annotations_of, labels
from rollouts.objects.meta import metadata as meta
from rollouts.rollout.model import WorkloadObservation
from runtime.cache.protocols import Informer
from runtime.kube.errors import ApiError, NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import CRDS, DAEMONSETS, DEPLOYMENTS, STATEFULSETS, Resource

log = structlog.get_logger("rollouts.controllers.workloads")

KRUISE_GROUP = "apps.kruise.io"
CLONESETS = Resource(KRUISE_GROUP, "v1alpha1", "clonesets", "CloneSet")
ADVANCED_DAEMONSETS = Resource(KRUISE_GROUP, "v1alpha1", "daemonsets", "DaemonSet")
ADVANCED_STATEFULSETS = Resource(KRUISE_GROUP, "v1beta1", "statefulsets", "StatefulSet")
CONTROLLER_REVISIONS = Resource("apps", "v1", "controllerrevisions", "ControllerRevision")

WORKLOAD_TYPE_LABEL = keys.WORKLOAD_TYPE_LABEL
IN_PROGRESSING_ANNOTATION = keys.IN_PROGRESSING_ANNOTATION
ROLLOUT_ID_LABEL = keys.ROLLOUT_ID_LABEL
DAEMONSET_REVISION_ANNOTATION = keys.DAEMONSET_REVISION_ANNOTATION
REVISION_HASH_LABEL = keys.CONTROLLER_REVISION_HASH_LABEL

#: CRDs whose presence enables the informers/watches of the OpenKruise kinds (§1 step 2).
KRUISE_CRDS = {
    "clonesets.apps.kruise.io": CLONESETS,
    "daemonsets.apps.kruise.io": ADVANCED_DAEMONSETS,
    "statefulsets.apps.kruise.io": ADVANCED_STATEFULSETS,
}

Obj = Mapping[str, Any]


def _suffix(revision: str) -> str:
    """CloneSet/Advanced DaemonSet revisions are ``<name>-<hash>``; pods carry only the hash."""
    return revision.rpartition("-")[2] if revision else ""


def _common(obj: Obj, replicas: int, *, stable: str, canary: str, in_rollback: bool) -> WorkloadObservation:
    in_progressing = IN_PROGRESSING_ANNOTATION in annotations_of(obj)
    return WorkloadObservation(
        found=True, replicas=replicas, generation=wl.generation(obj),
        status_consistent=wl.generation(obj) == wl.status_int(obj, "observedGeneration", -1),
        stable_revision=stable, canary_revision=canary, pod_template_hash=canary,
        in_progressing=in_progressing, in_rollback=in_progressing and in_rollback,
        rollout_id_label=labels(obj).get(ROLLOUT_ID_LABEL, ""),
    )


def observe_statefulset_like(obj: Obj) -> WorkloadObservation:
    """§2 table, StatefulSet-like: revisions are the full ``status`` revision names."""
    current, update = wl.status_str(obj, "currentRevision"), wl.status_str(obj, "updateRevision")
    replicas = wl.spec_replicas(obj)
    rollback = bool(update) and update == current and wl.status_int(obj, "updatedReplicas") != replicas
    return _common(obj, replicas, stable=current, canary=update, in_rollback=rollback)


def observe_cloneset(obj: Obj) -> WorkloadObservation:
    """§2 table, CloneSet: hash suffixes of ``status.currentRevision``/``updateRevision``."""
    current, update = wl.status_str(obj, "currentRevision"), wl.status_str(obj, "updateRevision")
    rollback = bool(update) and current == update and \
        wl.status_int(obj, "updatedReplicas") != wl.status_int(obj, "replicas")
    return _common(obj, wl.spec_replicas(obj), stable=_suffix(current), canary=_suffix(update), in_rollback=rollback)


def observe_advanced_daemonset(obj: Obj) -> WorkloadObservation:
    """§2 table, Advanced DaemonSet: canary = suffix of ``status.daemonSetHash``; never in rollback."""
    canary = _suffix(wl.status_str(obj, "daemonSetHash"))
    return _common(obj, wl.status_int(obj, "desiredNumberScheduled"), stable="", canary=canary, in_rollback=False)


def native_daemonset_revisions(revisions: list[Obj], owner_uid: str) -> tuple[str, str]:
    """(stable, canary): ``controller-revision-hash`` of the second-newest and newest owned revision."""
    owned = [r for r in revisions
             if any(o.get("controller") and o.get("uid") == owner_uid for o in meta(r).get("ownerReferences") or [])]
    owned.sort(key=lambda r: int(r.get("revision", 0)))
    hashes = [labels(r).get(REVISION_HASH_LABEL, "") for r in owned]
    if not hashes:
        return "", ""
    canary = hashes[-1]
    stable = hashes[-2] if len(hashes) > 1 else canary
    return stable, canary


def observe_native_daemonset(obj: Obj, revisions: list[Obj]) -> WorkloadObservation:
    """§2 table, native DaemonSet (revisions from its ControllerRevisions)."""
    stable, canary = native_daemonset_revisions(revisions, meta(obj).get("uid", ""))
    replicas = wl.status_int(obj, "desiredNumberScheduled")
    return _common(obj, replicas, stable=stable, canary=canary, in_rollback=bool(stable) and stable == canary)


def daemonset_revision_patch(obj: Obj, stable: str, canary: str) -> dict[str, Any] | None:
    """§2 side effect: keep ``rollouts.kruise.io/daemonset-revision`` current while progressing."""
    if IN_PROGRESSING_ANNOTATION not in annotations_of(obj) or not (stable or canary):
        return None
    value = json.dumps({"canary-revision": canary, "stable-revision": stable}, separators=(",", ":"))
    if annotations_of(obj).get(DAEMONSET_REVISION_ANNOTATION) == value:
        return None
    return {"metadata": {"annotations": {DAEMONSET_REVISION_ANNOTATION: value}}}


@attrs.frozen
class WorkloadKind:
    """One row of the table: how to reach, label and observe a kind."""

    resource: Resource
    #: Value of ``rollouts.kruise.io/workload-type`` (None: not labelled).
    type_label: str | None
    #: ``observe(client, obj) -> WorkloadObservation``; None for Deployments (the caller's own finder).
    observe: Callable[[KubeApi, Obj], Awaitable[WorkloadObservation]] | None
    #: The pod label whose values are this kind's revisions (traffic-routing.md §1, §2.2): the stable
    #: Service is pinned and the canary Service selects by it.
    revision_label_key: str = keys.POD_TEMPLATE_HASH_LABEL


async def _sync(fn: Callable[[Obj], WorkloadObservation], _client: KubeApi, obj: Obj) -> WorkloadObservation:
    return fn(obj)


def _plain(fn: Callable[[Obj], WorkloadObservation]) -> Callable[[KubeApi, Obj], Awaitable[WorkloadObservation]]:
    return lambda client, obj: _sync(fn, client, obj)


async def _observe_native_daemonset(client: KubeApi, obj: Obj) -> WorkloadObservation:
    md = meta(obj)
    revisions = (await client.list(CONTROLLER_REVISIONS, md.get("namespace"))).get("items") or []
    record = observe_native_daemonset(obj, revisions)
    patch = daemonset_revision_patch(obj, record.stable_revision, record.canary_revision)
    if patch:
        await client.patch(DAEMONSETS, md["name"], patch, md.get("namespace"))
    return record


KINDS: dict[tuple[str, str], WorkloadKind] = {
    ("apps", "Deployment"): WorkloadKind(DEPLOYMENTS, "deployment", None),
    ("apps", "StatefulSet"): WorkloadKind(STATEFULSETS, "statefulset", _plain(observe_statefulset_like),
                                          REVISION_HASH_LABEL),
    ("apps", "DaemonSet"): WorkloadKind(DAEMONSETS, "daemonset", _observe_native_daemonset, REVISION_HASH_LABEL),
    (KRUISE_GROUP, "CloneSet"): WorkloadKind(CLONESETS, "cloneset", _plain(observe_cloneset)),
    (KRUISE_GROUP, "DaemonSet"): WorkloadKind(ADVANCED_DAEMONSETS, "daemonset", _plain(observe_advanced_daemonset)),
    (KRUISE_GROUP, "StatefulSet"): WorkloadKind(ADVANCED_STATEFULSETS, "statefulset",
                                                _plain(observe_statefulset_like), REVISION_HASH_LABEL),
}


async def custom_resource(client: KubeApi, api_version: str, kind: str) -> Resource | None:
    """The REST resource of a custom kind, from its CRD (None if no CRD serves it)."""
    group, _, version = api_version.rpartition("/")
    try:
        crds = (await client.list(CRDS)).get("items") or []
    except ApiError:
        return None
    for c in crds:
        if crd_objects.defines(c, group, kind):
            return Resource(group, version, crd_objects.names(c)["plural"], kind,
                            namespaced=crd_objects.spec(c).get("scope", "Namespaced") == "Namespaced")
    return None


async def kind_of(client: KubeApi, ref: Mapping[str, Any],
                  custom: dict[tuple[str, str], Resource] | None = None) -> WorkloadKind | None:
    """The table row for a workloadRef; unknown kinds become StatefulSet-like custom resources.

    ``custom`` remembers the resources found for custom kinds (by apiVersion and kind): without it
    every reconcile of such a workload listed all CRDs. Only hits are kept, so a CRD installed later
    is still found."""
    api_version, kind = str(ref.get("apiVersion", "")), str(ref.get("kind", ""))
    row = KINDS.get((group_of(api_version), kind))
    if row is not None:
        if row.resource.version != api_version.rpartition("/")[2] and row.resource.group == KRUISE_GROUP:
            row = attrs.evolve(row, resource=row.resource.with_version(api_version.rpartition("/")[2]))
        return row
    if not kind or not group_of(api_version):
        return None
    resource = (custom or {}).get((api_version, kind)) or await custom_resource(client, api_version, kind)
    if resource is None:
        return None
    if custom is not None:
        custom[(api_version, kind)] = resource
    return WorkloadKind(resource, None, _plain(observe_statefulset_like), REVISION_HASH_LABEL)


async def missing_workload_message(client: KubeApi, ref: Mapping[str, Any]) -> str:
    """Why a workloadRef found nothing when only the cluster can tell (no CRD for its kind, or a CRD
    that does not serve its version); "" when the kind is served and the object is simply absent.

    Asked only on the not-found path (one GET of a CRD, or one CRD list for a custom kind).
    """
    api_version, kind = str(ref.get("apiVersion", "")), str(ref.get("kind", ""))
    group, _, version = api_version.rpartition("/")
    where = f"workloadRef kind {kind} ({api_version})"
    row = KINDS.get((group, kind))
    if row is None and not group:
        return ""
    if row is not None and row.resource.group != KRUISE_GROUP:
        return ""  # built-in kinds are always served
    try:
        if row is not None:
            crds = [await client.get(CRDS, f"{row.resource.plural}.{group}")]
        else:
            crds = [c for c in (await client.list(CRDS)).get("items") or [] if crd_objects.defines(c, group, kind)]
    except NotFound:
        crds = []
    except ApiError:
        return ""
    if not crds:
        crd = f"{row.resource.plural}.{group}" if row is not None else f"for kind {kind} in group {group}"
        install = "install OpenKruise" if group == KRUISE_GROUP else "install it"
        return f"{where}: the CRD {crd} is not installed; {install} or fix spec.workloadRef"
    served = crd_objects.served_versions(crds[0])
    if version not in served:
        return (f"{where}: the CRD {meta(crds[0]).get('name')} does not serve {version} (served: "
                f"{', '.join(str(v) for v in served)}); fix spec.workloadRef.apiVersion")
    return ""


async def get_workload(client: KubeApi, row: WorkloadKind, name: str, namespace: str,
                       stores: Mapping[Resource, Informer]) -> Mapping[str, Any] | None:
    """The workload from its informer store when there is one, else a direct GET (None if absent)."""
    informer = stores.get(row.resource)
    if informer is not None:
        obj = informer.store.get(name, namespace)
        return None if obj is None else obj
    try:
        return await client.get(row.resource, name, namespace)
    except NotFound:
        return None


async def available_kruise_resources(client: KubeApi) -> frozenset[Resource]:
    """The OpenKruise kinds whose CRDs exist (their informers would otherwise 404 forever)."""
    try:
        crds = (await client.list(CRDS)).get("items") or []
    except ApiError as e:
        log.warning("cannot list CRDs; OpenKruise workloads unavailable", error=str(e))
        return frozenset()
    names = {meta(c).get("name") for c in crds}
    found = frozenset(res for crd, res in KRUISE_CRDS.items() if crd in names)
    for crd, res in KRUISE_CRDS.items():
        if res not in found:
            log.info("workload kind unavailable (CRD absent)", crd=crd, kind=res.kind)
    return found


def resource_of(obj: Obj) -> Resource:
    """The REST resource of a workload object from its own apiVersion/kind.

    Known kinds come from :data:`KINDS`; a custom StatefulSet-like kind gets the conventional
    lower-case plural (``kind.lower() + "s"``) — callers that need certainty use :func:`kind_of`.
    """
    api_version, kind = str(obj.get("apiVersion", "apps/v1")), str(obj.get("kind", "Deployment"))
    group, _, version = api_version.rpartition("/")
    row = KINDS.get((group, kind))
    if row is not None:
        return row.resource.with_version(version) if version else row.resource
    return Resource(group, version, kind.lower() + "s", kind)
