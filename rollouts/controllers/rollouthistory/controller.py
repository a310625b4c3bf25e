"""RolloutHistory reconciler (rollout-history.md §2, §3): the I/O around :mod:`.snapshot`.

The reconcile key is the *Rollout*. Each reconcile reads the Rollout from the cache, takes its
v1alpha1 view, finds the record of its current release (rollout-id) and lets
:func:`~.snapshot.decide` say whether to create an empty record (release started), record the
release (it finished: snapshots and the pods of each step), or do nothing.

Differences from upstream, on purpose:

- Before creating a record the namespace is listed from the API server, not only the cache: a
  Rollout updates its status many times while Progressing and a cache that has not yet seen our
  create would otherwise get a second record for the same release.
- The spec snapshot and the completed status are written in the same reconcile (upstream writes
  the spec, then waits for its own update event to write the status); the result is the same object.
- Missing pieces are recorded as absent (see :mod:`.snapshot`), so a Rollout without traffic
  routing, a DaemonSet or a workload deleted since is recorded instead of crashing or retrying forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.api import keys
from rollouts.api.v1alpha1 import rollout as a
from rollouts.api.v1alpha1.rollouthistory import RolloutHistory, RolloutHistoryStatus
from rollouts.api.wire import DecodeError, from_dict, to_dict
from rollouts.controllers.common import ROLLOUTHISTORIES, STALE_CACHE_RETRY_SECONDS, OwnWrites
from rollouts.controllers.rollouthistory import snapshot as snap
from rollouts.controllers.workloads import get_workload, kind_of
from rollouts.objects import meta as objmeta
from runtime.cache.protocols import Informer
from runtime.kube.errors import ApiError, NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import HTTPROUTES, INGRESSES, SERVICES, Resource
from runtime.reconcile import Request, Result

log = structlog.get_logger("rollouts.controllers.rollouthistory")


@attrs.define
class RolloutHistoryReconciler:
    """Dependencies: the client and the Rollout, RolloutHistory and Pod informers (see ``setup``)."""

    client: KubeApi
    rollouts: Informer
    histories: Informer
    pods: Informer
    _writes: OwnWrites = attrs.field(factory=OwnWrites)

    async def reconcile(self, request: Request) -> Result:
        ns, name = request.namespace or "", request.name
        cached = self.rollouts.store.get(name, ns)
        if cached is None:
            return Result()
        try:
            ro = snap.v1alpha1_view(cached)
        except DecodeError as e:  # the Rollout controller reports it; nothing to record
            log.info("rollout not decodable, not recorded", rollout=f"{ns}/{name}", error=str(e))
            return Result()
        rollout_id = snap.observed_rollout_id(ro)
        if not rollout_id:
            return Result()
        found = snap.find_record(self.histories.store.list(ns), name, rollout_id)
        if found is not None:
            found, stale = self._writes.lookup(self.histories.store, ns, objmeta.name(found))
            if stale:
                return Result(requeue_after=STALE_CACHE_RETRY_SECONDS)
        record = None if found is None else from_dict(RolloutHistory, found)
        action = snap.decide(ro, record)
        if action is snap.Action.CREATE:
            await self._create(ns, name, rollout_id)
        elif action is snap.Action.RECORD and found is not None:
            await self._record(ro, found)
        return Result()

    async def _create(self, ns: str, rollout: str, rollout_id: str) -> None:
        """Create the empty record unless the API server already has one (see the module docstring)."""
        selector = ",".join(f"{k}={v}" for k, v in snap.history_labels(rollout, rollout_id).items())
        listed = await self.client.list(ROLLOUTHISTORIES, ns, label_selector=selector)
        if listed.get("items"):
            return
        created = await self.client.create(ROLLOUTHISTORIES, snap.new_record(ns, rollout, rollout_id), ns)
        self._writes.record(ns, objmeta.name(created), created)
        log.info("rollout history created", rollout=f"{ns}/{rollout}", rollout_id=rollout_id,
                 history=objmeta.name(created))

    async def _record(self, ro: a.Rollout, found: Mapping[str, Any]) -> None:
        """Fill the spec (if not yet) and complete the status with the pods of each step."""
        ns, hist = objmeta.namespace(found), objmeta.name(found)
        rollout_id = snap.observed_rollout_id(ro)
        fetched = await self._fetch(ro, ns)
        current = from_dict(RolloutHistory, found)
        try:
            if current.spec.rollout.rollout_id != rollout_id:
                spec = snap.build_spec(ro, fetched)
                written = await self.client.patch(ROLLOUTHISTORIES, hist, {"spec": to_dict(spec)}, ns)
                self._writes.record(ns, hist, written)
            selector = None if fetched.workload is None else fetched.workload.get("spec", {}).get("selector")
            # Only this release's pods (the pod informer's label index), not every pod of the namespace.
            released = self.pods.store.list(ns, labels={keys.ROLLOUT_ID_LABEL: rollout_id})
            steps = snap.canary_steps(released, selector, rollout_id, snap.step_count(ro))
            status = RolloutHistoryStatus(phase=snap.PHASE_COMPLETED, canary_steps=steps)
            written = await self.client.patch_status(ROLLOUTHISTORIES, hist, {"status": to_dict(status)}, ns)
        except NotFound:  # the record was deleted meanwhile; the next Rollout event starts over
            return
        self._writes.record(ns, hist, written)
        log.info("rollout history recorded", history=f"{ns}/{hist}", rollout_id=rollout_id,
                 pods=sum(len(s.pods) for s in steps))

    async def _fetch(self, ro: a.Rollout, ns: str) -> snap.Fetched:
        workload = None
        ref = ro.spec.object_ref.workload_ref
        if ref is not None:
            row = await kind_of(self.client, to_dict(ref))
            if row is not None:
                workload = await get_workload(self.client, row, ref.name, ns, {})
        traffic = snap.traffic_ref(ro)
        if traffic is None:
            return snap.Fetched(workload=workload)
        return snap.Fetched(
            workload=workload,
            service=await self._get(SERVICES, traffic.service, ns),
            ingress=await self._get(INGRESSES, traffic.ingress.name, ns) if traffic.ingress else None,
            http_route=(await self._get(HTTPROUTES, traffic.gateway.http_route_name, ns)
                        if traffic.gateway and traffic.gateway.http_route_name else None),
        )

    async def _get(self, res: Resource, name: str, ns: str) -> Mapping[str, Any] | None:
        """The object, or None when absent (its section of the snapshot stays empty)."""
        if not name:
            return None
        try:
            return await self.client.get(res, name, ns)
        except NotFound:
            return None
        except ApiError as e:  # e.g. the HTTPRoute CRD is not installed: record what exists
            log.info("snapshot object not readable", resource=str(res), name=f"{ns}/{name}", error=str(e))
            return None


def rollout_for_history(history: Mapping[str, Any]) -> list[Request]:
    """§2: a record with both labels → its Rollout (same namespace)."""
    found = objmeta.labels(history)
    rollout = found.get(keys.ROLLOUT_NAME_LABEL)
    if not rollout or not found.get(keys.ROLLOUT_ID_LABEL):
        return []
    return [Request(objmeta.namespace(history), rollout)]


def rollout_if_released(rollout: Mapping[str, Any]) -> list[Request]:
    """§2: a Rollout is looked at only once it has an observed rollout-id."""
    canary = (rollout.get("status") or {}).get("canaryStatus") or {}
    if not canary.get("observedRolloutID"):
        return []
    return [Request(objmeta.namespace(rollout), objmeta.name(rollout))]
