"""The few API calls the kubectl plugin needs, behind a small protocol.

Commands are written against :class:`RolloutApi` so unit tests use an in-memory fake;
:class:`KubeRolloutApi` implements it with ``runtime.kube.client.KubeClient``. The runtime is
imported lazily inside the implementation so the commands (and their tests) do not depend on it.
"""

from __future__ import annotations

from typing import Any, Protocol

from rollouts.api import keys

ROLLOUT_GROUP = keys.GROUP
#: The plugin requests the storage version; v1alpha1 objects still work (status path differs).
DEFAULT_ROLLOUT_VERSION = "v1beta1"


class ApiNotFound(Exception):
    """The object does not exist."""


class ApiConflict(Exception):
    """Optimistic-concurrency failure (stale resourceVersion)."""


class ApiFailure(Exception):
    """Any other API or connection failure (message shown to the user)."""


class RolloutApi(Protocol):
    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any]: ...

    async def update_rollout_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """PUT the status subresource; ``body.metadata.resourceVersion`` guards against races."""
        ...

    async def patch_rollout(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """JSON merge patch of the Rollout (spec fields)."""
        ...

    async def get_deployment(self, namespace: str, name: str) -> dict[str, Any]: ...

    async def list_replica_sets(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...

    async def json_patch_deployment(self, namespace: str, name: str, ops: list[dict[str, Any]]) -> dict[str, Any]: ...

    async def list_rollout_histories(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """RolloutHistory objects (``rollouts.kruise.io/v1alpha1``) matching the selector."""
        ...

    async def get_workload(self, namespace: str, api_version: str, kind: str, name: str) -> dict[str, Any] | None: ...

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]: ...

    async def list_events(self, namespace: str, field_selector: str) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


class KubeRolloutApi:
    """:class:`RolloutApi` over ``runtime.kube.client.KubeClient`` (imported lazily)."""

    def __init__(self, client: Any, *, version: str = DEFAULT_ROLLOUT_VERSION) -> None:
        from runtime.kube.resources import Resource

        self._client = client
        self._rollouts = Resource(ROLLOUT_GROUP, version, "rollouts", "Rollout")
        self._deployments = Resource("apps", "v1", "deployments", "Deployment")
        self._replicasets = Resource("apps", "v1", "replicasets", "ReplicaSet")
        self._histories = Resource(ROLLOUT_GROUP, "v1alpha1", "rollouthistories", "RolloutHistory")

    @classmethod
    async def connect(
        cls, kubeconfig: str | None, *, context: str | None, version: str = DEFAULT_ROLLOUT_VERSION
    ) -> KubeRolloutApi:
        from runtime.kube.client import KubeClient

        return cls(await KubeClient.from_kubeconfig(kubeconfig, context=context), version=version)

    async def _call(self, coro: Any) -> Any:
        from runtime.kube import errors

        try:
            return await coro
        except errors.NotFound as exc:
            raise ApiNotFound(str(exc)) from exc
        except errors.Conflict as exc:
            raise ApiConflict(str(exc)) from exc
        except errors.ApiError as exc:
            raise ApiFailure(str(exc)) from exc

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call(self._client.get(self._rollouts, name, namespace))

    async def update_rollout_status(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self._client.update(self._rollouts, body, subresource="status"))

    async def patch_rollout(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return await self._call(self._client.patch(self._rollouts, name, patch, namespace, patch_type="merge"))

    async def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call(self._client.get(self._deployments, name, namespace))

    async def list_replica_sets(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        result = await self._call(self._client.list(self._replicasets, namespace, label_selector=label_selector))
        return list(result.get("items") or [])

    async def json_patch_deployment(self, namespace: str, name: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return await self._call(self._client.patch(self._deployments, name, ops, namespace, patch_type="json"))

    async def list_rollout_histories(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        result = await self._call(self._client.list(self._histories, namespace, label_selector=label_selector))
        return list(result.get("items") or [])

    async def get_workload(self, namespace: str, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        """Any workload kind by the plural kubectl would use (``kind.lower() + "s"``: deployments,
        statefulsets, daemonsets, clonesets); None when it does not exist."""
        from runtime.kube.resources import Resource

        group, _, version = api_version.rpartition("/")
        resource = Resource(group, version, kind.lower() + "s", kind)
        try:
            return await self._call(self._client.get(resource, name, namespace))
        except ApiNotFound:
            return None

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        from runtime.kube.resources import Resource

        pods = Resource("", "v1", "pods", "Pod")
        result = await self._call(self._client.list(pods, namespace, label_selector=label_selector))
        return list(result.get("items") or [])

    async def list_events(self, namespace: str, field_selector: str) -> list[dict[str, Any]]:
        from runtime.kube.resources import Resource

        events = Resource("", "v1", "events", "Event")
        result = await self._call(self._client.list(events, namespace, field_selector=field_selector))
        return list(result.get("items") or [])

    async def close(self) -> None:
        await self._client.aclose()
