"""The Deployment webhook for a Deployment already in a release, blue-green and canary styles
(workload-webhook.md §2.1 b, c). Pinned because `make mutation` left 85 mutants of ``in_release``
alive: only the partition style had a test.
"""

from __future__ import annotations

import copy

from .test_deployment_webhook import DEPLOYMENT, run, v2

IN_PROGRESSING = {"rollouts.kruise.io/in-progressing": '{"rolloutName":"rollouts-demo"}'}
ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}


def in_release(*, blue_green: bool) -> dict:
    d = copy.deepcopy(DEPLOYMENT)
    d["metadata"]["annotations"] = dict(IN_PROGRESSING)
    if blue_green:
        d["metadata"]["annotations"]["rollouts.kruise.io/original-deployment-strategy"] = (
            '{"maxSurge":"25%","maxUnavailable":"25%"}')
    d["spec"]["paused"] = True
    return d


async def test_blue_green_freezes_a_new_version() -> None:
    old = in_release(blue_green=True)
    old["spec"]["paused"] = False  # the release resumed it
    out = await run(old, v2(old))
    assert out is not None and out["spec"]["paused"] is True


async def test_blue_green_lets_a_scale_only_edit_through_unpaused() -> None:
    old = in_release(blue_green=True)
    old["spec"]["paused"] = False
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 12
    assert await run(old, scaled) is None


async def test_blue_green_restores_the_strategy_type() -> None:
    old = in_release(blue_green=True)
    new = copy.deepcopy(old)
    new["spec"]["strategy"] = {"type": "Recreate"}
    out = await run(old, new)
    assert out is not None and out["spec"]["strategy"]["type"] == "RollingUpdate"


async def test_canary_style_stays_paused_whatever_the_edit() -> None:
    old = in_release(blue_green=False)
    unpaused = copy.deepcopy(old)
    unpaused["spec"]["paused"] = False
    out = await run(old, unpaused)
    assert out is not None and out["spec"]["paused"] is True
    assert out["spec"]["strategy"] == ROLLING


async def test_canary_style_puts_back_the_whole_old_strategy_instead_of_recreate() -> None:
    old = in_release(blue_green=False)
    new = copy.deepcopy(old)
    new["spec"]["strategy"] = {"type": "Recreate"}
    out = await run(old, new)
    assert out is not None and out["spec"]["strategy"] == ROLLING and out["spec"]["paused"] is True
