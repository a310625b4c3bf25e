"""An async Kubernetes API client that speaks plain JSON dicts.

Why not the generated kubernetes_asyncio API classes: they turn objects into model classes (we want
the wire JSON, unchanged, for CRDs and for server-side apply), and with ``_preload_content=False``
they hand back raw responses without raising on errors. Here every request goes through one function,
:meth:`KubeClient._send`, which applies the client-side rate limit, adds auth headers, retries 429s
that carry ``Retry-After``, records metrics, and raises a typed :mod:`~runtime.kube.errors` error for
**every** non-2xx answer. URLs are built from :class:`~runtime.kube.resources.Resource`, no discovery.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import attrs

from ..clock import REAL_CLOCK, Clock
from ..flowcontrol import TokenBucket
from .config import Connection, load_auto, load_in_cluster, load_kubeconfig, static_headers
from .errors import ApiError, ConnectionFailed, Gone, Timeout, TooManyRequests, error_from_response
from .resources import Resource
from .watch import WatchEvent, stream_events

__all__ = ["KubeClient", "ClientSettings", "RequestHook", "ThrottleHook", "PATCH_CONTENT_TYPES"]

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",  # JSON is YAML, so we send JSON
}

RequestHook = Callable[[str, str, float], None]
"""Called after each request with (verb, status code as text or "<error>", seconds)."""

ThrottleHook = Callable[[str, float], None]
"""Called before each request is sent with (verb, seconds it waited for the client's QPS budget)."""


@attrs.frozen
class ClientSettings:
    """Tuning of :class:`KubeClient`. Defaults follow controller-runtime."""

    qps: float = 20.0
    """Sustained client-side requests per second (controller-runtime's default; client-go's is 5)."""
    burst: int = 30
    """Requests allowed at once above ``qps`` (e.g. the initial lists of every informer)."""
    request_timeout: float = 30.0
    """Total timeout of a non-watch request: longer than the API server's own 60 s is useless for
    controllers, shorter would break slow admission webhooks chains; 30 s is client-go's usual value."""
    watch_timeout_seconds: int = 300
    """Server-side ``timeoutSeconds`` of a watch when the caller gives none (client-go uses 5–10 min)."""
    watch_inactivity_timeout: float = 150.0
    """Close a watch when no byte arrived for this long (half-open connections). The API server sends
    bookmarks about every 60 s on cached resources, so 150 s never trips a healthy watch there; on a
    quiet uncached resource the caller merely re-watches from the same resourceVersion."""
    max_retries: int = 10
    """How many times a 429 carrying ``Retry-After`` is retried before raising TooManyRequests."""
    max_retry_after: float = 30.0
    """Cap on a server-requested ``Retry-After`` so a bogus header cannot stall a controller."""
    user_agent: str = "kruise-rollouts-py/0.1"
    """Sent as User-Agent; shows in audit logs and API priority-and-fairness flow schemas."""


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _server_retry_after(status: int, headers: Any, error: ApiError) -> float | None:
    """Seconds the server asked us to wait before retrying, or None when it did not ask.

    Like client-go, a ``Retry-After`` on 429 or 5xx means the request was not processed, so it is
    retried whatever the verb (API priority-and-fairness rejections, a starting API server).
    """
    if isinstance(error, TooManyRequests):
        return error.retry_after
    if status >= 500 and headers.get("Retry-After"):
        try:
            return max(0.0, float(headers["Retry-After"]))
        except ValueError:
            return None
    return None


class _ResponseSource:
    """Adapts an aiohttp response body to :class:`~runtime.kube.watch.ByteSource`."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def read(self) -> bytes:
        try:
            return await self._response.content.readany()
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as e:
            raise ConnectionFailed(f"watch stream broken: {e!r}") from e

    def close(self) -> None:
        self._response.close()


class KubeClient:
    """Typed-error, rate-limited JSON client for one API server. Create with the async classmethods."""

    def __init__(
        self, connection: Connection, *, settings: ClientSettings | None = None, clock: Clock = REAL_CLOCK,
    ) -> None:
        self.connection = connection
        self.settings = settings or ClientSettings()
        self._clock = clock
        self._bucket = TokenBucket(qps=self.settings.qps, burst=self.settings.burst, clock=clock)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=connection.ssl, limit=0),
            headers={"User-Agent": self.settings.user_agent},
        )
        self.request_hooks: list[RequestHook] = []
        """Metrics callbacks; the manager adds one that counts requests by verb and code."""
        self.throttle_hooks: list[ThrottleHook] = []
        """Called with each request's wait for the QPS/burst budget (0 when a token was there), so a slow
        reconcile can be told apart: the server's answer or our own budget."""

    # construction -------------------------------------------------------------------------------
    @classmethod
    async def from_kubeconfig(
        cls, path: str | None = None, *, context: str | None = None, settings: ClientSettings | None = None,
    ) -> KubeClient:
        return cls(await load_kubeconfig(path, context=context), settings=settings)

    @classmethod
    async def in_cluster(cls, *, settings: ClientSettings | None = None, **paths: Any) -> KubeClient:
        """The pod's service account; ``paths`` (token_file, ca_file, environ) are for tests."""
        return cls(load_in_cluster(**paths), settings=settings)

    @classmethod
    async def auto(
        cls, kubeconfig: str | None = None, *, context: str | None = None, settings: ClientSettings | None = None,
    ) -> KubeClient:
        """Explicit path > ``$KUBECONFIG`` > in-cluster > ``~/.kube/config``."""
        return cls(await load_auto(kubeconfig, context=context), settings=settings)

    @classmethod
    async def for_server(
        cls, server: str, *, headers: dict[str, str] | None = None, settings: ClientSettings | None = None,
        clock: Clock = REAL_CLOCK,
    ) -> KubeClient:
        """A client for a plain-HTTP or pre-authenticated server (tests with a scripted server)."""
        return cls(Connection(server.rstrip("/"), ssl=False, auth_headers=static_headers(headers)),
                   settings=settings, clock=clock)

    @property
    def server(self) -> str:
        return self.connection.server

    async def aclose(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # the one request path -----------------------------------------------------------------------
    def _observe(self, verb: str, code: str, started: float) -> None:
        elapsed = time.monotonic() - started
        for hook in self.request_hooks:
            hook(verb, code, elapsed)

    async def _throttle(self, verb: str) -> None:
        delay = self._bucket.reserve()
        if delay > 0:
            await self._clock.sleep(delay)
        for hook in self.throttle_hooks:
            hook(verb, delay)

    async def _send(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
        content_type: str | None = None, stream: bool = False,
    ) -> aiohttp.ClientResponse:
        """Send one request (retrying 429 + Retry-After); return a 2xx response or raise ApiError."""
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        # Watches: no total timeout (they last minutes), but the response must start and bytes must keep
        # coming; sock_read (real time) backs up the clock-driven watchdog of runtime.kube.watch.
        timeout = (aiohttp.ClientTimeout(total=None, sock_connect=self.settings.request_timeout,
                                         sock_read=self.settings.watch_inactivity_timeout) if stream
                   else aiohttp.ClientTimeout(total=self.settings.request_timeout))
        for attempt in range(self.settings.max_retries + 1):
            await self._throttle(method)
            headers = {"Accept": "application/json", **await self.connection.auth_headers()}
            if data is not None:
                headers["Content-Type"] = content_type or "application/json"
            started = time.monotonic()
            try:
                resp = await self._session.request(method, self.server + path, params=query, data=data,
                                                   headers=headers, timeout=timeout)
            except TimeoutError as e:
                self._observe(method, "<error>", started)
                raise Timeout(f"{method} {path}: no answer within {self.settings.request_timeout}s",
                              status=0) from e
            except aiohttp.ClientError as e:
                self._observe(method, "<error>", started)
                raise ConnectionFailed(f"{method} {path}: {e}") from e
            self._observe(method, str(resp.status), started)
            if resp.status < 300:
                return resp
            error = await self._error_of(resp)
            wait = _server_retry_after(resp.status, resp.headers, error)
            if wait is not None and attempt < self.settings.max_retries:
                await self._clock.sleep(min(wait, self.settings.max_retry_after))
                continue
            raise error
        raise AssertionError("unreachable")

    @staticmethod
    async def _error_of(resp: aiohttp.ClientResponse) -> ApiError:
        try:
            raw = await resp.read()
        except (TimeoutError, aiohttp.ClientError):
            raw = b""
        finally:
            resp.release()
        return error_from_response(resp.status, raw, resp.headers)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = await self._send(method, path, **kw)
        try:
            raw = await resp.read()
        except (TimeoutError, aiohttp.ClientError) as e:
            raise ConnectionFailed(f"{method} {path}: reading body: {e!r}") from e
        finally:
            resp.release()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ApiError(f"{method} {path}: response is not JSON: {raw[:200]!r}", status=resp.status) from e

    async def request(
        self, method: str, path: str, *, body: Any = None, content_type: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Raw escape hatch (discovery, /version, subresources not covered here); typed errors still."""
        return await self._json(method.upper(), path, body=body, content_type=content_type, params=params)

    async def version(self) -> dict:
        """``GET /version``: the cheapest authenticated round trip (the manager's start-up API probe)."""
        return dict(await self.request("GET", "/version") or {})

    # verbs --------------------------------------------------------------------------------------
    async def get(self, res: Resource, name: str, namespace: str | None = None) -> dict:
        return await self._json("GET", res.object_path(name, namespace))

    async def list_pages(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
        field_selector: str | None = None, limit: int = 500, resource_version: str | None = None,
    ) -> AsyncIterator[dict]:
        """Yield list pages following ``continue`` tokens (raises Gone if a token expires)."""
        params: dict[str, Any] = {"labelSelector": label_selector, "fieldSelector": field_selector,
                                  "limit": limit or None, "resourceVersion": resource_version}
        path = res.collection_path(namespace)
        page = await self._json("GET", path, params=params)
        yield page
        while token := (page.get("metadata") or {}).get("continue"):
            page = await self._json("GET", path, params={**params, "continue": token, "resourceVersion": None})
            yield page

    async def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
        field_selector: str | None = None, limit: int = 500, resource_version: str | None = None,
    ) -> dict:
        """All pages merged: ``{"items": [...], "metadata": {"resourceVersion": ...}}``.

        Pages share one snapshot (the continue token pins it). If a token expires mid-way (410,
        etcd compacted it), the list restarts once unpaginated, as client-go's pager does.
        Items get ``apiVersion``/``kind`` filled in (the server omits them inside lists).
        """
        kw = {"label_selector": label_selector, "field_selector": field_selector,
              "resource_version": resource_version}
        try:
            pages = [p async for p in self.list_pages(res, namespace, limit=limit, **kw)]
        except Gone:
            if resource_version or not limit:
                raise
            pages = [p async for p in self.list_pages(res, namespace, limit=0, **kw)]
        items: list[dict] = []
        for page in pages:
            for item in page.get("items") or []:
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
                items.append(item)
        rv = (pages[0].get("metadata") or {}).get("resourceVersion")
        return {"apiVersion": res.api_version, "kind": f"{res.kind}List", "items": items,
                "metadata": {"resourceVersion": rv}}

    async def create(self, res: Resource, body: dict, namespace: str | None = None, *, dry_run: bool = False) -> dict:
        ns = namespace or (body.get("metadata") or {}).get("namespace")
        if res.namespaced and not ns:
            raise ValueError(f"create {res.kind}: namespaced; pass namespace= or set metadata.namespace")
        return await self._json("POST", res.collection_path(ns), body=body,
                                params={"dryRun": "All" if dry_run else None})

    async def update(
        self, res: Resource, body: dict, *, subresource: str | None = None, dry_run: bool = False,
    ) -> dict:
        """PUT the whole object; namespace/name come from ``body.metadata``. Stale RV → Conflict."""
        meta = body.get("metadata") or {}
        return await self._json("PUT", res.object_path(meta.get("name", ""), meta.get("namespace"), subresource),
                                body=body, params={"dryRun": "All" if dry_run else None})

    async def patch(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
        subresource: str | None = None, field_manager: str | None = None, force: bool = False,
        dry_run: bool = False,
    ) -> dict:
        """PATCH with ``patch_type`` in merge/json/strategic/apply (apply needs ``field_manager``)."""
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"patch_type must be one of {sorted(PATCH_CONTENT_TYPES)}, got {patch_type!r}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs field_manager=")
        params = {"fieldManager": field_manager, "force": True if (force and patch_type == "apply") else None,
                  "dryRun": "All" if dry_run else None}
        return await self._json("PATCH", res.object_path(name, namespace, subresource), body=body,
                                content_type=PATCH_CONTENT_TYPES[patch_type], params=params)

    async def delete(
        self, res: Resource, name: str, namespace: str | None = None, *, preconditions: dict | None = None,
        propagation_policy: str | None = None, grace_period_seconds: int | None = None, dry_run: bool = False,
    ) -> dict | None:
        opts: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if preconditions:
            opts["preconditions"] = preconditions
        if propagation_policy:
            opts["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        if dry_run:
            opts["dryRun"] = ["All"]
        return await self._json("DELETE", res.object_path(name, namespace), body=opts)

    async def update_status(self, res: Resource, body: dict) -> dict:
        return await self.update(res, body, subresource="status")

    async def patch_status(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
    ) -> dict:
        return await self.patch(res, name, body, namespace, patch_type=patch_type, subresource="status")

    async def get_scale(self, res: Resource, name: str, namespace: str | None = None) -> dict:
        return await self._json("GET", res.object_path(name, namespace, "scale"))

    async def patch_scale(
        self, res: Resource, name: str, body: Any, namespace: str | None = None, *, patch_type: str = "merge",
    ) -> dict:
        return await self.patch(res, name, body, namespace, patch_type=patch_type, subresource="scale")

    # watch --------------------------------------------------------------------------------------
    async def watch(
        self, res: Resource, namespace: str | None = None, *, resource_version: str | None = None,
        timeout_seconds: int | None = None, label_selector: str | None = None,
        field_selector: str | None = None, allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Stream events until the server ends the watch (``timeoutSeconds``) or the stream breaks.

        ERROR events are raised as typed errors (410 → Gone). See :mod:`runtime.kube.watch`.
        """
        params = {"watch": True, "resourceVersion": resource_version, "allowWatchBookmarks": allow_bookmarks,
                  "timeoutSeconds": timeout_seconds or self.settings.watch_timeout_seconds,
                  "labelSelector": label_selector, "fieldSelector": field_selector}
        resp = await self._send("GET", res.collection_path(namespace), params=params, stream=True)
        try:
            async for event in stream_events(_ResponseSource(resp), clock=self._clock,
                                             inactivity_timeout=self.settings.watch_inactivity_timeout):
                yield event
        finally:
            resp.close()
