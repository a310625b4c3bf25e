"""A manager killed at every step of a canary release with traffic resumes and finishes (issue 11).

The launcher :mod:`dies_after_each_write` dies right after the first write of every kind it has not
died after yet (BatchRelease created, canary Deployment created, canary Service created, canary
Ingress created, each weight, the stable Service pin and restore, each finalising delete, every
status write); the test restarts it after each death until the release completes, while a
:class:`Timeline` watches that no second canary Deployment is ever alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess
from tests.integration.canarytraffic.dies_after_each_write import EXIT_CODE
from tests.integration.canarytraffic.helpers import COMPLETED, NAME, ROLLOUT, CanaryTraffic, Timeline
from tests.integration.canarytraffic.helpers import STEPS as MANUAL_STEPS

pytestmark = pytest.mark.integration

#: Timed pauses so no approval is needed while the manager keeps dying.
STEPS = [{"traffic": "20%", "replicas": 1, "pause": {"duration": 1}},
         {"traffic": "60%", "replicas": "60%", "pause": {"duration": 1}}, {"replicas": "100%"}]
#: The transitions the manager must have died right after (a subset of all the kinds it died after).
MUST_DIE_AFTER = {"POST batchreleases", "POST deployments", "POST services", "POST ingresses weight=0",
                  "PATCH ingresses weight=20", "PATCH ingresses weight=60", "PATCH services spec.selector",
                  "PATCH services spec.selector-", "DELETE ingresses", "DELETE services", "DELETE batchreleases"}


def run_dying(c: CanaryTraffic, manager: ManagerProcess, tmp_path: Path, act: Callable[[], None],
              done: Callable[[], bool]) -> tuple[list[str], Timeline]:
    """Swap the module's manager for the dying one, ``act``, restart it after each death until
    ``done()`` and the objects are restored; returns the kinds it died after and the timeline."""
    manager.stop()
    state = tmp_path / "died-after"
    dying = ManagerProcess(c.kc.kubeconfig, tmp_path, extra_args=("--no-leader-elect",),
                           env={"KILL_STATE": str(state), "KILL_NAMESPACE": c.ns},
                           module="tests.integration.canarytraffic.dies_after_each_write")
    deaths = 0

    def relaunch_if_dead() -> None:
        nonlocal deaths
        if dying.proc is not None and dying.proc.poll() is not None:
            assert dying.proc.returncode == EXIT_CODE, dying.tail()
            deaths += 1
            dying.launch()

    try:
        dying.start()
        with Timeline(c) as t:
            act()
            deadline = time.monotonic() + 300
            while not (done() and (c.snapshot(), c.orphans()) == (c.before, [])):
                assert time.monotonic() < deadline, f"not done after {deaths} deaths: {c.rollout_row()}"
                relaunch_if_dead()
                time.sleep(0.1)
            while not (dying.alive() and dying.ready()):  # a death after the last write: one more start
                assert time.monotonic() < deadline, dying.tail()
                relaunch_if_dead()
                time.sleep(0.1)
            c.wait_restored()
    finally:
        if dying.proc is not None and dying.proc.poll() not in (None, EXIT_CODE):
            print(dying.tail())
        dying.stop()
        manager.start()
    died_after = state.read_text().splitlines() if state.exists() else []
    assert deaths == len(died_after), (deaths, died_after)
    print(f"died after {deaths} kinds of write: {died_after}")
    return died_after, t


def test_a_manager_killed_after_every_transition_finishes_with_no_orphan(
    manager: ManagerProcess, kc: Kubectl, namespace: str, tmp_path: Path,
) -> None:
    c = CanaryTraffic(kc, namespace)
    c.setup(STEPS)
    died_after, t = run_dying(c, manager, tmp_path, lambda: c.set_env("version2"),
                              lambda: c.rollout_row() == COMPLETED)
    assert MUST_DIE_AFTER <= set(died_after), (sorted(MUST_DIE_AFTER - set(died_after)), died_after)
    alive = [s.canaries for s in t.samples if len(s.canaries) > 1]
    assert alive == [], alive  # exactly one canary Deployment alive at a time
    assert any(s.weight == "20" for s in t.samples) and any(s.weight == "60" for s in t.samples)
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()


@pytest.mark.parametrize("how", ["rollback", "delete"])
def test_a_manager_killed_after_every_finalising_write_restores_everything(
    manager: ManagerProcess, kc: Kubectl, namespace: str, tmp_path: Path, how: str,
) -> None:
    """Rollback (gateway → workload → stable Service → canary Service) and delete (stable Service →
    gateway → canary Service → workload), each write followed by a death, from step 2."""
    c = CanaryTraffic(kc, namespace)
    c.setup(MANUAL_STEPS)
    stable_pods = c.stable_pods()
    c.set_env("version2")
    c.assert_step(1, "20", 1)
    c.approve()
    c.assert_step(2, "60", 3)
    if how == "rollback":
        died_after, _ = run_dying(c, manager, tmp_path, lambda: c.set_env("version1"),
                                  lambda: c.rollout_row()[3] == "Rollout progressing has been canceled")
        assert c.stable_pods() == stable_pods
    else:
        died_after, _ = run_dying(
            c, manager, tmp_path,
            lambda: c.kc("-n", c.ns, "delete", ROLLOUT_RESOURCE, ROLLOUT, "--wait=false"),
            lambda: c.get(ROLLOUT_RESOURCE, ROLLOUT) is None)
    assert {"DELETE ingresses", "DELETE services", "PATCH services spec.selector-"} <= set(died_after), died_after
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
