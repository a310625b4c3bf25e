"""A tiny in-memory stand-in for the few KubeClient methods the cert sync uses (unit tests only;
integration tests use the real control plane)."""

from __future__ import annotations

import copy
from typing import Any

from runtime.kube.errors import AlreadyExists, Conflict, NotFound


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rv = 0
        self.writes: list[tuple[str, str, str]] = []
        self.before_create: Any = None

    def _key(self, res: Any, name: str, namespace: str | None) -> tuple[str, str, str]:
        return (res.plural, namespace or "", name)

    def put(self, res: Any, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        self.objects[self._key(res, meta["name"], meta.get("namespace"))] = body
        return copy.deepcopy(body)

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        try:
            return copy.deepcopy(self.objects[self._key(res, name, namespace)])
        except KeyError:
            raise NotFound(f"{res.plural} {name}") from None

    async def list(self, res: Any, namespace: str | None = None, field_selector: str | None = None) -> dict[str, Any]:
        return {"items": [copy.deepcopy(o) for (p, ns, _), o in sorted(self.objects.items())
                          if p == res.plural and (namespace is None or ns == namespace)
                          and selected(o, field_selector)]}

    async def create(self, res: Any, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        if self.before_create is not None:
            hook, self.before_create = self.before_create, None
            hook()
        meta = body["metadata"]
        key = self._key(res, meta["name"], namespace or meta.get("namespace"))
        if key in self.objects:
            raise AlreadyExists(f"{res.plural} {meta['name']}")
        self.writes.append(("create", res.plural, meta["name"]))
        return self.put(res, {**body, "metadata": {**meta, "namespace": namespace or meta.get("namespace")}}
                        if res.namespaced else body)

    async def update(self, res: Any, body: dict[str, Any]) -> dict[str, Any]:
        meta = body["metadata"]
        key = self._key(res, meta["name"], meta.get("namespace"))
        if key not in self.objects:
            raise NotFound(f"{res.plural} {meta['name']}")
        if meta.get("resourceVersion") != self.objects[key]["metadata"]["resourceVersion"]:
            raise Conflict(f"{res.plural} {meta['name']}: stale resourceVersion")
        self.writes.append(("update", res.plural, meta["name"]))
        return self.put(res, body)

    async def delete(self, res: Any, name: str, namespace: str | None = None) -> None:
        key = self._key(res, name, namespace)
        if key not in self.objects:
            raise NotFound(f"{res.plural} {name}")
        self.writes.append(("delete", res.plural, name))
        del self.objects[key]


def selected(obj: dict[str, Any], field_selector: str | None) -> bool:
    """The API server's filter on the Rollout CRD's selectable field (the only one the webhooks ask for)."""
    if field_selector is None:
        return True
    field, _, value = field_selector.partition("=")
    assert field == "spec.workloadRef.name", field_selector
    return ((obj.get("spec") or {}).get("workloadRef") or {}).get("name") == value
