"""The HTTPS admission/conversion server: one route registry, one aiohttp app, hot-reloaded TLS.

Why one registry for all three kinds: the certificate sync needs the set of served paths (it drops
configuration entries for paths this binary does not serve, spec §9.3 step 4), and the server needs to
know how to decode each path. Registering in one place keeps the two from drifting.

Failure semantics (documented in docs/webhooks.md):

* Body that is not an AdmissionReview → HTTP 400 with the reason. The API server then treats the call
  as failed and applies the configuration's ``failurePolicy`` (ours is ``Fail``: request rejected).
* A handler that raises → HTTP 200 with ``allowed: false``, code 500 and the error text. This is a
  *decision*, so ``failurePolicy`` does not apply: we never silently allow what we failed to check
  (controller-runtime's ``admission.Errored`` does the same).
* Conversion failures are reported inside the ConversionReview (``result.status: Failure``).

TLS: the server reads ``tls.crt``/``tls.key`` from ``settings.cert_dir``. The same ``SSLContext`` is
re-loaded in place (``load_cert_chain``) when the files change; OpenSSL uses the context's current
certificate for every new handshake, so rotation needs no restart and existing keep-alive connections
finish undisturbed. Changes are noticed by polling (``cert_poll_interval``) and immediately when the
certificate sync calls :meth:`WebhookServer.reload_certs` after writing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

import attrs
import structlog
from aiohttp import web

from runtime.tasks import cancel_and_wait
from webhooks.admission import (
    AdmissionRequest,
    AdmissionResponse,
    ReviewDecodeError,
    decode_review,
    encode_review,
    errored,
    with_uid,
)
from webhooks.conversion import ConvertFn, review_response
from webhooks.metrics import AdmissionMetrics
from webhooks.settings import WebhookSettings

Handler = Callable[[AdmissionRequest], Awaitable[AdmissionResponse]]
RouteKind = Literal["mutating", "validating", "conversion"]

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
#: An AdmissionReview carries the object twice (object + oldObject); etcd objects may be ~1.5 MiB.
MAX_BODY_BYTES = 8 * 1024 * 1024

log = structlog.get_logger("webhooks.server")


@attrs.frozen
class Route:
    """One registered path: its kind and the callable serving it."""

    path: str
    kind: RouteKind
    target: Handler | ConvertFn


class HandlerRegistry:
    """Paths → handlers for mutating, validating and conversion webhooks.

    Invariant: a path is registered at most once (registering twice is a programming error).
    """

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def _add(self, path: str, kind: RouteKind, target: Handler | ConvertFn) -> None:
        if not path.startswith("/"):
            raise ValueError(f"webhook path must start with '/': {path!r}")
        if path in self._routes:
            raise ValueError(f"webhook path {path} registered twice")
        self._routes[path] = Route(path, kind, target)

    def mutating(self, path: str, handler: Handler) -> None:
        """Serve a mutating admission webhook at ``path``."""
        self._add(path, "mutating", handler)

    def validating(self, path: str, handler: Handler) -> None:
        """Serve a validating admission webhook at ``path``."""
        self._add(path, "validating", handler)

    def conversion(self, path: str, convert: ConvertFn) -> None:
        """Serve a CRD conversion webhook at ``path``; ``convert(obj, desired_api_version)`` per object."""
        self._add(path, "conversion", convert)

    def get(self, path: str) -> Route | None:
        return self._routes.get(path)

    def paths(self, kind: RouteKind | None = None) -> frozenset[str]:
        """Served paths, optionally of one kind (the certificate sync filters configurations with it)."""
        return frozenset(p for p, r in self._routes.items() if kind is None or r.kind == kind)

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes.values())


def _fingerprint(cert_dir: str) -> str | None:
    """Hash of the cert+key bytes, or None while either file is missing."""
    h = hashlib.sha256()
    try:
        for name in (CERT_FILE, KEY_FILE):
            with open(os.path.join(cert_dir, name), "rb") as f:
                h.update(f.read())
    except FileNotFoundError:
        return None
    return h.hexdigest()


class WebhookServer:
    """The aiohttp HTTPS server; ``await start()`` / ``await stop()``.

    ``/healthz`` answers 200 while the process runs; ``/readyz`` answers 200 once a certificate is
    loaded (503 before).
    """

    def __init__(self, registry: HandlerRegistry, settings: WebhookSettings, *,
                 metrics: AdmissionMetrics | None = None) -> None:
        """``metrics``: where admission latency and denials are recorded (the manager's registry)."""
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self._ssl: ssl.SSLContext | None = None
        self._fingerprint: str | None = None
        self._runner: web.AppRunner | None = None
        self._poller: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when ``settings.port`` is 0)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    def bind(self) -> int:
        """Open the listening socket now and return its port.

        URL-mode registration needs the real port before the server can start (the certificate
        comes from the sync that writes the URLs), so with ``port=0`` the app binds first. Connections
        arriving before :meth:`start` wait in the listen backlog.
        """
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
            self._sock = socket.create_server((self.settings.host, self.settings.port), family=family, backlog=128)
            self._port = int(self._sock.getsockname()[1])
        assert self._port is not None
        return self._port

    @property
    def ready(self) -> bool:
        """A certificate is loaded *and* the socket accepts connections (the manager starts the
        controllers only then: their writes go through these webhooks)."""
        return self._fingerprint is not None and self._serving

    @property
    def _serving(self) -> bool:
        return bool(self._runner is not None and self._runner.addresses)

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        for route in self.registry:
            app.router.add_post(route.path, self._make_view(route))
        return app

    async def start(self) -> None:
        """Load the certificate (it must already be in ``cert_dir``) and start listening."""
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.reload_certs():
            raise FileNotFoundError(
                f"no {CERT_FILE}/{KEY_FILE} in {self.settings.cert_dir}: run the certificate sync first "
                "(CertSync.wait_initialized) or point WEBHOOK_CERT_DIR at existing certificates"
            )
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site: web.BaseSite
        if self._sock is not None:
            site = web.SockSite(self._runner, self._sock, ssl_context=self._ssl)
        else:
            site = web.TCPSite(self._runner, self.settings.host, self.settings.port, ssl_context=self._ssl)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._poller = asyncio.create_task(self._poll_certs(), name="webhook-cert-poll")
        log.info("webhook server started", host=self.settings.host, port=self._port,
                 paths=sorted(self.registry.paths()))

    async def stop(self) -> None:
        """Stop accepting connections and finish; safe to call twice."""
        if self._poller is not None:
            await cancel_and_wait([self._poller])
            self._poller = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("webhook server stopped", port=self._port)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def reload_certs(self) -> bool:
        """Load the cert files into the live SSL context if they changed; True if a cert is loaded.

        A half-rotated pair (key not matching cert) is logged and skipped; the old pair keeps serving.
        """
        if self._ssl is None:
            return False
        fp = _fingerprint(self.settings.cert_dir)
        if fp is None or fp == self._fingerprint:
            return self._fingerprint is not None
        try:
            self._ssl.load_cert_chain(
                os.path.join(self.settings.cert_dir, CERT_FILE), os.path.join(self.settings.cert_dir, KEY_FILE)
            )
        except (ssl.SSLError, OSError) as exc:
            log.warning("cannot load serving certificate, keeping the previous one", error=str(exc))
            return self._fingerprint is not None
        log.info("serving certificate loaded", cert_dir=self.settings.cert_dir, rotated=self._fingerprint is not None)
        self._fingerprint = fp
        return True

    async def _poll_certs(self) -> None:
        interval = self.settings.cert_poll_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            self.reload_certs()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, _: web.Request) -> web.Response:
        if self.ready:
            return web.Response(text="ok")
        return web.Response(status=503, text="serving certificate not loaded")

    def _make_view(self, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def view(request: web.Request) -> web.Response:
            return await _serve(route, await request.read(), self.metrics)

        return view

    async def respond(self, path: str, body: bytes) -> web.Response:
        """The answer the view at ``path`` gives to ``body``, without HTTP or TLS.

        Exists so benchmarks can measure the server's own work per request (review decode, handler,
        encode) free of socket and scheduling noise; the views go through the same code.
        """
        route = self.registry.get(path)
        if route is None:
            raise KeyError(f"no webhook registered at {path}")
        return await _serve(route, body, self.metrics)


async def _serve(route: Route, body: bytes, metrics: AdmissionMetrics | None = None) -> web.Response:
    if route.kind == "conversion":
        return await _serve_conversion(route, body, metrics)
    return await _serve_admission(route, body, metrics)


async def _serve_admission(route: Route, body: bytes, metrics: AdmissionMetrics | None = None) -> web.Response:
    started = time.perf_counter()
    try:
        req = decode_review(body)
    except ReviewDecodeError as exc:
        log.warning("bad admission review", path=route.path, error=str(exc))
        return web.json_response({"error": str(exc)}, status=400)
    handler: Handler = route.target  # type: ignore[assignment]
    try:
        resp = await handler(req)
    except Exception as exc:  # noqa: BLE001 - any handler failure becomes a denial, see module docstring
        log.exception("admission handler failed", path=route.path, uid=req.uid)
        resp = errored(500, f"internal error in webhook {route.path}: {exc}")
    resp = with_uid(resp, req.uid)
    if metrics is not None:
        metrics.observe(webhook=route.path, operation=req.operation, kind=str(req.kind.get("kind") or ""),
                        allowed=resp.allowed, code=resp.code, seconds=time.perf_counter() - started)
    if _debug_enabled():
        log.debug("admission", path=route.path, uid=req.uid, operation=req.operation, kind=req.kind.get("kind"),
                  namespace=req.namespace, name=req.name, allowed=resp.allowed, code=resp.code,
                  patched=bool(resp.patch), ms=round((time.perf_counter() - started) * 1000, 3))
    return web.json_response(encode_review(resp, api_version=req.api_version), dumps=_dumps)


def _debug_enabled() -> bool:
    """Whether the per-request debug line would be emitted.

    Asked first because the manager's stdlib-backed structlog logger runs its whole processor chain
    (timestamp, context merge) before the stdlib level check drops a debug line: ~8 us per admission
    at info level, against ~1 us for the question. Loggers that cannot answer are assumed to log.
    """
    is_enabled_for = getattr(log, "is_enabled_for", None)
    return True if is_enabled_for is None else bool(is_enabled_for(logging.DEBUG))


async def _serve_conversion(route: Route, body: bytes, metrics: AdmissionMetrics | None = None) -> web.Response:
    started = time.perf_counter()
    try:
        review = json.loads(body)
        if not isinstance(review, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("bad conversion review", path=route.path, error=str(exc))
        return web.json_response({"error": f"request body is not a ConversionReview: {exc}"}, status=400)
    convert: ConvertFn = route.target  # type: ignore[assignment]
    request = review.get("request")
    request = request if isinstance(request, dict) else {}
    desired, count = str(request.get("desiredAPIVersion") or ""), len(request.get("objects") or [])
    out, status = review_response(review, convert)
    if metrics is not None:
        result = (out.get("response") or {}).get("result") or {}
        metrics.observe_conversion(desired_api_version=desired, objects=count,
                                   ok=status == 200 and result.get("status") == "Success",
                                   seconds=time.perf_counter() - started)
    return web.json_response(out, status=status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
