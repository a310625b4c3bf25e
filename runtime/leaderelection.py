"""Leader election on a ``coordination.k8s.io/v1`` Lease (client-go ``tools/leaderelection``).

Timing (defaults, as client-go and controller-runtime):

* ``lease_duration = 15 s``: how long a candidate waits, after last *observing a change* of the
  lease, before it may take it over. Observation time is measured on the candidate's own monotonic
  clock, never by comparing ``renewTime`` with local wall time, so clock skew between nodes does not
  matter (only clock *rate* does).
* ``renew_deadline = 10 s``: the leader gives up leadership if it could not renew within this long.
  Because it is shorter than ``lease_duration`` the old leader has stopped believing it leads
  (``lease_duration - renew_deadline - retry_period`` = 3 s) before anyone else may take over.
* ``retry_period = 2 s`` (jittered ×1.2): interval between acquire attempts and between renewals.

The lease is updated with its ``resourceVersion``, so two candidates racing for an expired lease
cannot both win: the loser gets 409 Conflict. On a clean stop the leader releases the lease
(``holderIdentity`` emptied, ``leaseDurationSeconds = 1``) so a successor takes over at once instead
of waiting 15 s.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs
import structlog

from .clock import REAL_CLOCK, Clock
from .kube.errors import AlreadyExists, ApiError, Conflict, NotFound
from .kube.resources import LEASES
from .tasks import cancel_and_wait

__all__ = ["LeaderElector", "LeaderElectionSettings", "LeadershipLost", "micro_time"]

log = structlog.get_logger("runtime.leaderelection")
T = TypeVar("T")


class LeadershipLost(Exception):
    """The lease could not be renewed in time (or another holder appeared); work was stopped."""


@attrs.frozen
class LeaderElectionSettings:
    """Lease timing; ``renew_deadline < lease_duration`` is required and checked."""

    lease_duration: float = 15.0
    """Seconds a non-leader waits after the last observed lease change before taking over."""
    renew_deadline: float = 10.0
    """Seconds the leader keeps retrying a renewal before stepping down."""
    retry_period: float = 2.0
    """Seconds between acquire/renew attempts (jittered by up to ``jitter``×)."""
    jitter: float = 1.2
    """Acquire attempts wait ``retry_period * (1 + jitter * random())`` (client-go's JitterFactor)."""
    release_on_cancel: bool = True
    """Release the lease when stopped cleanly, so a successor need not wait ``lease_duration``."""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("need 0 < retry_period < renew_deadline < lease_duration, got "
                             f"{self.retry_period}/{self.renew_deadline}/{self.lease_duration}")


def micro_time(clock: Clock) -> str:
    """``metav1.MicroTime`` text for now: RFC 3339 with microseconds."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for one Lease and runs work only while holding it."""

    def __init__(
        self, client: Any, *, name: str, namespace: str, identity: str,
        settings: LeaderElectionSettings = LeaderElectionSettings(), clock: Clock = REAL_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.client, self.name, self.namespace, self.identity = client, name, namespace, identity
        self.settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        # Invariant: _observed_time is the monotonic time at which _observed_spec was first seen.
        self._observed_spec: Mapping[str, Any] | None = None
        self._observed_time = 0.0
        self._observed_rv: str | None = None
        self.is_leader = False
        """True from acquiring the lease until stepping down (work is running only while True)."""
        self.on_change: list[Callable[[bool], None]] = []
        """Called with the new ``is_leader`` on every transition (metrics, tests)."""
        self._log = log.bind(lease=f"{namespace}/{name}", identity=identity)

    # one attempt -------------------------------------------------------------------------------
    def _record(self, *, acquire_time: str, transitions: int) -> dict:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": math.ceil(self.settings.lease_duration),
                "acquireTime": acquire_time, "renewTime": micro_time(self._clock), "leaseTransitions": transitions}

    def _observe(self, lease: Mapping[str, Any]) -> Mapping[str, Any]:
        spec = lease.get("spec") or {}
        if spec != self._observed_spec:
            self._observed_spec = spec
            self._observed_time = self._clock.monotonic()
        self._observed_rv = (lease.get("metadata") or {}).get("resourceVersion")
        return spec

    def held_by_other(self, spec: Mapping[str, Any]) -> bool:
        """Another identity holds the lease and it has not expired by our own observation."""
        holder = spec.get("holderIdentity")
        if not holder or holder == self.identity:
            return False
        duration = spec.get("leaseDurationSeconds") or self.settings.lease_duration
        return self._observed_time + duration > self._clock.monotonic()

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: create the lease, renew ours, or take over an expired/released one."""
        try:
            lease = await self.client.get(LEASES, self.name, self.namespace)
        except NotFound:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._record(acquire_time=micro_time(self._clock), transitions=0)}
            try:
                self._observe(await self.client.create(LEASES, body, self.namespace))
            except (AlreadyExists, Conflict):
                return False
            return True
        spec = self._observe(lease)
        if self.held_by_other(spec):
            return False
        ours = spec.get("holderIdentity") == self.identity
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)
        acquire = (spec.get("acquireTime") if ours else None) or micro_time(self._clock)
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace, "resourceVersion": self._observed_rv},
                "spec": self._record(acquire_time=acquire, transitions=transitions)}
        try:
            self._observe(await self.client.update(LEASES, body))
        except Conflict:
            return False
        return True

    async def _within(self, seconds: float, fn: Callable[[], Awaitable[T]]) -> T | None:
        """Run ``fn`` but give up after ``seconds`` of clock time (a hung request must not outlive
        the renew deadline)."""
        task = asyncio.ensure_future(fn())
        timer = asyncio.ensure_future(self._clock.sleep(max(0.0, seconds)))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return None
        return task.result()

    async def _attempt(self, budget: float) -> bool:
        try:
            return bool(await self._within(budget, self.try_acquire_or_renew))
        except ApiError as e:
            self._log.info("lease attempt failed", error=str(e))
            return False

    # loops -------------------------------------------------------------------------------------
    async def acquire(self) -> None:
        """Return once we hold the lease (retrying every ``retry_period``, jittered)."""
        s = self.settings
        while not await self._attempt(s.renew_deadline):
            await self._clock.sleep(s.retry_period * (1.0 + s.jitter * self._rng.random()))
        self._set_leader(True)
        self._log.info("acquired lease")

    async def renew_until_lost(self) -> None:
        """Renew every ``retry_period``; return when renewals failed for ``renew_deadline``."""
        s = self.settings
        while True:
            await self._clock.sleep(s.retry_period)
            deadline = self._clock.monotonic() + s.renew_deadline
            while not await self._attempt(deadline - self._clock.monotonic()):
                if self._observed_spec is not None and self.held_by_other(self._observed_spec):
                    return  # someone else holds it now: stop at once
                if self._clock.monotonic() + s.retry_period >= deadline:
                    return
                await self._clock.sleep(s.retry_period)
                if self._clock.monotonic() >= deadline:
                    return

    async def release(self) -> None:
        """Give the lease up (only if we still hold it), so a successor need not wait."""
        if not self._observed_spec or self._observed_spec.get("holderIdentity") != self.identity:
            return
        spec = {**self._observed_spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                "renewTime": micro_time(self._clock)}
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace, "resourceVersion": self._observed_rv},
                "spec": spec}
        try:
            self._observe(await self.client.update(LEASES, body))
            self._log.info("released lease")
        except ApiError as e:
            self._log.warning("could not release lease", error=str(e))

    def _set_leader(self, value: bool) -> None:
        if self.is_leader != value:
            self.is_leader = value
            for cb in self.on_change:
                cb(value)

    async def run(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Acquire, run ``work()`` while renewing; stop it if renewal fails (raising LeadershipLost).

        If ``work`` returns, or ``run`` is cancelled, the lease is released (when
        ``release_on_cancel``). A cancelled ``run`` re-raises CancelledError after cleaning up.
        """
        await self.acquire()
        worker = asyncio.ensure_future(work())
        renewer = asyncio.ensure_future(self.renew_until_lost())
        graceful = True
        try:
            await asyncio.wait({worker, renewer}, return_when=asyncio.FIRST_COMPLETED)
            if renewer.done() and not worker.done():
                graceful = False
                self._set_leader(False)  # first: nobody may believe we lead once we stop renewing
                self._log.warning("lost lease, stopping work")
                raise LeadershipLost(f"could not renew lease {self.namespace}/{self.name}")
            worker.result()  # propagate the work's own exception
        finally:
            self._set_leader(False)
            await cancel_and_wait([renewer, worker])
            if graceful and self.settings.release_on_cancel:
                await asyncio.shield(self.release())
