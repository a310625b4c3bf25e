"""Find the REST resource of an arbitrary ``apiVersion``/``kind`` by asking the API server.

Why discovery here when :mod:`runtime.kube.resources` says the runtime avoids it: the static table
covers the kinds the controller itself owns; a user may point the controller at *any* kind (a
custom network object such as an Istio ``VirtualService``, or a CRD of their own), and only the API
server knows its plural and scope. ``GET /apis/<group>/<version>`` (``/api/v1`` for the core group)
answers with an ``APIResourceList``; it works for built-in kinds, CRDs and aggregated APIs alike,
unlike reading CRD objects.

Caching: a found resource is remembered for the life of the process (a served kind does not change
its plural). A miss is not remembered: a CRD installed a second later is found on the next call,
and a miss is an error state the caller retries with its own back-off anyway.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .errors import NotFound
from .resources import Resource

__all__ = ["DiscoveryApi", "ResourceDiscovery", "ResourceResolver", "group_version_path"]


@runtime_checkable
class DiscoveryApi(Protocol):
    """The raw request verb of :class:`~runtime.kube.client.KubeClient` (enough for discovery)."""

    async def request(
        self, method: str, path: str, *, body: Any = None, content_type: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any: ...


class ResourceResolver(Protocol):
    """What callers need: the resource serving a kind, or None when the server serves no such kind."""

    async def resource_for(self, api_version: str, kind: str) -> Resource | None: ...


def group_version_path(api_version: str) -> str:
    """Discovery path of ``apiVersion``: ``/apis/<group>/<version>``, or ``/api/<version>`` for core."""
    group, _, version = api_version.rpartition("/")
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


class ResourceDiscovery:
    """:class:`ResourceResolver` over the discovery endpoints, with the positive cache described above."""

    def __init__(self, client: DiscoveryApi) -> None:
        self._client = client
        self._found: dict[tuple[str, str], Resource] = {}
        """Hits only, by (apiVersion, kind); never evicted (module docstring)."""

    async def resource_for(self, api_version: str, kind: str) -> Resource | None:
        """The resource of ``kind`` in ``api_version``; None if the group/version or kind is not served.

        Other API errors (forbidden, unreachable) propagate: the caller cannot tell "absent" from them.
        """
        key = (api_version, kind)
        if key in self._found:
            return self._found[key]
        if not kind or not api_version.rpartition("/")[2]:
            return None
        try:
            listing = await self._client.request("GET", group_version_path(api_version)) or {}
        except NotFound:
            return None
        group, _, version = api_version.rpartition("/")
        for item in listing.get("resources") or []:
            name = str(item.get("name", ""))
            if item.get("kind") == kind and "/" not in name:  # "/" marks a subresource (status, scale)
                found = Resource(group, version, name, kind, namespaced=bool(item.get("namespaced")))
                self._found[key] = found
                return found
        return None
