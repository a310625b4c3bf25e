"""The step progress deadline's per-Rollout annotations (issue #16 item 5): how long, and what then.

* ``analysis.kruise-rollouts-py.io/progress-deadline-seconds`` — how long a step may stay in one
  waiting state (read by :mod:`rollouts.rollout.progress`, which owns the default);
* ``analysis.kruise-rollouts-py.io/progress-deadline-action`` — what a step past it does:

  * ``none`` (the default): only the ``Stalled`` condition and one Warning Event; the release keeps
    trying;
  * ``pause``: the step goes to ``StepPaused`` and is held for a human; ``kubectl kruise rollout
    approve`` moves on, exactly as on a step paused by an analysis verdict;
  * ``rollback``: the traffic goes back to stable through the path an analysis ``Rollback`` verdict
    uses, and the step is held as for ``pause``.

Why here and not in :mod:`rollouts.rollout.progress`: the validating webhook refuses a bad action
(``rollouts.api.validation``), and ``rollouts.api`` must not import the step machine. Values are read
case-insensitively; the controller treats a bad one (admitted before the webhook ran, or while it was
down: it fails open) as ``none`` and says so in the ``Stalled`` message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: Our analysis group, defined here (the template module re-exports it): ``rollouts.api`` imports this
#: module, and the template module pulls in the HTTP client.
GROUP: Final = "analysis.kruise-rollouts-py.io"
SECONDS_ANNOTATION: Final = f"{GROUP}/progress-deadline-seconds"
ACTION_ANNOTATION: Final = f"{GROUP}/progress-deadline-action"
NONE: Final = "none"
PAUSE: Final = "pause"
ROLLBACK: Final = "rollback"
ACTIONS: Final = (NONE, PAUSE, ROLLBACK)


def action_problem(raw: str) -> str | None:
    """Why ``raw`` is not an action (None when it is one), worded as the fix."""
    if raw.strip().lower() in ACTIONS:
        return None
    return f"must be one of {', '.join(ACTIONS)} (what a step past its progress deadline does; default {NONE})"


def action(annotations: Mapping[str, str]) -> tuple[str, str]:
    """The configured action and, for a bad value, the note saying why it is ``none``."""
    raw = annotations.get(ACTION_ANNOTATION)
    if raw is None:
        return NONE, ""
    if action_problem(raw) is None:
        return raw.strip().lower(), ""
    return NONE, f" (annotation {ACTION_ANNOTATION}={raw!r} is not one of {', '.join(ACTIONS)}, so {NONE} applies)"
