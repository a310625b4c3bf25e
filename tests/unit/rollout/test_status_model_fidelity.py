"""The Rollout status as the model (issue 10, docs/domain.md "The Rollout status").

Every status the machine writes over the seed walkthrough (chained and unchained rounds, a
continuous release in the middle) must survive decode → encode through the v1beta1 model byte for
byte: the machine decodes the stored status, edits the model and the reconciler encodes it. The
second test pins why every write goes through ``edit.set_field`` (rollouts/api/edit.py): a status built in Python with
Go's omitempty rules drops fields the machine writes explicitly.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rollouts.api.v1beta1.rollout import RolloutStatus
from rollouts.api.wire import from_dict, mark_new, to_dict
from rollouts.controllers.rollout.controller import with_go_zero_values
from tests.unit.rollout.sim import Sim, seed_rollout


class RecordingSim(Sim):
    """The scripted world, keeping every status a round returned (what the reconciler would write)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[dict[str, Any]] = []

    def step(self, advance: float = 0.0) -> Any:
        out = super().step(advance)
        if out.status is not None:
            self.written.append(with_go_zero_values(copy.deepcopy(dict(out.status))))
        return out


def _walkthrough(chained: bool) -> list[dict[str, Any]]:
    s = RecordingSim(seed_rollout(), chained=chained)
    s.settle()
    s.release("6dd59d49b5")
    s.settle()
    s.approve()
    s.settle()
    s.release("7ee6a5ac6c")  # continuous release mid-way: the sub-status is dropped and rebuilt
    s.reset_done = True
    s.settle()
    for _ in range(2):
        s.approve()
        s.settle()
    s.finish_cleanup()
    s.settle()
    assert s.rollout["status"]["phase"] == "Healthy"
    return s.written


@pytest.mark.parametrize("chained", [False, True])
def test_every_written_status_round_trips_through_the_model(chained: bool) -> None:
    written = _walkthrough(chained)
    assert len(written) > 20
    for status in written:
        assert to_dict(from_dict(RolloutStatus, status)) == status


def test_a_status_built_with_go_semantics_differs_where_the_machine_writes_zero_values() -> None:
    """``conditions: []`` (a removed last condition) and empty strings the machine sets explicitly
    are omitted by Go's omitempty for a model built in Python; today's bytes keep them."""
    status = {"observedGeneration": 0, "phase": "Healthy", "conditions": [], "currentStepIndex": 0,
              "currentStepState": "", "canaryStatus": {**with_go_zero_values({"canaryStatus": {}})["canaryStatus"],
                                                       "rolloutHash": "", "stableRevision": ""}}
    model = from_dict(RolloutStatus, status)
    assert to_dict(model) == status  # decoded: presence remembered
    go = to_dict(mark_new(model))  # built in Python: omitempty applies
    assert "conditions" not in go and "observedGeneration" not in go
    assert "rolloutHash" not in go["canaryStatus"] and "stableRevision" not in go["canaryStatus"]
