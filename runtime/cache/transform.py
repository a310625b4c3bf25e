"""Transforms: what an informer drops from each object before caching it (client-go ``SetTransform``).

Why: the cache holds every watched object for the life of the process, so its size is the
manager's memory floor, and it grows with the cluster (N Rollouts bring N Deployments, their
ReplicaSets and their Pods). Most of an object's bytes are bookkeeping no controller reads:

* ``metadata.managedFields``: server-side apply's field ownership, often the largest part;
* the ``kubectl.kubernetes.io/last-applied-configuration`` annotation: a full JSON copy of the
  object as last applied by ``kubectl apply`` (so every applied object is cached twice).

:func:`strip_bookkeeping` removes both and is the default of every informer. A transform for one
resource (say, Pods, where only labels, owners and readiness are read) is set per informer with
:meth:`~runtime.cache.informer.SharedInformer.set_transform` and runs after the default one.

A transform receives a fresh mutable dict (just decoded from the API server) and returns the dict
to cache; it may edit in place. It must be cheap and total: it runs on every list item and watch
event, and an exception there would stop the informer. Objects written back to the API server are
never built from a transformed copy by patching whole objects (our writes are merge/strategic
patches of the fields we own), so a dropped field is never erased on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Transform", "LAST_APPLIED_ANNOTATION", "strip_bookkeeping", "drop_managed_fields", "chain"]

Transform = Callable[[dict[str, Any]], dict[str, Any]]
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


def drop_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """Remove ``metadata.managedFields`` (server-side apply bookkeeping)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return obj


def strip_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    """Default transform: drop ``managedFields`` and the last-applied annotation (an empty
    ``annotations`` map left behind is removed too, as the API server would not send one)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED_ANNOTATION in annotations:
            del annotations[LAST_APPLIED_ANNOTATION]
            if not annotations:
                del meta["annotations"]
    return obj


def chain(*transforms: Transform | None) -> Transform | None:
    """One transform running ``transforms`` in order (``None`` entries skipped; None if none left)."""
    steps = [t for t in transforms if t is not None]
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def chained(obj: dict[str, Any]) -> dict[str, Any]:
        for step in steps:
            obj = step(obj)
        return obj

    return chained
