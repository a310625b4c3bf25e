"""Create expectations: "I created object X; do not act on a cache that has not seen it yet".

Why: a reconciler that creates an object (with ``generateName``, so it cannot look it up by name)
and is woken again before its informer delivered the create would find nothing in the cache and
create a second one. client-go's ``ControllerExpectations`` solve this by remembering the pending
create per owner key until the informer observes it; this is the same idea, reduced to what our
reconcilers need: one pending create per key, identified by the UID the API server returned.

Invariants: at most one pending create per key; an entry is dropped when it is observed or when it
is older than ``timeout`` (a lost watch event must not block its owner forever). Time comes from an
injected :class:`runtime.clock.Clock` (``monotonic``), so tests step it.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from runtime.clock import REAL_CLOCK, Clock

#: Upstream's ``--expectation-timeout`` default (5 minutes): long enough for a slow informer,
#: short enough that a dropped watch event only delays its owner, never wedges it.
DEFAULT_EXPECTATION_TIMEOUT_SECONDS = 300.0


@attrs.define
class CreateExpectations:
    """Pending creates by owner key (``namespace/name``); see the module docstring."""

    clock: Clock = REAL_CLOCK
    timeout: float = DEFAULT_EXPECTATION_TIMEOUT_SECONDS
    #: key → (UID of the created object, monotonic time of the create).
    _pending: dict[str, tuple[str, float]] = attrs.field(factory=dict)

    def expect(self, key: str, uid: str) -> None:
        """Remember that ``key``'s reconciler created the object with ``uid``."""
        self._pending[key] = (uid, self.clock.monotonic())

    def satisfied(self, key: str, seen: Callable[[str], bool]) -> bool:
        """True when nothing is pending for ``key``, or ``seen(uid)`` says the cache has the object
        now (the entry is then dropped), or the entry timed out (dropped too)."""
        entry = self._pending.get(key)
        if entry is None:
            return True
        uid, since = entry
        if seen(uid) or self.clock.monotonic() - since > self.timeout:
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        """Drop whatever is pending for ``key`` (its owner is gone)."""
        self._pending.pop(key, None)

    def pending(self, key: str) -> str | None:
        """The UID still awaited for ``key``, if any."""
        entry = self._pending.get(key)
        return entry[0] if entry else None
