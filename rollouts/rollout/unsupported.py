"""The controller's side of ``rollouts.api.unsupported``: a Rollout using an unbuilt feature is not run.

The validating webhook refuses such Rollouts, but one may predate the webhook (created while the
operator was down or before it was installed). Running it as something else — a canary Rollout as a
partition release — would claim progress we did not make, so the reconciler asks :func:`guard`
before each round: while the Rollout uses an unbuilt feature it only reports that, as
``Progressing=False`` with reason :data:`REASON_UNSUPPORTED` and a message naming the field and the
fix; once the spec no longer uses one, the stale condition is dropped and the machine starts over
from whatever phase the Rollout is in (a Progressing one re-initialises its release).

Deletion and disabling are never blocked: their cleanup is what hands the workload back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from rollouts.api.decode import as_rollout
from rollouts.api.edit import clear_field, set_field
from rollouts.api.unsupported import unsupported_message
from rollouts.api.v1beta1.rollout import Rollout
from rollouts.api.wire import DecodeError, to_dict
from rollouts.objects import meta as objmeta
from rollouts.rollout import model as m
from rollouts.rollout.conditions import PROGRESSING, get_condition, new_condition, remove_condition, set_condition

REASON_UNSUPPORTED: Final = "Unsupported"
MSG_PREFIX: Final = "Rollout is not run by this controller: "
_CLEANUP_PHASES = (m.PHASE_TERMINATING, m.PHASE_DISABLING, m.PHASE_DISABLED)


def guard(
    rollout: Mapping[str, Any], now: datetime, *, model: Rollout | None = None
) -> tuple[Mapping[str, Any], dict[str, Any] | None]:
    """``(rollout to reconcile, status to write instead)``; the second is None when the round may run.

    ``model``: the caller's decoded ``rollout`` (decoded here when absent).

    The first is ``rollout`` itself, or a copy without our stale ``Unsupported`` condition (the
    caller still diffs its status write against the stored object, so the removal is persisted).
    """
    status = rollout.get("status") or {}
    if model is None:
        try:  # the status is not decoded (as_rollout): that halves the cost of every reconcile
            model = as_rollout(rollout)
        except DecodeError:
            return rollout, None  # an undecodable Rollout is the machine's problem, as before
    if m.is_deleting(model) or m.is_disabled(model) or status.get("phase") in _CLEANUP_PHASES:
        return rollout, None
    message = unsupported_message(model)
    cond = get_condition(dict(status), PROGRESSING)
    stale = cond is not None and cond.get("reason") == REASON_UNSUPPORTED
    if not message:
        if not stale:
            return rollout, None
        lifted = m.as_status(rollout)
        remove_condition(lifted, PROGRESSING)
        clear_field(lifted, "message")
        return {**rollout, "status": to_dict(lifted)}, None
    halted = m.as_status(rollout)
    set_field(halted, "observed_generation", objmeta.generation(rollout))  # undecodable: the raw ObjectMeta
    set_field(halted, "phase", halted.phase or m.PHASE_INITIAL)
    set_field(halted, "message", MSG_PREFIX + message)
    set_condition(halted, new_condition(PROGRESSING, "False", REASON_UNSUPPORTED, halted.message, now))
    return rollout, to_dict(halted)
