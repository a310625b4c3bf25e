"""An in-memory ObjectClient and the seed's objects, shared by the traffic unit tests."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

from runtime.kube.errors import AlreadyExists, NotFound
from runtime.kube.resources import Resource

#: Seed 004 part 2 (workload-canary-demo.yaml): the echoserver Service and Ingress, verbatim.
SEED_SERVICE: dict = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "echoserver", "labels": {"app": "echoserver"}},
    "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "echoserver"}},
}
SEED_INGRESS: dict = {
    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "echoserver"},
    "spec": {"ingressClassName": "nginx", "rules": [{"host": "echo.k8s.local", "http": {"paths": [
        {"path": "/apis/echo", "pathType": "Exact",
         "backend": {"service": {"name": "echoserver", "port": {"number": 80}}}}]}}]},
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 (strategic merge behaves the same on the plain maps we patch)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class FakeClient:
    """Objects keyed by (plural, namespace, name); records every write as (verb, kind, name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], dict] = {}
        self.writes: list[tuple[str, str, str]] = []
        self._uids = itertools.count(1)

    def put(self, res: Resource, body: dict, namespace: str) -> dict:
        obj = copy.deepcopy(body)
        obj["metadata"].update(namespace=namespace, uid=f"uid-{next(self._uids)}")
        self.objects[(res.plural, namespace, obj["metadata"]["name"])] = obj
        return obj

    def find(self, res: Resource, name: str, namespace: str = "default") -> dict | None:
        return self.objects.get((res.plural, namespace, name))

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> dict:
        obj = self.objects.get((res.plural, namespace, name))
        if obj is None:
            raise NotFound(f"{res.plural} {name!r} not found")
        return copy.deepcopy(obj)

    async def create(self, res: Resource, body: dict, namespace: str | None = None) -> dict:
        name = body["metadata"]["name"]
        if (res.plural, namespace, name) in self.objects:
            raise AlreadyExists(f"{res.plural} {name!r} already exists")
        self.writes.append(("create", res.kind, name))
        return self.put(res, body, namespace or "")

    async def patch(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
    ) -> dict:
        key = (res.plural, namespace, name)
        if key not in self.objects:
            raise NotFound(f"{res.plural} {name!r} not found")
        self.writes.append(("patch", res.kind, name))
        self.objects[key] = merge_patch(self.objects[key], body)
        return copy.deepcopy(self.objects[key])

    async def delete(self, res: Resource, name: str, namespace: str | None = None) -> dict | None:
        if self.objects.pop((res.plural, namespace, name), None) is None:
            raise NotFound(f"{res.plural} {name!r} not found")
        self.writes.append(("delete", res.kind, name))
        return None


class ConfigMapStore:
    """The informer store of the one ConfigMap ``kruise-rollout-configuration`` in ``namespace``:
    ``data`` None → the ConfigMap does not exist. Tests edit ``data`` to show a script edit applies."""

    def __init__(self, data: dict[str, str] | None = None, *, namespace: str = "kruise-rollout") -> None:
        self.data, self.namespace = data, namespace

    def get(self, name: str, namespace: str | None = None) -> Mapping[str, Any] | None:
        assert (name, namespace) == ("kruise-rollout-configuration", self.namespace)
        return None if self.data is None else {"metadata": {"name": name}, "data": dict(self.data)}

    def list(self, namespace: str | None = None, **_: Any) -> list[Mapping[str, Any]]:
        raise AssertionError("not used")
