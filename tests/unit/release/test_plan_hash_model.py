"""The release-plan hash computed straight from the decoded plan equals the one computed before.

Both sides of the plan handshake (the BatchRelease executor writes ``observedReleasePlanHash``, the
Rollout compares it) now call ``plan.plan_hash(model)`` instead of re-ordering ``go_dict(model)``
through the hand-written field table; a byte of difference would stall every release at its first
batch, so the two are compared on plans generated from the model declarations.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from rollouts.api.v1beta1.batchrelease import ReleasePlan
from rollouts.api.wire import from_dict, go_dict
from rollouts.release.plan import plan_hash, release_plan_hash
from tests.unit.api.test_roundtrip_properties import SETTINGS, document


@SETTINGS
@given(document(ReleasePlan))
def test_plan_hash_equals_the_table_hash_of_the_go_encoding(doc: dict[str, Any]) -> None:
    plan = from_dict(ReleasePlan, doc)
    assert plan_hash(plan) == release_plan_hash(go_dict(plan))


def test_plan_hash_escapes_like_go() -> None:
    """Go's json.Marshal escapes <, >, & and U+2028/U+2029; the hash of such a plan is pinned."""
    plan = from_dict(ReleasePlan, {"batches": [{"canaryReplicas": "50%"}], "rolloutID": "a<b>&\u2028"})
    assert plan_hash(plan) == release_plan_hash({"batches": [{"canaryReplicas": "50%"}], "rolloutID": "a<b>&\u2028"})
    assert plan_hash(plan) != release_plan_hash({"batches": [{"canaryReplicas": "50%"}], "rolloutID": "a<b>&"})
