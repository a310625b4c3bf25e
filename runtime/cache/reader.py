"""A client whose ``get``/``list`` come from synced informers (controller-runtime's cached client).

Why: a handler on a hot path (the workload admission webhooks answer *every* update of a watched
workload, our own controllers' writes included) paid one or two API round trips per call for data
an informer already holds. Until an informer has synced, and for resources without one, reads go
to the API server, so answers are right from the first request. Objects come back frozen (see
``frozen.py``): callers must not mutate them. Writes and anything else pass straight through.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from runtime.kube.errors import NotFound


class CachedReader:
    """``client`` with ``get``/``list`` served from ``informers`` (by resource) once they have synced."""

    def __init__(self, client: Any, informers: Mapping[Any, Any]) -> None:
        self.client = client
        self._informers = dict(informers)

    def _synced(self, resource: Any) -> Any:
        informer = self._informers.get(resource)
        return informer if informer is not None and informer.has_synced() else None

    async def get(self, resource: Any, name: str, namespace: str | None = None) -> Mapping[str, Any]:
        informer = self._synced(resource)
        if informer is None:
            return await self.client.get(resource, name, namespace)
        obj = informer.store.get(name, namespace)
        if obj is None:
            where = f" in namespace {namespace}" if namespace else ""
            raise NotFound(f"{resource.plural} {name!r} not found{where} (informer cache)")
        return obj

    async def list(self, resource: Any, namespace: str | None = None, **options: Any) -> Mapping[str, Any]:
        """Cached when no server-side options (selectors, limits) are asked for."""
        informer = self._synced(resource)
        if informer is None or any(v is not None for v in options.values()):
            return await self.client.list(resource, namespace, **options)
        return {"items": informer.store.list(namespace)}

    def by_index(self, resource: Any, index: str, value: str) -> builtins.list[Mapping[str, Any]] | None:
        """Cached objects of ``resource`` whose ``index`` produced ``value``; None when that cannot be
        answered from a cache (no synced informer for the resource, or no such index on it): the
        caller then falls back to a list. (``builtins.list``: in this class ``list`` is the method.)"""
        informer = self._synced(resource)
        if informer is None:
            return None
        try:
            return builtins.list(informer.store.by_index(index, value))
        except KeyError:
            return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)
