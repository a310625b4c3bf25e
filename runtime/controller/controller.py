"""The controller engine: informer handlers → rate-limited queue → N workers → reconciler.

Authors never import this module's internals; they implement :class:`runtime.reconcile.Reconciler`
and wire watches::

    ctl = Controller("rollout", RolloutReconciler(...), metrics=mgr.metrics)
    ctl.watch(factory.informer(ROLLOUTS))                              # the primary resource
    ctl.watch_owned(factory.informer(BATCHRELEASES), kind="Rollout")   # owned objects → owner
    mgr.add_controller(ctl)

Each worker takes one key, reconciles it inside a logging context (controller, object,
reconcile_id bound on every line), then applies :func:`~runtime.controller.policy.decide`. The queue
guarantees one worker per key, so reconcilers need no locking per object.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import attrs
import structlog

from ..cache.handlers import EventHandler
from ..cache.informer import SharedInformer, wait_for_cache_sync
from ..clock import REAL_CLOCK, Clock
from ..metrics import RuntimeMetrics, error_reason
from ..reconcile import Reconciler, Request, Result
from ..tasks import cancel_and_wait
from ..workqueue import NOOP_METRICS, RateLimiterSettings, RateLimitingQueue, ShutDown, default_controller_rate_limiter
from .handlers import EnqueueRequestForObject, EnqueueRequestForOwner, EnqueueRequestsFromMapFunc, MapFunc
from .policy import Action, Decision, decide
from .predicates import Predicate

__all__ = ["Controller", "ControllerSettings"]

log = structlog.get_logger("runtime.controller")


@attrs.frozen
class ControllerSettings:
    """Per-controller knobs; defaults follow controller-runtime."""

    workers: int = 1
    """Concurrent reconciles (different keys only). controller-runtime's MaxConcurrentReconciles is 1."""
    rate_limiter: RateLimiterSettings = RateLimiterSettings()
    """Retry back-off: 5 ms → 1000 s per item, max'ed with a 10 qps / 100 burst bucket."""
    reconcile_timeout: float | None = None
    """Cancel a reconcile that runs longer than this (None: no limit); counts as an error."""
    drain_timeout: float = 30.0
    """On stop, how long to let in-flight reconciles finish before cancelling them. Below the
    default Kubernetes termination grace period (30 s) minus time to release the lease."""
    cache_sync_timeout: float = 120.0
    """How long ``run`` waits for the watched informers' first list before giving up."""


class Controller:
    """Queue + workers for one reconciler."""

    def __init__(
        self, name: str, reconciler: Reconciler, *, settings: ControllerSettings = ControllerSettings(),
        clock: Clock = REAL_CLOCK, metrics: RuntimeMetrics | None = None,
    ) -> None:
        self.name = name
        self.reconciler = reconciler
        self.settings = settings
        self._clock = clock
        self._metrics = metrics
        self.queue: RateLimitingQueue[Request] = RateLimitingQueue(
            name=name, clock=clock, metrics=metrics.workqueue(name) if metrics else NOOP_METRICS,
            rate_limiter=default_controller_rate_limiter(settings.rate_limiter, clock=clock))
        self._informers: list[SharedInformer] = []
        self._log = log.bind(controller=name)
        if metrics is not None:
            metrics.registry.add_collector(self._collect)

    def _collect(self) -> None:
        assert self._metrics is not None
        total, longest = self.queue.unfinished_work()
        self._metrics.wq_unfinished.set(total, name=self.name)
        self._metrics.wq_longest.set(longest, name=self.name)

    # wiring ------------------------------------------------------------------------------------
    def watch(self, informer: SharedInformer, handler: EventHandler | None = None, *,
              predicates: Sequence[Predicate] = ()) -> None:
        """Enqueue the objects of ``informer`` (or whatever ``handler`` enqueues on ``self.queue``)."""
        handler = handler or EnqueueRequestForObject(self.queue, predicates=predicates)
        informer.add_handler(handler, name=f"{self.name}/{informer.resource}")
        if informer not in self._informers:
            self._informers.append(informer)

    def watch_owned(self, informer: SharedInformer, *, kind: str, group: str | None = None,
                    predicates: Sequence[Predicate] = ()) -> None:
        """Enqueue the controlling owner (of ``kind``) of each object of ``informer``."""
        self.watch(informer, EnqueueRequestForOwner(self.queue, kind=kind, group=group, predicates=predicates))

    def watch_mapped(self, informer: SharedInformer, map_fn: MapFunc, *, predicates: Sequence[Predicate] = ()) -> None:
        """Enqueue the requests ``map_fn(obj)`` returns for each object of ``informer``."""
        self.watch(informer, EnqueueRequestsFromMapFunc(self.queue, map_fn, predicates=predicates))

    @property
    def informers(self) -> list[SharedInformer]:
        return list(self._informers)

    # running -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Wait for caches, run the workers until cancelled, then drain in-flight reconciles."""
        if not await wait_for_cache_sync(*self._informers, timeout=self.settings.cache_sync_timeout):
            raise TimeoutError(f"controller {self.name}: caches did not sync within "
                               f"{self.settings.cache_sync_timeout}s")
        self._log.info("starting workers", workers=self.settings.workers)
        workers = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                   for i in range(self.settings.workers)]
        try:
            await asyncio.gather(*workers)
        finally:
            drained = await self.queue.shutdown_with_drain(self.settings.drain_timeout)
            if not drained:
                self._log.warning("reconciles still running after drain timeout; cancelling them")
            await cancel_and_wait(workers)
            self._log.info("workers stopped")

    async def _worker(self) -> None:
        while True:
            try:
                await self.process_next()
            except ShutDown:
                return

    async def process_next(self) -> Decision | None:
        """Take one key, reconcile it, apply the decision (public for tests). None if skipped."""
        request = await self.queue.get()
        try:
            if self.queue.shutting_down:
                return None  # stopping: the next leader (or restart) will see this key again
            return await self._reconcile(request)
        finally:
            self.queue.done(request)

    async def _reconcile(self, request: Request) -> Decision:
        result: Result | None = None
        error: BaseException | None = None
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(
            controller=self.name, object=str(request), namespace=request.namespace, name=request.name,
            reconcile_id=uuid.uuid4().hex[:12],
        ):
            try:
                if self.settings.reconcile_timeout:
                    async with asyncio.timeout(self.settings.reconcile_timeout):
                        result = await self.reconciler.reconcile(request)
                else:
                    result = await self.reconciler.reconcile(request)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - every failure becomes a retry decision
                error = e
            decision = decide(result, error)
            self._apply(request, decision, error)
        self._observe(decision, error, time.monotonic() - started)
        return decision

    def _apply(self, request: Request, decision: Decision, error: BaseException | None) -> None:
        if error is not None:
            retrying = decision.action is Action.REQUEUE_RATE_LIMITED
            self._log.error("reconcile failed", error=str(error), retrying=retrying,
                            requeues=self.queue.num_requeues(request), exc_info=error)
        if decision.action is Action.FORGET:
            self.queue.forget(request)
        elif decision.action is Action.REQUEUE_AFTER:
            self.queue.forget(request)
            self.queue.add_after(request, decision.delay or 0.0)
        else:
            self.queue.add_rate_limited(request)

    def _observe(self, decision: Decision, error: BaseException | None, seconds: float) -> None:
        m = self._metrics
        if m is None:
            return
        m.reconcile_total.inc(controller=self.name, result=decision.result_label)
        if error is not None:
            m.reconcile_errors.inc(controller=self.name)
            m.reconcile_error_reasons.inc(controller=self.name, reason=error_reason(error))
        m.reconcile_time.observe(seconds, controller=self.name)

    def __repr__(self) -> str:
        return f"Controller({self.name!r}, workers={self.settings.workers})"

    def enqueue(self, namespace: str | None, name: str) -> None:
        """Enqueue a request by hand (tests, cross-controller nudges)."""
        self.queue.add(Request(namespace, name))


