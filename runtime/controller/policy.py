"""The retry policy: one table-driven function from a reconcile outcome to a queue action.

================================  ===========================  ==========================================
reconcile outcome                 action                       why
================================  ===========================  ==========================================
raised TerminalError              FORGET                       retrying cannot help; the next change to
                                                               the object triggers a new reconcile
raised anything else              REQUEUE_RATE_LIMITED         transient: per-item exponential back-off
Result(requeue_after=s), s > 0    FORGET + REQUEUE_AFTER s     an explicit timer; resets failure back-off
Result(requeue=True)              REQUEUE_RATE_LIMITED         "soon", but backing off if it repeats
Result() / None                   FORGET                       done until something changes
================================  ===========================  ==========================================

``requeue_after`` wins over ``requeue`` (controller-runtime semantics). Reconcilers never touch the
queue; the controller applies the :class:`Decision`.
"""

from __future__ import annotations

import enum

import attrs

from ..reconcile import Result, TerminalError

__all__ = ["Action", "Decision", "decide"]


class Action(enum.Enum):
    FORGET = "forget"
    REQUEUE_AFTER = "requeue_after"
    REQUEUE_RATE_LIMITED = "requeue_rate_limited"


@attrs.frozen
class Decision:
    action: Action
    """What to do with the key."""
    delay: float | None = None
    """Seconds for REQUEUE_AFTER."""
    result_label: str = "success"
    """Value of the ``result`` label of ``controller_runtime_reconcile_total``."""


def decide(result: Result | None, error: BaseException | None) -> Decision:
    """Map one reconcile outcome to a queue action (see the module table)."""
    if isinstance(error, TerminalError):
        return Decision(Action.FORGET, result_label="error")
    if error is not None:
        return Decision(Action.REQUEUE_RATE_LIMITED, result_label="error")
    if result is not None and result.requeue_after is not None and result.requeue_after > 0:
        return Decision(Action.REQUEUE_AFTER, result.requeue_after, result_label="requeue_after")
    if result is not None and result.requeue:
        return Decision(Action.REQUEUE_RATE_LIMITED, result_label="requeue")
    return Decision(Action.FORGET)
