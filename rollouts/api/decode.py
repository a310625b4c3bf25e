"""The edge where the domain decodes our own objects: a wire dict becomes its v1beta1 model once.

Controllers and the pure machines hold whatever the informer gave them (a dict) or what an earlier
step already decoded (a model); these helpers make both the model without decoding twice. Decoding
is strict: DecodeError names the malformed field path (docs/domain.md).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import attrs

from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseStatus, plan_hash
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.api.wire import from_dict, wire_fields

__all__ = [
    "EXECUTOR_STATUS_FIELDS",
    "SpecCache",
    "as_batch_release",
    "as_rollout",
    "batch_release_for_executor",
    "rollout_phase",
]

#: The stored-status fields the BatchRelease controls read from the model (``deployment.workload_info``,
#: ``observed_workload_replicas``, ``stored_revisions``, the native DaemonSet partition annotation).
#: ``tests/unit/api/test_decode_executor.py`` checks that the batchrelease package reads no other.
EXECUTOR_STATUS_FIELDS = frozenset({"observed_workload_replicas", "update_revision", "stable_revision"})
_EXECUTOR_STATUS_WIRE = tuple(f.meta.name for f in wire_fields(BatchReleaseStatus) if f.attr in EXECUTOR_STATUS_FIELDS)


def as_rollout(rollout: Rollout | Mapping[str, Any]) -> Rollout:
    """A v1beta1 Rollout model; a wire dict is decoded without its ``status`` (the Rollout machine edits
    the status dict; decoding it would be wasted work)."""
    if isinstance(rollout, Rollout):
        return rollout
    return from_dict(Rollout, {k: v for k, v in rollout.items() if k != "status"})


def rollout_phase(rollout: Rollout | Mapping[str, Any]) -> str:
    """``status.phase`` of a Rollout ("" when it has no status yet). A wire dict has only its status
    decoded: :func:`as_rollout` leaves the status out, and the webhooks need just this field of it."""
    if isinstance(rollout, Rollout):
        return rollout.status.phase if rollout.status is not None else ""
    status = rollout.get("status")
    return "" if status is None else from_dict(RolloutStatus, status).phase


def as_batch_release(br: BatchRelease | Mapping[str, Any] | None) -> BatchRelease | None:
    """A v1beta1 BatchRelease model (``None`` stays ``None``); a model passes through."""
    if br is None or isinstance(br, BatchRelease):
        return br
    return from_dict(BatchRelease, br)


def batch_release_for_executor(br: BatchRelease | Mapping[str, Any], specs: SpecCache | None = None) -> BatchRelease:
    """The BatchRelease reconciler's edge: metadata and spec decoded in full, of the stored status only
    :data:`EXECUTOR_STATUS_FIELDS` (presence kept); a model passes through. With ``specs`` the spec is
    the one decoded for the same (uid, generation) before (:class:`SpecCache`).

    Why: the executor edits and writes the status as the wire dict it copied from the informer, so
    the model's status is read for three fields only; decoding the rest (conditions, canary status)
    was two thirds of the decode and made the executor round 1.5-1.8x the dict code
    (bench/RESULTS.md). The returned model's ``status`` is therefore partial: encode the dict, not it.
    """
    if isinstance(br, BatchRelease):
        return br
    stored = br.get("status")
    projected = {k: stored[k] for k in _EXECUTOR_STATUS_WIRE if k in stored} if isinstance(stored, dict) else stored
    if specs is None:
        body = {k: v for k, v in br.items() if k != "status"}
        if projected is not None:
            body["status"] = projected  # a malformed (non-object) status is named by the decoder
        return from_dict(BatchRelease, body)
    status = specs.status(projected)
    entry = specs.entry(br)
    if entry is None:
        entry = specs.decode(br)
    return entry.model(br.get("metadata"), status)


def batch_release(br: BatchRelease | Mapping[str, Any]) -> BatchRelease:
    """:func:`as_batch_release` for a BatchRelease that is there (attrs converter of the controls)."""
    out = as_batch_release(br)
    assert out is not None
    return out


#: Decoded specs kept by a :class:`SpecCache`: one per BatchRelease the controller works on, plus
#: room for churn. 1024 entries of a three-batch plan measured 3.7 MiB (tracemalloc); a cluster with more
#: concurrent releases than that decodes more often.
SPEC_CACHE_SIZE = 1024


#: Projected statuses a :class:`SpecCache` remembers (few distinct values of the three fields at a time).
_STATUSES = 64


@attrs.define
class _Entry:
    """One decoded generation: the model as first decoded (its metadata and status replaced per read)."""

    decoded: BatchRelease
    plan_hash: str | None = None

    def model(self, metadata: Any, status: BatchReleaseStatus | None) -> BatchRelease:
        """The cached spec with this read's metadata and projected status.

        The metadata dict is the read's own, not a copy (unlike ``from_dict``): the reconciler reads a
        private copy of the cached object (``thaw``) and only reads the model's metadata."""
        present = self.decoded._present or frozenset()
        present = present | {"status"} if status is not None else present - {"status"}
        if metadata is None:
            metadata, present = {}, present - {"metadata"}
        elif isinstance(metadata, dict):
            present = present | {"metadata"}
        else:
            metadata = from_dict(BatchRelease, {"metadata": metadata}).metadata  # raises, naming the field
        d = self.decoded
        return BatchRelease(api_version=d.api_version, kind=d.kind, metadata=metadata, spec=d.spec, status=status,
                            extra=d._extra, present=present)


@attrs.define
class SpecCache:
    """Decoded BatchRelease specs by (uid, ``metadata.generation``), least recently used first out.

    Why: the executor's own work per reconcile is ~20 µs of dict edits, so decoding the spec (~10 µs)
    and hashing its plan (~9 µs) on every reconcile made the typed round 2.2-2.5x the dict code
    (bench/RESULTS.md). The API server bumps ``generation`` on every spec change of a kind with a
    status subresource, and a re-created object has a new uid, so (uid, generation) names one spec:
    only metadata and the status are per-read. Objects without a uid or generation (unit tables,
    hand-built dicts) are decoded every time.

    Invariant: the cached specs are shared by every reconcile of that generation, so nothing may
    mutate them (the executor and the controls only read the spec;
    tests/unit/api/test_spec_cache.py checks a whole release leaves the cached spec as decoded).

    One entry per uid: a newer generation replaces the older one (the informer moves forward, so
    the old spec is not read again), and :meth:`forget` drops a BatchRelease that is going away.
    Without both, every release (a new BatchRelease, ~3 generations) added entries until ``maxsize``:
    bench/soak.py saw the manager's heap grow with every release for the first ~1,000 entries.
    """

    maxsize: int = SPEC_CACHE_SIZE
    _entries: OrderedDict[tuple[str, int], _Entry] = attrs.field(factory=OrderedDict)
    #: Projected statuses by their raw wire values (JSON scalars, so hashable); shared like the specs,
    #: so equally never mutated (the controls read three fields of them).
    _statuses: dict[tuple[Any, ...], BatchReleaseStatus] = attrs.field(factory=dict)
    #: The entry used last (a reconcile reads the model, then asks for its plan hash).
    _last: _Entry | None = None
    #: The generation cached for each uid (at most one entry per object).
    _generations: dict[str, int] = attrs.field(factory=dict)

    @staticmethod
    def key(br: BatchRelease | Mapping[str, Any]) -> tuple[str, int] | None:
        """(uid, generation), or None when the object lacks either (then nothing is cached)."""
        md = br.metadata if isinstance(br, BatchRelease) else br.get("metadata")
        if not isinstance(md, dict):
            return None
        uid, generation = md.get("uid"), md.get("generation")
        if not isinstance(uid, str) or not uid or not isinstance(generation, int) or isinstance(generation, bool):
            return None
        return uid, generation

    def decode(self, br: Mapping[str, Any]) -> _Entry:
        """Decode ``br`` without its status and metadata (both are per read) and remember it for the
        reads of the same generation.

        (Reusing the previous generation's spec when only ``batchPartition`` moved was tried: the
        comparison and copies cost as much as the ~10 µs decode they saved; bench/RESULTS.md.)"""
        entry = _Entry(from_dict(BatchRelease, {k: v for k, v in br.items() if k != "status" and k != "metadata"}))
        key = self.key(br)
        if key is not None:
            uid, generation = key
            older = self._generations.get(uid)
            if older is not None and older != generation:
                self._entries.pop((uid, older), None)
            self._generations[uid] = generation
            self._last = self._entries[key] = entry
            if len(self._entries) > self.maxsize:
                (out_uid, out_generation), _ = self._entries.popitem(last=False)
                if self._generations.get(out_uid) == out_generation:
                    del self._generations[out_uid]
        return entry

    def forget(self, uid: str) -> None:
        """Drop the entry of a BatchRelease that is going away (its finalizer is being removed)."""
        generation = self._generations.pop(uid, None)
        entry = self._entries.pop((uid, generation), None) if generation is not None else None
        if entry is not None and self._last is entry:
            self._last = None

    def plan_hash(self, br: BatchRelease) -> str:
        """``plan_hash(br.spec.release_plan)``, computed once per cached generation."""
        entry = self._last if self._last is not None and self._last.decoded.spec is br.spec else self.entry(br)
        if entry is None or entry.decoded.spec is not br.spec:
            return plan_hash(br.spec.release_plan)
        if entry.plan_hash is None:
            entry.plan_hash = plan_hash(br.spec.release_plan)
        return entry.plan_hash

    def status(self, projected: Any) -> BatchReleaseStatus | None:
        """The projected stored status (``None`` when absent), decoded once per distinct value."""
        if projected is None:
            return None
        key: tuple[Any, ...] | None = None
        try:
            # The value's type is part of the key: True == 1 in Python, but a bool is malformed here.
            key = tuple((k, type(v), v) for k, v in projected.items()) if isinstance(projected, dict) else None
            cached = self._statuses.get(key) if key is not None else None
        except TypeError:  # a non-scalar value (malformed): the decoder names it below
            key, cached = None, None
        if cached is None:
            cached = from_dict(BatchRelease, {"status": projected}).status
            assert cached is not None
            if key is not None:
                if len(self._statuses) >= _STATUSES:
                    self._statuses.clear()
                self._statuses[key] = cached
        return cached

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, br: BatchRelease | Mapping[str, Any]) -> _Entry | None:
        """The entry of this (uid, generation), now the most recently used; None if not cached."""
        key = self.key(br)
        entry = self._entries.get(key) if key is not None else None
        if entry is not None:
            self._entries.move_to_end(key)  # type: ignore[arg-type]
            self._last = entry
        return entry
