"""The Rollout validator's reads from the informer cache, guarded against cache lag.

Why: the conflict rule ("one workload, at most one Rollout") used to LIST every Rollout of the
namespace on each Rollout CREATE/UPDATE, so admission cost grew with the namespace (and creating N
Rollouts cost O(N²)). Here it is one lookup in the Rollout informer's ``workload-ref`` index
(:mod:`rollouts.objects.workloadref`), the informer every replica runs anyway.

A cache lags the API server by the watch latency, so taken alone it can be wrong both ways:

* **It says "conflict" but there is none** (the other Rollout was deleted or retargeted a moment
  ago): we would deny a valid Rollout. So a conflict found in the cache is *confirmed* with a GET
  of that one Rollout on the API server, and its live state decides. That read happens only on
  the (rare) conflict path, so the common case costs no round trip.
* **It says "no conflict" but there is one** (another Rollout for the same workload was admitted a
  moment ago and has not reached the cache yet, e.g. two Rollouts applied together by a GitOps
  sync): we would admit both. Read-your-writes: every CREATE/UPDATE this validator admits is
  remembered for :data:`RECENT_ADMISSION_SECONDS`; a remembered Rollout the cache does not show
  (yet) for the workload is treated as a cache hit, i.e. confirmed with a GET. A remembered
  admission that was never persisted (another webhook denied it, a dry run) reads NotFound and
  denies nothing.

Left open, as upstream (which reads its cache without either guard): two Rollouts for one workload
admitted within the watch latency by *different* webhook replicas. Closing it would need a LIST on
every admission, which is what this module removes.

Until the informer has synced (manager start), every call goes to the API server.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import structlog

from rollouts.objects import meta
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, raw_workload_ref
from runtime.clock import REAL_CLOCK, Clock
from webhooks.validating_rollout import KubeRolloutLister, index_value_of, targets

__all__ = ["CachedRolloutLister", "RECENT_ADMISSION_SECONDS"]

log = structlog.get_logger("webhooks.rollout_cache")
Obj = Mapping[str, Any]

#: How long an admitted Rollout is remembered. Watch latency on a healthy cluster is milliseconds;
#: 30 s also covers a watch that is re-established after a dropped connection (the reflector backs
#: off up to 30 s only after repeated failures, and then the cache is known to be behind anyway).
RECENT_ADMISSION_SECONDS = 30.0


class _Store(Protocol):
    def get(self, name: str, namespace: str | None = None) -> Obj | None: ...

    def by_index(self, index: str, value: str) -> list[Obj]: ...


class _IndexedRolloutInformer(Protocol):
    @property
    def store(self) -> _Store: ...

    def has_synced(self) -> bool: ...


class CachedRolloutLister:
    """A :class:`~webhooks.validating_rollout.RolloutLister` over the Rollout informer (see module doc).

    ``informer`` must carry the ``workload-ref`` indexer; ``client`` is the API client used before
    the informer has synced and to confirm conflicts.
    """

    def __init__(self, informer: _IndexedRolloutInformer, client: Any, *, clock: Clock = REAL_CLOCK,
                 remember_seconds: float = RECENT_ADMISSION_SECONDS) -> None:
        self.informer = informer
        self.api = KubeRolloutLister(client)
        self._clock = clock
        self._remember = remember_seconds
        # Invariant: every (value, key) in _recent has an entry in _expiry_order with the same expiry;
        # _expiry_order is sorted by expiry (appends use a monotonic clock and a fixed lifetime).
        self._recent: dict[str, dict[tuple[str, str], float]] = {}
        self._expiry_order: deque[tuple[float, str, tuple[str, str]]] = deque()
        self.confirmations = 0
        """API reads made to confirm a conflict (tests and the scale bench look at it)."""

    async def others_targeting(self, namespace: str, rollout: str, workload_ref: Mapping[str, Any]) -> list[Obj]:
        if not self.informer.has_synced():
            return await self.api.others_targeting(namespace, rollout, workload_ref)
        value = index_value_of(namespace, workload_ref)
        if value is None:
            return []
        candidates = {meta.name(ro) for ro in self.informer.store.by_index(WORKLOAD_REF_INDEX, value)}
        candidates |= {name for ns, name in self._recent_for(value) if ns == namespace}
        candidates.discard(rollout)
        found = []
        for name in sorted(candidates):
            self.confirmations += 1
            live = await self.api.get_rollout(namespace, name)
            if live is not None and targets(live, value, namespace):
                found.append(live)
        return found

    async def get_rollout(self, namespace: str, name: str) -> Obj | None:
        """The cached Rollout (the validator keeps the request's ``oldObject`` when that is newer)."""
        if not self.informer.has_synced():
            return await self.api.get_rollout(namespace, name)
        return self.informer.store.get(name, namespace)

    def admitted(self, rollout: Mapping[str, Any], namespace: str) -> None:
        """Remember an admitted Rollout under its workload until the cache has surely caught up."""
        value = index_value_of(meta.namespace(rollout) or namespace, raw_workload_ref(rollout))
        if value is None or not meta.name(rollout):
            return
        now = self._clock.monotonic()
        self._expire(now)
        key = (meta.namespace(rollout) or namespace, meta.name(rollout))
        expiry = now + self._remember
        self._recent.setdefault(value, {})[key] = expiry
        self._expiry_order.append((expiry, value, key))

    def _recent_for(self, value: str) -> list[tuple[str, str]]:
        self._expire(self._clock.monotonic())
        return list(self._recent.get(value, ()))

    def _expire(self, now: float) -> None:
        while self._expiry_order and self._expiry_order[0][0] <= now:
            expiry, value, key = self._expiry_order.popleft()
            entries = self._recent.get(value)
            if entries is not None and entries.get(key) == expiry:  # not re-admitted since
                del entries[key]
                if not entries:
                    del self._recent[value]

    @property
    def remembered(self) -> int:
        """Admissions currently remembered (bounded by the admission rate times the lifetime)."""
        self._expire(self._clock.monotonic())
        return sum(len(v) for v in self._recent.values())
