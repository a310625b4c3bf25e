"""What a reconciler needs from the API client, as a ``Protocol`` (STYLE: "Dependencies typed Any").

Why a protocol and not :class:`~runtime.kube.client.KubeClient` itself: reconcilers are handed
wrappers (a write counter, a cached reader) and tests hand them scripted fakes; typing their fields
with this protocol lets mypy check every call a controller makes (verb, argument order, keywords)
while any object with these methods fits. The signatures are KubeClient's, verb for verb, so
KubeClient satisfies the protocol and a drifting signature fails type checking at the call site
that wires the real client in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .resources import Resource

if TYPE_CHECKING:
    from .client import KubeClient

__all__ = ["KubeApi"]


class KubeApi(Protocol):
    """The verbs reconcilers use: read (get/list), write (create/update/patch/patch_status), delete.

    Objects are plain JSON dicts; errors are the typed errors of :mod:`runtime.kube.errors`.
    """

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The object, or NotFound."""
        ...

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
        field_selector: str | None = None, limit: int = 500, resource_version: str | None = None,
    ) -> dict[str, Any]:
        """``{"items": [...], "metadata": {...}}`` (all pages)."""
        ...

    async def create(
        self, res: Resource, body: dict[str, Any], namespace: str | None = None, *, dry_run: bool = False,
    ) -> dict[str, Any]:
        ...

    async def update(
        self, res: Resource, body: dict[str, Any], *, subresource: str | None = None, dry_run: bool = False,
    ) -> dict[str, Any]:
        """PUT the whole object (stale resourceVersion → Conflict)."""
        ...

    async def patch(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
        subresource: str | None = None, field_manager: str | None = None, force: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        ...

    async def patch_status(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
    ) -> dict[str, Any]:
        ...

    async def delete(
        self, res: Resource, name: str, namespace: str | None = None, *, preconditions: dict[str, Any] | None = None,
        propagation_policy: str | None = None, grace_period_seconds: int | None = None, dry_run: bool = False,
    ) -> dict[str, Any] | None:
        ...


if TYPE_CHECKING:

    def _kube_client_is_a_kube_api(client: KubeClient) -> KubeApi:
        """mypy proves here that the real client satisfies the protocol (never called)."""
        return client
