"""Rollout status conditions with upstream's exact quirks (rollout-lifecycle.md §5.1).

Why reproduce quirks: the Initializing "settle" wait is measured from the Progressing condition's
``lastUpdateTime``, and upstream keeps the *old* ``lastUpdateTime`` when it modifies an existing
condition. Changing that would change observable timing of continuous releases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rollouts.rollout.model import format_time

PROGRESSING = "Progressing"
SUCCEEDED = "Succeeded"
TERMINATING = "Terminating"


def get_condition(status: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == ctype), None)


def set_condition(status: dict[str, Any], condition: dict[str, Any]) -> bool:
    """``SetRolloutCondition``: no-op if status/reason/message equal; keep transition time on same status."""
    current = get_condition(status, condition["type"])
    if current is not None and all(current.get(k) == condition.get(k) for k in ("status", "reason", "message")):
        return False
    if current is not None and current.get("status") == condition.get("status"):
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    others = [c for c in status.get("conditions") or [] if c.get("type") != condition["type"]]
    status["conditions"] = others + [condition]
    return True


def new_condition(ctype: str, cstatus: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    stamp = format_time(now)
    return {
        "type": ctype,
        "status": cstatus,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def remove_condition(status: dict[str, Any], ctype: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != ctype]


def transition_progressing(status: dict[str, Any], reason: str, cstatus: str, message: str, now: datetime) -> None:
    """Move the Progressing condition to ``reason`` (upstream helper semantics).

    Re-uses the stored condition (so its ``lastUpdateTime`` is kept), replaces the message only
    when the new one is non-empty, then mirrors the message into ``status.message``.
    """
    current = get_condition(status, PROGRESSING)
    if current is None:
        cond = new_condition(PROGRESSING, cstatus, reason, message, now)
    else:
        cond = dict(current)
        if cond.get("status") != cstatus:
            cond["lastTransitionTime"] = format_time(now)
        cond["status"] = cstatus
        cond["reason"] = reason
        if message:
            cond["message"] = message
    set_condition(status, cond)
    status["message"] = (get_condition(status, PROGRESSING) or {}).get("message", "")


def set_progressing_message(status: dict[str, Any], message: str, now: datetime) -> None:
    """Replace the Progressing message (and ``status.message``) keeping the reason."""
    current = get_condition(status, PROGRESSING)
    reason = current.get("reason", "") if current else ""
    cstatus = current.get("status", "True") if current else "True"
    transition_progressing(status, reason, cstatus, message, now)
