"""The manager: one process-wide owner of the client, caches, controllers and endpoints.

Start order, and the reverse on SIGTERM/SIGINT (or :meth:`Manager.stop`):

1. HTTP server (``/healthz``, ``/readyz``, ``/metrics``): probes answer from the first second;
2. wait for the API server (``GET /version``), retrying with :data:`API_WAIT_BACKOFF` for as long as
   it takes: a manager started while the API is down stays alive and not-ready instead of crashing
   (a crash-looping Pod backs off for minutes, far longer than a typical API outage);
3. setup steps (``add_setup``): work that needs the API before anything runs (install, discovery of
   optional kinds, registering the controllers those decide);
4. *serve-first* runnables (``add_runnable(..., ready=check)``, e.g. the webhook server), and the
   manager waits until each reports ready: the controllers' first writes go through our own
   admission webhooks, which must answer them (controller-runtime starts webhooks first for the
   same reason);
5. the other all-replica runnables and the event recorder;
6. informers, then wait for their first list;
7. leader election; once leading, the controllers and leader-only runnables.

``/readyz`` is green once the API answered, every serve-first runnable is ready and the caches are
synced — on every replica: a non-leader serves admission too, so it must receive traffic, and being
leader is not part of readiness.

Losing the lease stops the controllers and makes :meth:`Manager.run` raise
:class:`~runtime.leaderelection.LeadershipLost`: the process should exit and be restarted, exactly
as controller-runtime does, because in-memory state (expectations, rate-limiter history) of a
former leader must not be reused.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import signal
import socket
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import attrs
import structlog

from .backoff import Backoff, BackoffSettings
from .cache.factory import SharedInformerFactory
from .cache.informer import InformerSettings
from .clock import REAL_CLOCK, Clock
from .controller.controller import Controller
from .events import EventRecorder, EventSettings
from .gcpolicy import GcPolicy, GcSettings
from .http import Check, HealthServer
from .leaderelection import LeaderElectionSettings, LeaderElector
from .looplag import LoopLagProbe
from .metrics import Registry, RuntimeMetrics
from .tasks import cancel_and_wait, failure

__all__ = ["Manager", "ManagerSettings"]

log = structlog.get_logger("runtime.manager")
Runnable = Callable[[], Coroutine[Any, Any, Any]]  # asyncio.create_task needs a coroutine
Setup = Callable[[], Coroutine[Any, Any, None]]
EVENT_FLUSH_TIMEOUT = 5.0
"""Seconds to wait for queued Events on shutdown: short, the termination grace period is shared."""
API_WAIT_BACKOFF = BackoffSettings(initial=0.5, maximum=5.0, factor=2.0, jitter=0.2, reset_after=float("inf"))
"""Retries of the start-up API probe: 0.5 s first (an API server restart takes a few seconds), capped
at 5 s so a manager turns ready within ~5 s of the API's return, a little jitter so replicas started
together do not probe in lock-step. Unbounded in count: waiting is the point."""
READY_POLL_INTERVAL = 0.05
"""How often a serve-first runnable's ready check is asked during start (cheap, local checks)."""


def _default_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@attrs.frozen
class ManagerSettings:
    """Process-level settings (one object, passed down)."""

    http_host: str = "0.0.0.0"
    """Address of the probes/metrics server."""
    http_port: int | None = 8080
    """Port of the probes/metrics server; 0 picks a free port; None disables it."""
    leader_election: bool = True
    """Run controllers only on the replica holding the Lease."""
    leader_election_id: str = "kruise-rollout-leader"
    """Name of the Lease."""
    leader_election_namespace: str = "kruise-rollout"
    """Namespace of the Lease (the controller's own namespace)."""
    identity: str = attrs.field(factory=_default_identity)
    """This replica's ``holderIdentity`` (hostname plus a random suffix: unique across restarts)."""
    lease: LeaderElectionSettings = LeaderElectionSettings()
    """Lease timing (15 s / 10 s / 2 s)."""
    cache_sync_timeout: float = 120.0
    """Give up starting if caches have not synced by then (RBAC missing, CRD not installed)."""
    serve_first_timeout: float = 120.0
    """Give up starting if a serve-first runnable is not ready by then (the webhook server fails on
    its own after 20 s without a certificate; this only bounds runnables that would hang)."""
    informers: InformerSettings = InformerSettings()
    """Settings shared by every informer (resync, transform, list/watch timing)."""
    events: EventSettings = attrs.field(factory=EventSettings)
    """Event recorder settings."""
    namespace: str | None = None
    """Restrict informers to one namespace (None: cluster-wide)."""
    gc: GcSettings = GcSettings()
    """Cycle-collector policy (:mod:`runtime.gcpolicy`): pause metrics always; freezing if asked."""


class Manager:
    """Owns and sequences everything; see the module docstring for the order."""

    def __init__(self, client: Any, *, settings: ManagerSettings | None = None, clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self.settings = settings or ManagerSettings()
        self.clock = clock
        """The clock every component of this manager uses (pass it to reconcilers too)."""
        self.registry = Registry()
        self.metrics = RuntimeMetrics(self.registry)
        if hasattr(client, "request_hooks"):
            client.request_hooks.append(self.metrics.api_request_hook)
        if hasattr(client, "throttle_hooks"):
            client.throttle_hooks.append(self.metrics.api_throttle_hook)
        self.informers = SharedInformerFactory(client, namespace=self.settings.namespace,
                                               settings=self.settings.informers, clock=clock)
        self.events = EventRecorder(client, settings=self.settings.events, clock=clock)
        self.gc = GcPolicy(self.registry, self.settings.gc, clock=clock)
        self.loop_lag = LoopLagProbe(self.registry, clock=clock)
        self.http = HealthServer(self.registry, host=self.settings.http_host, port=self.settings.http_port or 0)
        self.elector: LeaderElector | None = None
        if self.settings.leader_election:
            self.elector = LeaderElector(client, name=self.settings.leader_election_id,
                                         namespace=self.settings.leader_election_namespace,
                                         identity=self.settings.identity, settings=self.settings.lease, clock=clock)
            self.elector.on_change.append(lambda v: self.metrics.leader.set(1 if v else 0,
                                                                            name=self.settings.leader_election_id))
        self._controllers: list[Controller] = []
        self._setups: list[tuple[str, Setup]] = []
        self._serve_first: list[tuple[str, Runnable, Check]] = []
        self._runnables: list[tuple[str, Runnable]] = []
        self._leader_runnables: list[tuple[str, Runnable]] = []
        self._stop = asyncio.Event()
        self.api_reachable = False
        """True once the API server answered the start-up probe (``/readyz`` check ``api-reachable``)."""
        self.synced = False
        self.http.ready_checks["api-reachable"] = lambda: self.api_reachable
        self.http.ready_checks["informers-synced"] = lambda: self.synced

    # registration ------------------------------------------------------------------------------
    def add_controller(self, controller: Controller) -> None:
        """Run ``controller`` on the leader only."""
        self._controllers.append(controller)

    def add_runnable(self, name: str, runnable: Runnable, *, needs_leader: bool = False,
                     ready: Check | None = None) -> None:
        """Run ``runnable()`` (until cancelled) on every replica, or only on the leader.

        ``ready``: the runnable *serves first* — it is started before the informers and the
        controllers, and start-up waits until ``ready()`` is true (it is also a ``/readyz`` check).
        Meant for servers the controllers depend on, such as our own admission webhooks.
        """
        if ready is not None:
            if needs_leader:
                raise ValueError(f"runnable {name!r}: a serve-first runnable runs on every replica")
            self._serve_first.append((name, runnable, ready))
            self.http.ready_checks[name] = ready
            return
        (self._leader_runnables if needs_leader else self._runnables).append((name, runnable))

    def add_setup(self, name: str, setup: Setup) -> None:
        """Run ``await setup()`` once the API server answers, before any runnable or informer starts
        (in registration order); it may register informers, controllers and runnables."""
        self._setups.append((name, setup))

    def add_health_check(self, name: str, check: Check) -> None:
        self.http.health_checks[name] = check

    def add_ready_check(self, name: str, check: Check) -> None:
        self.http.ready_checks[name] = check

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader if self.elector else True

    def stop(self) -> None:
        """Ask :meth:`run` to shut down in reverse start order."""
        self._stop.set()

    # running -----------------------------------------------------------------------------------
    async def run(self, *, install_signal_handlers: bool = True) -> None:
        """Start everything, run until :meth:`stop` / SIGTERM / SIGINT, then stop in reverse order."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if install_signal_handlers else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.stop)
        started: list[tuple[str, asyncio.Task[Any]]] = []
        try:
            if self.settings.http_port is not None:
                port = await self.http.start()
                log.info("serving probes and metrics", port=port)
            if await self._until_stopped(self._start(started)):
                await self._wait(started)
        finally:
            await self._shutdown(started)
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _start(self, started: list[tuple[str, asyncio.Task[Any]]]) -> None:
        """Steps 2–7 of the module docstring; every task started is appended to ``started``."""
        await self.wait_for_api()
        for name, setup in self._setups:
            log.info("setup", step=name)
            await setup()
        for name, runnable, ready in self._serve_first:
            task = asyncio.create_task(runnable(), name=name)
            started.append((name, task))
            await self._wait_ready(name, task, ready)
        log.info("serving", runnables=[n for n, _, _ in self._serve_first])
        for name, runnable in [*self._runnables, ("event-recorder", self.events.run), ("gc-policy", self.gc.run),
                               ("loop-lag", self.loop_lag.run)]:
            started.append((name, asyncio.create_task(runnable(), name=name)))
        self.informers.start()
        if not await self.informers.wait_for_cache_sync(self.settings.cache_sync_timeout):
            raise TimeoutError(f"informer caches did not sync within {self.settings.cache_sync_timeout}s")
        self.synced = True
        if self.settings.gc.freeze:  # the first lists are most of the heap: collect once, freeze them
            self.gc.rescan()
        log.info("caches synced", frozen_objects=gc.get_freeze_count())
        leading = self.elector.run(self._lead) if self.elector else self._lead()
        started.append(("leader", asyncio.create_task(leading, name="leader")))

    async def _until_stopped(self, work: Coroutine[Any, Any, None]) -> bool:
        """Run ``work`` unless :meth:`stop` comes first (a manager waiting for the API must still obey
        SIGTERM); True if it completed."""
        task = asyncio.create_task(work)
        stopper = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            await cancel_and_wait([task])
        if task.cancelled():
            return False
        task.result()
        return True

    async def wait_for_api(self) -> None:
        """Probe ``GET /version`` until it answers, backing off per :data:`API_WAIT_BACKOFF`.

        Clients without ``version()`` (in-memory fakes) count as reachable."""
        probe = getattr(self.client, "version", None)
        backoff = Backoff(API_WAIT_BACKOFF, clock=self.clock)
        attempts = 0
        while probe is not None:
            try:
                await probe()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means "not reachable yet"
                attempts += 1
                delay = backoff.next_delay()
                log.warning("API server not reachable; waiting (not ready)", attempt=attempts,
                            retry_in=round(delay, 2), error=str(exc))
                await self.clock.sleep(delay)
        if attempts:
            log.info("API server reachable", after_attempts=attempts)
        self.api_reachable = True

    async def _wait_ready(self, name: str, task: asyncio.Task[Any], ready: Check) -> None:
        """Until ``ready()``; a serve-first runnable that ends (fails) first stops the start."""
        deadline = self.clock.monotonic() + self.settings.serve_first_timeout
        while True:
            if task.done():
                if (exc := task.exception()) is not None:
                    raise exc
                raise RuntimeError(f"runnable {name!r} returned before it was ready")
            result = ready()
            if await result if inspect.isawaitable(result) else result:
                return
            if self.clock.monotonic() >= deadline:
                raise TimeoutError(f"runnable {name!r} not ready within {self.settings.serve_first_timeout}s")
            await self.clock.sleep(READY_POLL_INTERVAL)

    async def _wait(self, started: list[tuple[str, asyncio.Task[Any]]]) -> None:
        """Until stop is requested or any task ends (an ending task is an error: they run forever)."""
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({t for _, t in started} | {stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        for name, task in started:
            if task in done:
                if (exc := task.exception()) is not None:
                    raise exc
                raise RuntimeError(f"runnable {name!r} returned; runnables must run until cancelled")

    async def _lead(self) -> None:
        """Leader-only work: controllers and leader runnables, stopped in reverse order when cancelled."""
        self.informers.start()  # informers registered since run() started
        tasks = [(c.name, asyncio.create_task(c.run(), name=f"controller-{c.name}")) for c in self._controllers]
        tasks += [(n, asyncio.create_task(r(), name=n)) for n, r in self._leader_runnables]
        log.info("leading: controllers started", controllers=[c.name for c in self._controllers])
        try:
            if tasks:
                done, _ = await asyncio.wait({t for _, t in tasks}, return_when=asyncio.FIRST_EXCEPTION)
                for _, t in tasks:
                    if t in done and (exc := t.exception()) is not None:
                        raise exc
            await asyncio.Event().wait()
        finally:
            await _cancel_in_reverse(tasks)

    async def _shutdown(self, started: list[tuple[str, asyncio.Task[Any]]]) -> None:
        log.info("shutting down")
        if started and started[-1][0] == "leader":
            await _cancel_in_reverse([started.pop()])  # controllers drain, lease released
        try:  # events recorded by the last reconciles are worth a short wait (real time: a safety net)
            await asyncio.wait_for(self.events.flush(), EVENT_FLUSH_TIMEOUT)
        except TimeoutError:
            log.warning("events not flushed before shutdown", pending=self.events.pending)
        await _cancel_in_reverse(started)
        await self.informers.stop()
        await self.http.stop()
        log.info("stopped")


async def _cancel_in_reverse(tasks: list[tuple[str, asyncio.Task[Any]]]) -> None:
    for name, task in reversed(tasks):
        await cancel_and_wait([task])
        if isinstance(exc := failure(task), Exception):
            log.warning("runnable stopped with an error", runnable=name, error=repr(exc))
