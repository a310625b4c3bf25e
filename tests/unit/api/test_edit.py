"""Editing decoded models: the presence helpers the Rollout status relies on (rollouts/api/edit.py).

The machine used to edit the wire dict; it now edits ``RolloutStatus`` and the reconciler encodes it.
These pin the dict operations each helper stands for: ``d[k] = zero`` (set_field), ``d.pop(k)``
(clear_field), a dict literal (with_fields), and ``json_copy`` (copy_model).
"""

from __future__ import annotations

from rollouts.api.common import RolloutCondition
from rollouts.api.edit import (
    clear_field,
    copy_model,
    edit_count,
    get_field,
    has_field,
    is_empty,
    set_field,
    with_fields,
)
from rollouts.api.status import CanaryStatus
from rollouts.api.v1beta1.rollout import RolloutStatus
from rollouts.api.wire import from_dict, to_dict


def test_set_field_writes_a_zero_value_that_plain_assignment_would_drop() -> None:
    plain, marked = from_dict(RolloutStatus, {"phase": "Healthy"}), from_dict(RolloutStatus, {"phase": "Healthy"})
    plain.conditions, plain.observed_generation = [], 0
    set_field(marked, "conditions", [])
    set_field(marked, "observed_generation", 0)
    assert to_dict(plain) == {"phase": "Healthy"}
    assert to_dict(marked) == {"phase": "Healthy", "conditions": [], "observedGeneration": 0}


def test_set_field_on_an_object_built_in_python_keeps_what_go_would_write() -> None:
    sub = CanaryStatus(canary_revision="abc")  # Go semantics: required zero fields are written
    before = to_dict(sub)
    set_field(sub, "rollout_hash", "")
    assert to_dict(sub) == {**before, "rolloutHash": ""}


def test_clear_field_removes_the_key_and_resets_the_value() -> None:
    status = from_dict(RolloutStatus, {"phase": "Progressing", "currentStepIndex": 2,
                                       "canaryStatus": {"currentStepIndex": 2}, "conditions": []})
    for attr in ("canary_status", "current_step_index", "conditions"):
        clear_field(status, attr)
    assert to_dict(status) == {"phase": "Progressing"}
    assert status.canary_status is None and status.current_step_index == 0 and status.conditions == []
    assert not has_field(status, "current_step_index") and get_field(status, "canary_status") is None


def test_with_fields_writes_exactly_the_named_fields() -> None:
    status = with_fields(RolloutStatus, observed_generation=0, phase="Initial", message="m")
    assert to_dict(status) == {"observedGeneration": 0, "phase": "Initial", "message": "m"}
    assert is_empty(with_fields(CanaryStatus)) and is_empty(None)
    assert not is_empty(with_fields(CanaryStatus, finalising_step=""))


def test_get_field_reads_absent_as_none_like_dict_get() -> None:
    cond = from_dict(RolloutCondition, {"type": "Progressing", "reason": ""})
    assert get_field(cond, "reason") == "" and get_field(cond, "status") is None
    assert get_field(RolloutCondition(type="x"), "status") == ""  # built in Python: Go writes it


def test_copy_model_is_deep_and_keeps_presence_and_unknown_fields() -> None:
    wire = {"phase": "Healthy", "conditions": [{"type": "Progressing", "status": "True", "x-new": {"a": [1]}}],
            "canaryStatus": {"rolloutHash": ""}, "future": {"k": "v"}}
    status = from_dict(RolloutStatus, wire)
    dup = copy_model(status)
    assert to_dict(dup) == wire and dup == status
    set_field(dup.conditions[0], "reason", "r")
    dup.canary_status.stable_revision = "s"  # type: ignore[union-attr]
    dup._extra["future"]["k"] = "changed"
    assert to_dict(status) == wire


def test_edit_count_moves_on_every_edit_that_may_change_the_wire_form_and_not_on_a_same_value() -> None:
    """``settle`` skips encoding a round when the count did not move, so a real change must move it."""
    status = from_dict(RolloutStatus, {"phase": "Healthy", "conditions": []})
    before = edit_count()
    set_field(status, "phase", "Healthy")  # same scalar, already present
    assert edit_count() == before
    set_field(status, "conditions", [])  # lists (and models) always count: their == ignores presence
    assert edit_count() == before + 1
    set_field(status, "observed_generation", 0)  # a zero value becoming present
    set_field(status, "phase", "Progressing")
    clear_field(status, "message")
    assert edit_count() == before + 4
