"""Grace periods after traffic changes (traffic-routing.md §6, upstream ``pkg/util/grace``).

Why: a Service selector or an Ingress annotation is not in effect the moment the API accepts it;
proxies and kube-proxy converge a few seconds later. After every change the restore/patch
operations wait ``gracePeriodSeconds`` before the next one, so that e.g. the canary Service is not
deleted while an Ingress still routes to it.

The store is in memory, keyed by (key, action) — a restarted operator forgets pending waits and
proceeds at once, which upstream accepts. Time comes from an injected clock (monotonic seconds), so
tests step time instead of sleeping.
"""

from __future__ import annotations

import attrs

from runtime.clock import Clock

__all__ = ["DEFAULT_GRACE_SECONDS", "GraceExpectations", "GraceResult", "effective_grace"]

#: Upstream substitutes 3 s for a negative ``gracePeriodSeconds`` (and DoTrafficRouting also for 0);
#: it is also the CRD schema default.
DEFAULT_GRACE_SECONDS = 3


def effective_grace(seconds: int, *, zero_means_default: bool) -> int:
    """The grace to apply: negative → 3; 0 → 3 only where upstream says so (DoTrafficRouting)."""
    if seconds < 0 or (seconds == 0 and zero_means_default):
        return DEFAULT_GRACE_SECONDS
    return seconds


@attrs.frozen
class GraceResult:
    """Outcome of one guarded operation: ``retry`` = wait ``remaining`` seconds and call again."""

    retry: bool
    remaining: float = 0.0


@attrs.define
class GraceExpectations:
    """(key, action) → monotonic time of the last change made by that action.

    Invariant: an entry exists only while its grace period may still be running; it is removed the
    first time a call finds the period elapsed (or grace 0).
    """

    clock: Clock
    _changed_at: dict[tuple[str, str], float] = attrs.field(factory=dict)

    def observe(self, key: str, action: str, *, modified: bool, grace_seconds: int) -> GraceResult:
        """Record the result of running ``action`` on ``key`` and say whether to wait.

        Upstream algorithm: grace 0 → complete (and forget); modified → remember now, retry with the
        full grace; else a remembered change younger than grace → retry with the rest; else complete.
        """
        slot = (key, action)
        if grace_seconds <= 0:
            self._changed_at.pop(slot, None)
            return GraceResult(retry=False)
        now = self.clock.monotonic()
        if modified:
            self._changed_at[slot] = now
            return GraceResult(retry=True, remaining=float(grace_seconds))
        since = self._changed_at.get(slot)
        if since is not None and grace_seconds - (now - since) > 0:
            return GraceResult(retry=True, remaining=grace_seconds - (now - since))
        self._changed_at.pop(slot, None)
        return GraceResult(retry=False)

    def pending(self) -> int:
        """Number of remembered changes (for tests and metrics)."""
        return len(self._changed_at)
