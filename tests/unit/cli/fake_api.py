"""In-memory :class:`RolloutApi` with resourceVersion checks and scripted conflicts."""

from __future__ import annotations

import copy

from rollouts.cli.api import ApiConflict, ApiNotFound


def merge(target: dict, patch: dict) -> dict:
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)
    return target


class FakeApi:
    def __init__(self, rollouts=(), deployments=(), replica_sets=(), histories=()):
        self.rollouts = {(r["metadata"]["namespace"], r["metadata"]["name"]): copy.deepcopy(r) for r in rollouts}
        self.deployments = {(d["metadata"]["namespace"], d["metadata"]["name"]): copy.deepcopy(d) for d in deployments}
        self.replica_sets = [copy.deepcopy(rs) for rs in replica_sets]
        self.histories = [copy.deepcopy(h) for h in histories]
        self.conflicts_to_inject = 0
        self.calls = []
        self.closed = False
        self.on_get = None

    def _bump(self, obj):
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"].get("resourceVersion", "1")) + 1)

    async def get_rollout(self, namespace, name):
        self.calls.append(("get_rollout", namespace, name))
        if self.on_get:
            self.on_get(self)
        try:
            return copy.deepcopy(self.rollouts[(namespace, name)])
        except KeyError:
            raise ApiNotFound(name) from None

    async def update_rollout_status(self, body):
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        self.calls.append(("update_rollout_status", key, copy.deepcopy(body["status"])))
        stored = self.rollouts[key]
        if self.conflicts_to_inject:
            self.conflicts_to_inject -= 1
            self._bump(stored)
            raise ApiConflict("the object has been modified")
        if meta.get("resourceVersion") != stored["metadata"].get("resourceVersion"):
            raise ApiConflict("stale resourceVersion")
        stored["status"] = copy.deepcopy(body["status"])
        self._bump(stored)
        return copy.deepcopy(stored)

    async def patch_rollout(self, namespace, name, patch):
        self.calls.append(("patch_rollout", (namespace, name), patch))
        merge(self.rollouts[(namespace, name)], patch)
        return copy.deepcopy(self.rollouts[(namespace, name)])

    async def get_deployment(self, namespace, name):
        try:
            return copy.deepcopy(self.deployments[(namespace, name)])
        except KeyError:
            raise ApiNotFound(name) from None

    async def list_replica_sets(self, namespace, label_selector):
        self.calls.append(("list_replica_sets", namespace, label_selector))
        return copy.deepcopy(self.replica_sets)

    async def json_patch_deployment(self, namespace, name, ops):
        self.calls.append(("json_patch_deployment", (namespace, name), ops))
        d = self.deployments[(namespace, name)]
        for op in ops:
            assert op["op"] == "replace"
            parts = op["path"].strip("/").split("/")
            d[parts[0]][parts[1]] = copy.deepcopy(op["value"])
        return copy.deepcopy(d)

    async def close(self):
        self.closed = True

    async def list_rollout_histories(self, namespace, label_selector):
        self.calls.append(("list_rollout_histories", namespace, label_selector))
        key, _, value = label_selector.partition("=")
        return [copy.deepcopy(h) for h in self.histories if h["metadata"]["namespace"] == namespace
                and (h["metadata"].get("labels") or {}).get(key) == value]
