"""Watch resilience against the real API server, through a TCP proxy the test can break.

The proxy sits between the client and kube-apiserver (TLS passes through untouched). Cutting it
simulates a dropped connection; freezing it simulates a half-open connection (bytes silently stop,
nothing is closed): exactly the cases a healthy local server never produces on its own.
"""

from __future__ import annotations

import asyncio
import contextlib

import attrs
import pytest

from runtime.cache import InformerSettings, ReflectorSettings, SharedInformer
from runtime.kube import ClientSettings, KubeClient
from runtime.kube.config import load_kubeconfig
from runtime.kube.resources import CONFIGMAPS

from .conftest import eventually
from .test_informer_real import View, cm, server_state

pytestmark = pytest.mark.integration


class TcpProxy:
    """A byte pipe to ``upstream``; :meth:`cut` closes live connections, :meth:`freeze` stalls them."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter, asyncio.Event]] = []
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    blocked = False
    """While True new connections are dropped at once (with :meth:`freeze`: a full partition)."""

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.blocked:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        flowing = asyncio.Event()
        flowing.set()
        self._pairs.append((writer, up_writer, flowing))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    await flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for a, b, _ in self._pairs:
            a.transport.abort()
            b.transport.abort()
        self._pairs.clear()

    def freeze(self) -> None:
        """Existing connections stop carrying bytes but stay open; new connections work."""
        for _, _, flowing in self._pairs:
            flowing.clear()
        self._frozen = list(self._pairs)
        self._pairs.clear()

    async def stop(self) -> None:
        for a, b, flowing in [*self._pairs, *getattr(self, "_frozen", [])]:
            flowing.set()
            a.transport.abort()
            b.transport.abort()
        if self._server:
            self._server.close()


@pytest.fixture
async def proxied(kubeconfig):
    conn = await load_kubeconfig(kubeconfig)
    host, port = conn.server.removeprefix("https://").rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    client = KubeClient(attrs.evolve(conn, server=f"https://127.0.0.1:{proxy.port}"),
                        settings=ClientSettings(watch_inactivity_timeout=2.0))
    try:
        yield proxy, client
    finally:
        await client.aclose()
        await proxy.stop()


SETTINGS = InformerSettings(resync_period=0, reflector=ReflectorSettings(min_watch_timeout=60))


async def _changes(kube, namespace: str, tag: str) -> None:
    await kube.create(CONFIGMAPS, cm(f"{tag}-new"), namespace)
    await kube.patch(CONFIGMAPS, "base-0", {"data": {"v": tag}}, namespace)
    await kube.delete(CONFIGMAPS, f"base-{1 if tag == 'cut' else 2}", namespace)


async def _watch_established(kube, namespace: str, view: View) -> None:
    """Wait for the event itself: an object created after the initial list reaches the handler, which
    only an established watch (through the proxy) can deliver. A fixed sleep merely hoped so."""
    await kube.create(CONFIGMAPS, cm("probe"), namespace)
    await eventually(lambda: "probe" in view.state, what="the watch delivers an event")


async def test_dropped_connection_resumes_from_last_rv_without_relist(kube, namespace, proxied):
    proxy, client = proxied
    for i in range(3):
        await kube.create(CONFIGMAPS, cm(f"base-{i}"), namespace)
    inf = SharedInformer(client, CONFIGMAPS, namespace=namespace, label_selector="rt=x", settings=SETTINGS)
    view = View()
    inf.add_handler(view)
    inf.start()
    try:
        assert await inf.wait_for_sync(20)
        await _watch_established(kube, namespace, view)
        proxy.cut()
        await _changes(kube, namespace, "cut")  # happen while the watch is down
        expected = await server_state(kube, namespace)
        await eventually(lambda: view.state == expected, what="view catches up after reconnect")
        assert inf.reflector.lists == 1, "a dropped connection must resume the watch, not relist"
        assert ("delete", "base-1") in view.log  # a real DELETED event, not a relist tombstone
    finally:
        await inf.stop()


async def test_half_open_connection_is_detected_by_inactivity_timeout(kube, namespace, proxied):
    proxy, client = proxied
    for i in range(3):
        await kube.create(CONFIGMAPS, cm(f"base-{i}"), namespace)
    inf = SharedInformer(client, CONFIGMAPS, namespace=namespace, label_selector="rt=x", settings=SETTINGS)
    view = View()
    inf.add_handler(view)
    inf.start()
    try:
        assert await inf.wait_for_sync(20)
        await _watch_established(kube, namespace, view)
        proxy.freeze()  # nothing closes; bytes just stop
        await _changes(kube, namespace, "frozen")
        expected = await server_state(kube, namespace)
        # inactivity timeout 2 s + back-off (0.8–1.6 s) + replay
        await eventually(lambda: view.state == expected, timeout=15, what="view catches up after half-open")
        assert inf.reflector.lists == 1
        assert ("delete", "base-2") in view.log
    finally:
        await inf.stop()
