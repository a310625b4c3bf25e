"""Issue 10 item 3: the BatchRelease body built from the typed Rollout is the one the dict code built."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollouts.api.v1beta1.rollout import CanaryStrategy
from rollouts.rollout.steps import desired_batch_release
from tests.unit.api.test_roundtrip_properties import document

from . import legacy_desired_br_oracle as legacy
from .sim import seed_rollout

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(canary=document(CanaryStrategy), index=st.integers(1, 4), rollout_id=st.sampled_from(["", "r1"]),
       annotated=st.booleans(), rollback=st.booleans())
def test_typed_body_equals_the_dict_body(canary: dict[str, Any], index: int, rollout_id: str, annotated: bool,
                                         rollback: bool) -> None:
    ro = seed_rollout()
    ro["spec"]["strategy"] = {"canary": canary}
    if annotated:
        ro["metadata"]["annotations"]["rollouts.kruise.io/rollback-in-batch"] = "true"
    sub = {"currentStepIndex": index, "observedRolloutID": rollout_id}
    want = legacy.desired_batch_release(copy.deepcopy(ro), sub, rollback)
    assert desired_batch_release(ro, sub, rollback) == want
