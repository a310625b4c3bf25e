"""Leader election and the manager against a real Lease on the real API server.

These tests wait on events (an elector's read of the Lease, a leadership change) and check order
and the Lease's own timestamps; they assert no wall-clock durations, which a loaded 2-core machine
stretches at will. The timing bounds (take-over after ``lease_duration``, step-down within
``renew_deadline``) are pinned on a fake clock in tests/unit/runtime/test_leaderelection.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from runtime.cache import InformerSettings
from runtime.controller import Controller
from runtime.events import EventRecorder, EventSettings
from runtime.kube import KubeClient
from runtime.kube.resources import CONFIGMAPS, EVENTS, LEASES
from runtime.leaderelection import LeaderElectionSettings, LeaderElector
from runtime.manager import Manager, ManagerSettings
from runtime.reconcile import Result

from .conftest import eventually

pytestmark = pytest.mark.integration

FAST = LeaderElectionSettings(lease_duration=2, renew_deadline=1.5, retry_period=0.2)
FAST_NO_RELEASE = LeaderElectionSettings(lease_duration=2, renew_deadline=1.5, retry_period=0.2,
                                         release_on_cancel=False)
#: Only guards against a hang; not a timing assertion (see the module docstring).
HANG_GUARD = 30.0


class LeaseReads:
    """A KubeClient that remembers the spec of every Lease read through it.

    Why: "the other elector has tried and found the lease held" is the event a test must wait for
    before asserting it does not lead; a fixed sleep only guesses how long that takes.
    """

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self.specs: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict:
        obj = await self._client.get(res, name, namespace)
        if res is LEASES:
            self.specs.append(dict(obj.get("spec") or {}))
        return obj

    def seen_held_by(self, identity: str) -> int:
        return sum(1 for s in self.specs if s.get("holderIdentity") == identity)

    def last_renew_by(self, identity: str) -> datetime:
        return micro(next(s for s in reversed(self.specs) if s.get("holderIdentity") == identity)["renewTime"])


def micro(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Intervals:
    """Leadership intervals per identity, on one monotonic clock, to check for overlap."""

    def __init__(self):
        self.events: list[tuple[float, str, bool]] = []

    def watch(self, elector: LeaderElector) -> None:
        elector.on_change.append(lambda v: self.events.append((time.monotonic(), elector.identity, v)))

    def assert_never_two_leaders(self) -> None:
        leaders: set[str] = set()
        for _, who, leading in sorted(self.events):
            if leading:
                leaders.add(who)
                assert len(leaders) == 1, f"two leaders at once: {leaders} ({self.events})"
            else:
                leaders.discard(who)


async def test_killed_leader_is_replaced_once_its_lease_expired(kubeconfig, namespace):
    clients = [await KubeClient.from_kubeconfig(kubeconfig) for _ in range(2)]
    b_reads = LeaseReads(clients[1])
    a = LeaderElector(clients[0], name="lock", namespace=namespace, identity="a", settings=FAST_NO_RELEASE)
    b = LeaderElector(b_reads, name="lock", namespace=namespace, identity="b", settings=FAST)
    iv = Intervals()
    iv.watch(a)
    iv.watch(b)
    ta = asyncio.create_task(a.run(lambda: asyncio.Event().wait()))
    await eventually(lambda: a.is_leader, what="a leads")
    tb = asyncio.create_task(b.run(lambda: asyncio.Event().wait()))
    await eventually(lambda: b_reads.seen_held_by("a") >= 2, what="b tried twice and found a's lease")
    assert a.is_leader and not b.is_leader
    ta.cancel()  # killed: no release
    await asyncio.gather(ta, return_exceptions=True)
    lease = await clients[0].get(LEASES, "lock", namespace)
    assert lease["spec"]["holderIdentity"] == "a"
    last_renew = micro(lease["spec"]["renewTime"])
    await eventually(lambda: b.is_leader, timeout=HANG_GUARD, what="b takes over")
    lease = await clients[1].get(LEASES, "lock", namespace)
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    # b waited for a's lease to run out, by the Lease's own record (load can only lengthen this)
    assert micro(lease["spec"]["acquireTime"]) - last_renew >= timedelta(seconds=FAST.lease_duration), lease
    tb.cancel()
    await asyncio.gather(tb, return_exceptions=True)
    released = await clients[1].get(LEASES, "lock", namespace)
    assert released["spec"]["holderIdentity"] == "" and released["spec"]["leaseDurationSeconds"] == 1
    iv.assert_never_two_leaders()
    for c in clients:
        await c.aclose()


async def test_many_contenders_never_two_leaders(kubeconfig, namespace):
    clients = [await KubeClient.from_kubeconfig(kubeconfig) for _ in range(3)]
    electors = [LeaderElector(c, name="lock", namespace=namespace, identity=f"e{i}", settings=FAST_NO_RELEASE)
                for i, c in enumerate(clients)]
    iv = Intervals()
    tasks = {}
    for e in electors:
        iv.watch(e)
        tasks[e.identity] = asyncio.create_task(e.run(lambda: asyncio.Event().wait()))
    for _ in range(3):  # kill whoever leads, three times in a row
        leader = await eventually(lambda: next((e for e in electors if e.is_leader), None), timeout=6,
                                  what="a leader")
        tasks[leader.identity].cancel()
        await asyncio.gather(tasks[leader.identity], return_exceptions=True)
        tasks[leader.identity] = asyncio.create_task(leader.run(lambda: asyncio.Event().wait()))
    for t in tasks.values():
        t.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    iv.assert_never_two_leaders()
    assert sum(1 for _, _, v in iv.events if v) >= 3
    for c in clients:
        await c.aclose()


class Counting:
    def __init__(self):
        self.calls = 0

    async def reconcile(self, request):
        self.calls += 1
        return Result()


async def test_two_managers_only_the_leader_reconciles_and_takes_over(kubeconfig, namespace):
    managers, reconcilers, tasks, clients = [], [], [], []
    for i in range(2):
        client = LeaseReads(await KubeClient.from_kubeconfig(kubeconfig))
        mgr = Manager(client, settings=ManagerSettings(
            http_port=None, leader_election_namespace=namespace, leader_election_id="mgr-lock", identity=f"m{i}",
            lease=FAST, namespace=namespace, informers=InformerSettings(resync_period=0)))
        rec = Counting()
        ctl = Controller("cms", rec, metrics=mgr.metrics)
        ctl.watch(mgr.informers.informer(CONFIGMAPS))
        mgr.add_controller(ctl)
        managers.append(mgr)
        reconcilers.append(rec)
        clients.append(client)
        tasks.append(asyncio.create_task(mgr.run(install_signal_handlers=False)))
    await eventually(lambda: any(m.is_leader for m in managers), what="a leading manager")
    leader = 0 if managers[0].is_leader else 1
    other = 1 - leader
    await eventually(lambda: reconcilers[leader].calls > 0, what="leader reconciles")
    await eventually(lambda: clients[other].seen_held_by(f"m{leader}") >= 2,
                     what="the other manager tried twice and found the lease held")
    assert reconcilers[other].calls == 0 and not managers[other].is_leader
    managers[leader].stop()  # graceful: releases the lease
    await asyncio.wait_for(tasks[leader], HANG_GUARD)
    await eventually(lambda: managers[other].is_leader and reconcilers[other].calls > 0, timeout=HANG_GUARD,
                     what="the other manager takes over")
    managers[other].stop()
    await asyncio.wait_for(tasks[other], 10)
    for c in clients:
        await c.aclose()


async def test_event_recorder_aggregates_repeats(kube, namespace):
    cm = await kube.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "subject"}},
                           namespace)
    rec = EventRecorder(kube, settings=EventSettings(component="rt-test", host="h"))
    task = asyncio.create_task(rec.run())
    try:
        for _ in range(3):
            rec.event(cm, "Warning", "Stuck", "waiting for 3/5 ready")
        rec.event(cm, "Normal", "Progressing", "batch 1 done")
        await asyncio.wait_for(rec.flush(), 10)
        events = (await kube.list(EVENTS, namespace, field_selector="involvedObject.name=subject"))["items"]
        by_reason = {e["reason"]: e for e in events}
        assert set(by_reason) == {"Stuck", "Progressing"}
        assert by_reason["Stuck"]["count"] == 3 and by_reason["Progressing"]["count"] == 1
        assert by_reason["Stuck"]["involvedObject"]["uid"] == cm["metadata"]["uid"]
        assert by_reason["Stuck"]["source"]["component"] == "rt-test"
    finally:
        task.cancel()


async def test_partitioned_leader_steps_down_before_the_other_takes_over(kubeconfig, namespace):
    import attrs

    from runtime.kube.config import load_kubeconfig
    from runtime.leaderelection import LeadershipLost

    from .test_watch_resilience_real import TcpProxy
    conn = await load_kubeconfig(kubeconfig)
    host, port = conn.server.removeprefix("https://").rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    via_proxy = KubeClient(attrs.evolve(conn, server=f"https://127.0.0.1:{proxy.port}"))
    direct = await KubeClient.from_kubeconfig(kubeconfig)
    b_reads = LeaseReads(direct)
    a = LeaderElector(via_proxy, name="lock", namespace=namespace, identity="a", settings=FAST)
    b = LeaderElector(b_reads, name="lock", namespace=namespace, identity="b", settings=FAST)
    iv = Intervals()
    iv.watch(a)
    iv.watch(b)
    ta = asyncio.create_task(a.run(lambda: asyncio.Event().wait()))
    try:
        await eventually(lambda: a.is_leader, what="a leads")
        tb = asyncio.create_task(b.run(lambda: asyncio.Event().wait()))
        await eventually(lambda: b_reads.seen_held_by("a") >= 1, what="b found the lease held by a")
        proxy.blocked = True
        proxy.freeze()  # a can no longer reach the API server at all
        with pytest.raises(LeadershipLost):
            await asyncio.wait_for(ta, HANG_GUARD)
        await eventually(lambda: b.is_leader, timeout=HANG_GUARD, what="b takes over")
        iv.assert_never_two_leaders()
        b_won = next(t for t, who, v in iv.events if who == "b" and v)
        a_lost = next(t for t, who, v in iv.events if who == "a" and not v)
        assert b_won > a_lost
        lease = await direct.get(LEASES, "lock", namespace)
        assert lease["spec"]["holderIdentity"] == "b"
        # a's last renewal b saw is a's last renewal (any later one would have reset b's wait)
        waited = micro(lease["spec"]["acquireTime"]) - b_reads.last_renew_by("a")
        assert waited >= timedelta(seconds=FAST.lease_duration), waited
        tb.cancel()
        await asyncio.gather(tb, return_exceptions=True)
    finally:
        ta.cancel()
        await asyncio.gather(ta, return_exceptions=True)
        await via_proxy.aclose()
        await direct.aclose()
        await proxy.stop()
