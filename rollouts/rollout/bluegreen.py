"""Blue-green Rollouts through the one step machine (rollout-lifecycle.md §6.3, api.md §1.3).

Blue-green and canary share the step type, the step states, the BatchRelease protocol and the
traffic providers; upstream keeps two copies of the machine that differ in a handful of places. We
keep one machine (``steps.py``, ``machine.py``) and translate at the reconciler's edge instead:

* the spec: :func:`canary_view` gives the machine a Rollout whose ``strategy.canary`` holds the
  blue-green fields (``steps``, ``trafficRoutings``, ``failureThreshold``, ``trafficRoutingRef``,
  ``disableGenerateCanaryService``); ``strategy.blueGreen`` stays set, so the rolling style, the plan
  hash (§3.1 hashes the blue-green object) and :func:`is_blue_green` still say blue-green;
* the status: :func:`status_as_canary` renames ``blueGreenStatus`` to ``canaryStatus`` (and its three
  own fields, ``updatedRevision``/``updatedReplicas``/``updatedReadyReplicas``, to the canary names)
  on the way in; :func:`status_as_blue_green` renames them back on the way out, so the stored object
  only ever has ``blueGreenStatus``.

The differences the machine must honour are asked with :func:`is_blue_green` where they live
(BeforeStepUpgrade, StepUpgrade, StepPaused, continuous release, the BatchRelease body, the
finalising orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from rollouts.api.v1beta1.rollout import CanaryStrategy, Rollout

CANARY_STATUS: Final = "canaryStatus"
BLUE_GREEN_STATUS: Final = "blueGreenStatus"
#: blue-green sub-status field → the canary field of the same meaning.
_RENAMES: Final = {"updatedRevision": "canaryRevision", "updatedReplicas": "canaryReplicas",
                   "updatedReadyReplicas": "canaryReadyReplicas"}
_BACK: Final = {v: k for k, v in _RENAMES.items()}
#: §5.3 case 4: a new version during a blue-green release is not released; the user rolls back.
MSG_CONTINUOUS_REFUSED: Final = ("new version releasing detected in the progress of blue-green release, "
                                 "please rollback first")


def is_blue_green(rollout: Rollout) -> bool:
    return rollout.spec.strategy.blue_green is not None


def is_blue_green_dict(rollout: Mapping[str, Any]) -> bool:
    """The same question on a wire Rollout (both API versions keep the strategy there)."""
    return bool(((rollout.get("spec") or {}).get("strategy") or {}).get("blueGreen") is not None)


def canary_view(rollout: Rollout) -> Rollout:
    """``rollout`` with the blue-green strategy also readable as ``strategy.canary`` (the input if not blue-green)."""
    bg = rollout.spec.strategy.blue_green
    if bg is None:
        return rollout
    canary = CanaryStrategy(steps=bg.steps, traffic_routings=bg.traffic_routings,
                            failure_threshold=bg.failure_threshold, traffic_routing_ref=bg.traffic_routing_ref,
                            disable_generate_canary_service=bg.disable_generate_canary_service)
    strategy = attrs.evolve(rollout.spec.strategy, canary=canary)
    return attrs.evolve(rollout, spec=attrs.evolve(rollout.spec, strategy=strategy))


def _renamed(sub: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {names.get(k, k): v for k, v in sub.items()}


def status_as_canary(status: Mapping[str, Any]) -> dict[str, Any]:
    """A stored blue-green status with its sub-status under ``canaryStatus`` (canary field names)."""
    out = {k: v for k, v in status.items() if k not in (CANARY_STATUS, BLUE_GREEN_STATUS)}
    sub = status.get(BLUE_GREEN_STATUS)
    if sub is not None:
        out[CANARY_STATUS] = _renamed(sub, _RENAMES)
    return out


def status_as_blue_green(status: Mapping[str, Any]) -> dict[str, Any]:
    """The machine's status written back as a blue-green one (``blueGreenStatus``, blue-green names)."""
    out = {k: v for k, v in status.items() if k not in (CANARY_STATUS, BLUE_GREEN_STATUS)}
    sub = status.get(CANARY_STATUS)
    if sub is not None:
        out[BLUE_GREEN_STATUS] = _renamed(sub, _BACK)
    return out


def rollout_as_canary(rollout: Mapping[str, Any]) -> Mapping[str, Any]:
    """The wire Rollout with :func:`status_as_canary` applied (itself when not blue-green or no status)."""
    status = rollout.get("status")
    if not is_blue_green_dict(rollout) or not status:
        return rollout
    return {**rollout, "status": status_as_canary(status)}
