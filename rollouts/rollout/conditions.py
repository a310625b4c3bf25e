"""Rollout status conditions with upstream's exact quirks (rollout-lifecycle.md §5.1).

Why reproduce quirks: the Initializing "settle" wait is measured from the Progressing condition's
``lastUpdateTime``, and upstream keeps the *old* ``lastUpdateTime`` when it modifies an existing
condition. Changing that would change observable timing of continuous releases.

The machine edits the typed :class:`~rollouts.api.v1beta1.rollout.RolloutStatus`; every write goes
through :func:`rollouts.api.edit.set_field` so that the zero values the wire dict used to carry
(``conditions: []``, ``reason: ""``) are still written. A field the stored condition lacks reads as
``None`` here (:func:`~rollouts.api.edit.get_field`), as it did from the dict, so a hand-edited
condition compares exactly as before. Known difference from the dict code: a stored condition without
``lastTransitionTime`` that is modified keeps it absent, where the dict code wrote ``null`` (the model
has no "present but null"); no reconcile of ours writes such a condition.

:func:`get_condition` reads a *stored* (wire) status; :func:`set_progressing_message` also edits one
in place (its dict-in/dict-out adapter, for callers at the edge and the unit tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from rollouts.api.common import RolloutCondition
from rollouts.api.edit import copy_model, get_field, set_field
from rollouts.api.v1beta1.rollout import RolloutStatus
from rollouts.api.wire import from_dict, to_dict
from rollouts.rollout.model import format_time

PROGRESSING = "Progressing"
SUCCEEDED = "Succeeded"
TERMINATING = "Terminating"


def get_condition(status: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    """The condition ``ctype`` of a stored (wire) status, as read."""
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def find_condition(status: RolloutStatus, ctype: str) -> RolloutCondition | None:
    return next((c for c in status.conditions if c.type == ctype), None)


_COMPARED = ("status", "reason", "message")


def set_condition(status: RolloutStatus, condition: RolloutCondition) -> bool:
    """``SetRolloutCondition``: no-op if status/reason/message equal; keep transition time on same status."""
    current = find_condition(status, condition.type)
    if current is not None and all(get_field(current, k) == get_field(condition, k) for k in _COMPARED):
        return False
    if current is not None and get_field(current, "status") == get_field(condition, "status"):
        condition = attrs.evolve(condition, last_transition_time=current.last_transition_time)
    others = [c for c in status.conditions if c.type != condition.type]
    set_field(status, "conditions", [*others, condition])
    return True


def new_condition(ctype: str, cstatus: str, reason: str, message: str, now: datetime) -> RolloutCondition:
    """A condition built in Python: Go's encoding writes all six keys (both times set)."""
    stamp = format_time(now)
    return RolloutCondition(type=ctype, status=cstatus, last_update_time=stamp, last_transition_time=stamp,
                            reason=reason, message=message)


def remove_condition(status: RolloutStatus, ctype: str) -> None:
    set_field(status, "conditions", [c for c in status.conditions if c.type != ctype])


def transition_progressing(status: RolloutStatus, reason: str, cstatus: str, message: str, now: datetime) -> None:
    """Move the Progressing condition to ``reason`` (upstream helper semantics).

    Re-uses the stored condition (so its ``lastUpdateTime`` is kept), replaces the message only
    when the new one is non-empty, then mirrors the message into ``status.message``.
    """
    current = find_condition(status, PROGRESSING)
    if current is None:
        cond = new_condition(PROGRESSING, cstatus, reason, message, now)
    else:
        cond = copy_model(current)
        if get_field(cond, "status") != cstatus:
            set_field(cond, "last_transition_time", format_time(now))
        set_field(cond, "status", cstatus)
        set_field(cond, "reason", reason)
        if message:
            set_field(cond, "message", message)
    set_condition(status, cond)
    progressing = find_condition(status, PROGRESSING)
    set_field(status, "message", progressing.message if progressing is not None else "")


def set_progressing_message(status: RolloutStatus | dict[str, Any], message: str, now: datetime) -> None:
    """Replace the Progressing message (and ``status.message``) keeping the reason.

    A wire dict is edited in place through the model (decoded, edited, encoded back)."""
    if isinstance(status, dict):
        model = from_dict(RolloutStatus, status)
        set_progressing_message(model, message, now)
        status.clear()
        status.update(to_dict(model))
        return
    current = find_condition(status, PROGRESSING)
    reason = current.reason if current else ""
    cstatus = get_field(current, "status") if current else None
    transition_progressing(status, reason, "True" if cstatus is None else cstatus, message, now)
