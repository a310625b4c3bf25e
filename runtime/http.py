"""The manager's HTTP endpoints: ``/healthz``, ``/readyz`` and ``/metrics`` (text or OpenMetrics, as asked).

Liveness and readiness are different questions: ``/healthz`` fails only when the process is
broken (a restart would help), ``/readyz`` fails until the caches are synced (traffic, e.g. to the
webhook server, would be answered from an empty cache). Both list each named check, like the API
server's own ``?verbose`` output.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from aiohttp import web

from .metrics import Registry

__all__ = ["HealthServer", "Check"]

Check = Callable[[], bool | Awaitable[bool]]


async def _run_checks(checks: dict[str, Check]) -> tuple[bool, str]:
    ok, lines = True, []
    for name, check in checks.items():
        try:
            result = check()
            passed = bool(await result) if inspect.isawaitable(result) else bool(result)
        except Exception as e:  # noqa: BLE001 - a crashing check is a failing check
            passed = False
            name = f"{name} ({e!r})"
        ok &= passed
        lines.append(f"[{'+' if passed else '-'}]{name} {'ok' if passed else 'failed'}")
    lines.append("ok" if ok else "check failed")
    return ok, "\n".join(lines) + "\n"


class HealthServer:
    """aiohttp server for probes and metrics."""

    def __init__(self, registry: Registry, *, host: str = "0.0.0.0", port: int = 8080) -> None:
        self.registry = registry
        self.host, self.port = host, port
        self.health_checks: dict[str, Check] = {}
        self.ready_checks: dict[str, Check] = {}
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        ok, text = await _run_checks(self.health_checks)
        return web.Response(text=text, status=200 if ok else 500)

    async def _readyz(self, request: web.Request) -> web.Response:
        ok, text = await _run_checks({**self.health_checks, **self.ready_checks})
        return web.Response(text=text, status=200 if ok else 500)

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = await self.registry.exposition_off_loop(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type, "X-Content-Type-Options": "nosniff"})

    async def start(self) -> int:
        """Bind and serve; returns the bound port (useful with ``port=0``)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
