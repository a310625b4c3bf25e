"""Two managers against one cluster converge on one registration (issue 9 item 9a), real processes.

In the local (URL) mode every replica serves on its own port. Before the fix each replica rewrote the
webhook configurations and the CRD conversion stanzas to its own URL whenever it saw the other's
write: ~1,200 updates each in three minutes. Now a replica keeps a healthy peer's registration, so
after both are up the configurations and CRDs must not change at all (a watch counts every update);
and when the registered replica is killed, the other takes over within seconds and admission works.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import yaml

from runtime.kube.client import KubeClient
from runtime.kube.resources import CRDS, MUTATING_WEBHOOK_CONFIGURATIONS, VALIDATING_WEBHOOK_CONFIGURATIONS
from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess, running, wait_for
from webhooks import configs

pytestmark = pytest.mark.integration

#: How long both replicas run side by side while updates are counted (issue: ~7 updates/s before).
QUIET_WINDOW_S = 20.0
WATCHED = ((MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME),
           (VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME),
           (CRDS, "rollouts.rollouts.kruise.io"), (CRDS, "batchreleases.rollouts.kruise.io"))


def count_updates(kubeconfig: str, seconds: float) -> Counter[str]:
    """MODIFIED events of our configurations and CRDs during ``seconds`` (one watch per object)."""

    async def main() -> Counter[str]:
        counts: Counter[str] = Counter()
        async with await KubeClient.from_kubeconfig(kubeconfig) as client:
            async def watch(res: object, name: str) -> None:
                async for event in client.watch(res, field_selector=f"metadata.name={name}"):  # type: ignore[arg-type]
                    if event.type == "MODIFIED":
                        counts[name] += 1

            tasks = [asyncio.create_task(watch(res, name)) for res, name in WATCHED]
            await asyncio.sleep(seconds)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return counts

    return asyncio.run(main())


def registered_port(kc: Kubectl) -> int:
    live = kc.json("get", "mutatingwebhookconfiguration", configs.MUTATING_CONFIGURATION_NAME)
    endpoint = configs.registered_endpoint(live)
    assert endpoint is not None, live
    return int(endpoint[0].rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def two(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[tuple[ManagerProcess, ManagerProcess]]:
    a = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("replica-a"), extra_args=("--leader-elect",))
    b = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("replica-b"), extra_args=("--leader-elect",))
    with running(a, kc), running(b, kc):
        yield a, b


def invalid_rollout_denied(kc: Kubectl, namespace: str) -> str:
    body = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": "probe", "namespace": namespace},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nothing"},
                     "strategy": {"canary": {"steps": []}}}}
    try:
        kc("create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(body))
    except AssertionError as e:
        return str(e)
    return ""


def test_replicas_do_not_rewrite_each_other_and_the_survivor_takes_over(
        two: tuple[ManagerProcess, ManagerProcess], kc: Kubectl, kubeconfig: str, namespace: str) -> None:
    a, b = two
    counts = count_updates(kubeconfig, QUIET_WINDOW_S)
    print(f"updates in {QUIET_WINDOW_S:.0f}s with two replicas: {dict(counts)}")
    assert sum(counts.values()) <= 2, f"updates in {QUIET_WINDOW_S:.0f}s with two replicas: {dict(counts)}"

    # Both replicas are ready, the non-leader too: it serves admission, so the Service must route to it.
    leaders = [m for m in (a, b) if 'leader_election_master_status{name="71ddec2c.kruise.io"} 1' in m.metrics()]
    assert len(leaders) == 1 and a.ready() and b.ready()

    first = registered_port(kc)
    assert first in (a.webhook_port, b.webhook_port)
    registered, survivor = (a, b) if first == a.webhook_port else (b, a)
    registered.stop(kill=True)
    killed = time.monotonic()
    wait_for(lambda: registered_port(kc), lambda p: p == survivor.webhook_port, timeout=20,
             what="the surviving replica to register its endpoint")
    denial = wait_for(lambda: invalid_rollout_denied(kc, namespace), lambda t: "spec.strategy.canary.steps" in t,
                      timeout=20, what="admission to work through the survivor")
    print(f"admission served by the survivor {time.monotonic() - killed:.1f}s after kill -9")
    if leaders == [registered]:  # the Lease (15 s) has not expired yet: a non-leader is serving
        assert 'leader_election_master_status{name="71ddec2c.kruise.io"} 1' not in survivor.metrics()
    assert 'admission webhook "vrollout.kb.io" denied' in denial
    crd = kc.json("get", "crd", "rollouts.rollouts.kruise.io")
    url = crd["spec"]["conversion"]["webhook"]["clientConfig"]["url"]
    assert url == f"https://127.0.0.1:{survivor.webhook_port}/convert"
    assert kc.json("get", ROLLOUT_RESOURCE, "-A")["items"] is not None  # conversion-backed reads work
    assert sum(count_updates(kubeconfig, 5.0).values()) == 0
