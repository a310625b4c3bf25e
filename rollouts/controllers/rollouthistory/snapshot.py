"""What a RolloutHistory records, as pure functions (rollout-history.md §3, §4).

Vocabulary: a *release* is one rollout-id of a Rollout (``status.canaryStatus.observedRolloutID``
of its v1alpha1 view); its *record* is the RolloutHistory labelled with that id and the Rollout's
name; the record is *filled* when its spec carries the snapshots (``spec.rollout.rolloutID`` equals
the id) and *completed* when ``status.phase`` is ``completed`` and the pods of each step are listed.

Why a module of its own: the reconciler only fetches objects and writes; every decision (act or
not, what the snapshot holds, which pods belong to which step) is here and tested without a cluster.
Unlike upstream, a missing piece is recorded as absent, never a crash or an endless retry: a Rollout
without ``trafficRoutings`` has no Service or gateway section, an unknown or vanished workload has an
empty workload section and no pods (upstream indexes ``trafficRoutings[0]`` and dereferences a nil
workload; §4 of the spec).
"""

from __future__ import annotations

import enum
import secrets
import string
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.api.conversion import rollout_to_v1alpha1
from rollouts.api.v1alpha1 import rollout as a
from rollouts.api.v1alpha1.rollouthistory import (
    CanaryStepInfo,
    NameAndSpecData,
    PodInfo,
    RolloutHistory,
    RolloutHistorySpec,
    RolloutInfo,
    TrafficRoutingInfo,
    WorkloadInfo,
)
from rollouts.api.v1beta1 import rollout as b
from rollouts.api.wire import from_dict, json_copy, mark_new, to_dict
from rollouts.objects import pod as podobj
from rollouts.objects import workload as wl
from runtime.labels import InvalidSelector
from runtime.labels import matches as label_matches

Obj = Mapping[str, Any]

#: ``status.phase`` of a record whose steps are listed (upstream's lower-case value).
PHASE_COMPLETED = "completed"
PHASE_PROGRESSING = "Progressing"
PHASE_HEALTHY = "Healthy"
#: Length and alphabet of the random name suffix (upstream: 6 characters of [a-z0-9], crypto random).
NAME_SUFFIX_LENGTH = 6
_NAME_ALPHABET = string.ascii_lowercase + string.digits


class Action(enum.Enum):
    """What one reconcile of a Rollout does to its history (rollout-history.md §3)."""

    NOTHING = "nothing"
    CREATE = "create"
    """No record for the release yet and the Rollout is Progressing: create an empty one."""
    RECORD = "record"
    """The release finished (Rollout Healthy) and its record is not completed: snapshot and list pods."""


def v1alpha1_view(rollout: Obj) -> a.Rollout:
    """The v1alpha1 view the controller works on (§1): a blue-green Rollout has an empty one."""
    beta = from_dict(b.Rollout, {**rollout, "apiVersion": keys.GROUP + "/v1beta1", "kind": "Rollout"})
    return rollout_to_v1alpha1(beta)


def observed_rollout_id(ro: a.Rollout) -> str:
    """``status.canaryStatus.observedRolloutID`` ("" when there is no canary status)."""
    if ro.status is None or ro.status.canary_status is None:
        return ""
    return ro.status.canary_status.observed_rollout_id


def history_labels(rollout_name: str, rollout_id: str) -> dict[str, str]:
    return {keys.ROLLOUT_ID_LABEL: rollout_id, keys.ROLLOUT_NAME_LABEL: rollout_name}


def find_record(histories: Iterable[Obj], rollout_name: str, rollout_id: str) -> Obj | None:
    """The record of this release among the namespace's RolloutHistories (first match, as upstream)."""
    wanted = history_labels(rollout_name, rollout_id)
    for h in histories:
        found = (h.get("metadata") or {}).get("labels") or {}
        if all(found.get(k) == v for k, v in wanted.items()):
            return h
    return None


def decide(ro: a.Rollout, record: RolloutHistory | None) -> Action:
    """§3: create while Progressing, record once Healthy, never touch a completed record."""
    if not observed_rollout_id(ro):
        return Action.NOTHING
    phase = ro.status.phase if ro.status is not None else ""
    if record is None:
        return Action.CREATE if phase == PHASE_PROGRESSING else Action.NOTHING
    if record.status is not None and record.status.phase == PHASE_COMPLETED:
        return Action.NOTHING
    return Action.RECORD if phase == PHASE_HEALTHY else Action.NOTHING


def history_name(rollout_name: str, suffix: str | None = None) -> str:
    """``<rollout>-<6 random [a-z0-9]>`` (crypto random unless ``suffix`` is given, for tests)."""
    if suffix is None:
        suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(NAME_SUFFIX_LENGTH))
    return f"{rollout_name}-{suffix}"


def new_record(namespace: str, rollout_name: str, rollout_id: str, suffix: str | None = None) -> dict[str, Any]:
    """The empty record created when a release starts: labels only, no spec data, no owner (§3.3)."""
    return {
        "apiVersion": RolloutHistory.API_VERSION, "kind": RolloutHistory.KIND,
        "metadata": {"name": history_name(rollout_name, suffix), "namespace": namespace,
                     "labels": history_labels(rollout_name, rollout_id)},
        "spec": {},
    }


@attrs.frozen(kw_only=True)
class Fetched:
    """The objects a snapshot is built from (None: absent, or nothing to fetch)."""

    workload: Obj | None = None
    service: Obj | None = None
    ingress: Obj | None = None
    http_route: Obj | None = None


def traffic_ref(ro: a.Rollout) -> Any:
    """``trafficRoutings[0]`` of the canary strategy, None when the Rollout routes no traffic."""
    canary = ro.spec.strategy.canary
    return canary.traffic_routings[0] if canary is not None and canary.traffic_routings else None


def _spec_data(obj: Obj | None) -> dict[str, Any] | None:
    return None if obj is None else json_copy(dict(wl.spec(obj)))


def _named(obj: Obj | None) -> NameAndSpecData | None:
    if obj is None:
        return None
    return NameAndSpecData(name=str((obj.get("metadata") or {}).get("name", "")), data=_spec_data(obj))


def build_spec(ro: a.Rollout, fetched: Fetched) -> RolloutHistorySpec:
    """§3.4 spec: the Rollout (v1alpha1) spec, then whatever of workload, Service and gateway exists."""
    name = str(ro.metadata.get("name", ""))
    spec = RolloutHistorySpec(rollout=RolloutInfo(name=name, rollout_id=observed_rollout_id(ro),
                                                  data=to_dict(mark_new(ro.spec))))
    ref = ro.spec.object_ref.workload_ref
    if ref is not None and fetched.workload is not None:
        spec.workload = WorkloadInfo(name=ref.name, api_version=ref.api_version, kind=ref.kind,
                                     data=_spec_data(fetched.workload))
    if fetched.service is not None:
        spec.service = _named(fetched.service) or NameAndSpecData()
    if fetched.ingress is not None or fetched.http_route is not None:
        spec.traffic_routing = TrafficRoutingInfo(ingress=_named(fetched.ingress),
                                                  http_route=_named(fetched.http_route))
    return spec


def step_count(ro: a.Rollout) -> int:
    canary = ro.spec.strategy.canary
    return len(canary.steps) if canary is not None else 0


def canary_steps(pods: Iterable[Obj], selector: Obj | None, rollout_id: str, steps: int) -> list[CanaryStepInfo]:
    """§3.4 status: per step 1..``steps`` the live pods of the workload labelled with this release's id
    and that batch. No workload selector (the workload is gone or unknown) → no pods at all: a
    rollout-id alone may be shared by another workload's release."""
    by_batch: dict[str, list[PodInfo]] = {}
    if selector:
        for p in pods:
            pod_labels = podobj.labels(p)
            if podobj.is_terminating(p) or pod_labels.get(keys.ROLLOUT_ID_LABEL) != rollout_id:
                continue
            try:
                if not label_matches(selector, pod_labels):
                    continue
            except InvalidSelector:  # the workload's own selector is malformed: list nothing
                return [CanaryStepInfo(canary_step_index=i) for i in range(1, steps + 1)]
            by_batch.setdefault(pod_labels.get(keys.ROLLOUT_BATCH_ID_LABEL, ""), []).append(PodInfo(
                name=podobj.name(p), ip=str((p.get("status") or {}).get("podIP") or ""),
                node_name=str((p.get("spec") or {}).get("nodeName") or "")))
    return [CanaryStepInfo(canary_step_index=i, pods=sorted(by_batch.get(str(i), []), key=lambda x: x.name))
            for i in range(1, steps + 1)]
