"""A manager killed at every step of a canary release with traffic resumes and finishes (issue 11).

The launcher :mod:`dies_after_each_write` dies right after the first write of every kind it has not
died after yet (BatchRelease created, canary Deployment created, canary Service created, canary
Ingress created, each weight, the stable Service pin and restore, each finalising delete, every
status write); the test restarts it after each death until the release completes, while a
:class:`Timeline` watches that no second canary Deployment is ever alive.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess
from tests.integration.canarytraffic.dies_after_each_write import EXIT_CODE
from tests.integration.canarytraffic.helpers import COMPLETED, NAME, CanaryTraffic, Timeline

pytestmark = pytest.mark.integration

#: Timed pauses so no approval is needed while the manager keeps dying.
STEPS = [{"traffic": "20%", "replicas": 1, "pause": {"duration": 1}},
         {"traffic": "60%", "replicas": "60%", "pause": {"duration": 1}}, {"replicas": "100%"}]
#: The transitions the manager must have died right after (a subset of all the kinds it died after).
MUST_DIE_AFTER = {"POST batchreleases", "POST deployments", "POST services", "POST ingresses weight=0",
                  "PATCH ingresses weight=20", "PATCH ingresses weight=60", "PATCH services spec.selector",
                  "PATCH services spec.selector-", "DELETE ingresses", "DELETE services", "DELETE batchreleases"}


def test_a_manager_killed_after_every_transition_finishes_with_no_orphan(
    manager: ManagerProcess, kc: Kubectl, namespace: str, tmp_path: Path,
) -> None:
    c = CanaryTraffic(kc, namespace)
    c.setup(STEPS)
    manager.stop()
    state = tmp_path / "died-after"
    dying = ManagerProcess(kc.kubeconfig, tmp_path, extra_args=("--no-leader-elect",),
                           env={"KILL_STATE": str(state), "KILL_NAMESPACE": namespace},
                           module="tests.integration.canarytraffic.dies_after_each_write")
    deaths = 0
    try:
        dying.start()
        with Timeline(c) as t:
            c.set_env("version2")
            deadline = time.monotonic() + 300
            while c.rollout_row() != COMPLETED:
                assert time.monotonic() < deadline, f"not completed after {deaths} deaths: {c.rollout_row()}"
                if dying.proc is not None and dying.proc.poll() is not None:
                    assert dying.proc.returncode == EXIT_CODE, dying.tail()
                    deaths += 1
                    dying.launch()
                time.sleep(0.1)
            c.wait_restored(timeout=120)  # the finalising deletes may still be dying one by one
            while dying.proc is not None and dying.proc.poll() is not None:  # a last death after a last write
                assert dying.proc.returncode == EXIT_CODE, dying.tail()
                deaths += 1
                dying.launch()
                c.wait_restored(timeout=60)
    finally:
        if dying.proc is not None and dying.proc.poll() not in (None, EXIT_CODE):
            print(dying.tail())
        dying.stop()
        manager.start()
    died_after = state.read_text().splitlines()
    assert deaths == len(died_after), (deaths, died_after)
    assert MUST_DIE_AFTER <= set(died_after), (sorted(MUST_DIE_AFTER - set(died_after)), died_after)
    alive = [s.canaries for s in t.samples if len(s.canaries) > 1]
    assert alive == [], alive  # exactly one canary Deployment alive at a time
    assert any(s.weight == "20" for s in t.samples) and any(s.weight == "60" for s in t.samples)
    c.wait_deploys({NAME: ("5/5", "5", "5")})
    c.assert_handed_back()
    print(f"died after {deaths} kinds of write: {died_after}")
