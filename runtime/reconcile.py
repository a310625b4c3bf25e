"""The reconciler contract: the only runtime module a controller author has to read.

Level-based reconciliation
--------------------------
A reconciler is told *which* object to look at (:class:`Request`: namespace and name) and never
*what happened* to it. It reads the current state from the informer cache, compares it with the
desired state, and acts to close the gap. Because it never sees individual events it does not care
whether an update was delivered once, twice, merged with another one, or missed during a disconnect:
the next reconcile reads the latest state anyway. That is what makes controllers robust against
watch restarts, relists, leader changes and crashes.

Consequences for authors:

* Reconcile must be idempotent: running it twice on the same state must be harmless.
* The object may have been deleted by the time you run; ``NotFound`` from the cache is normal.
* Do not keep state between reconciles that the cluster cannot rebuild.
* Return a :class:`Result` to ask to be called again: ``requeue_after`` for "check again in N
  seconds" (e.g. a pause), ``requeue=True`` for "try again soon, with back-off".
* Raise for transient failures: the request is retried with per-item exponential back-off and the
  traceback is logged. Raise :class:`TerminalError` when retrying cannot help (a spec the user must
  fix): the error is logged and recorded but the request is *not* retried until the object changes.

This module imports nothing from the engine (queues, informers, the client) on purpose, so domain
code and its tests depend on a ~100-line contract rather than on the machinery.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

__all__ = ["Request", "Result", "Reconciler", "TerminalError"]


@attrs.frozen(order=True)
class Request:
    """Identifies one object to reconcile. Hashable: it is the work-queue key."""

    namespace: str | None = attrs.field(converter=lambda ns: ns or None)
    """Namespace of the object; ``None`` for cluster-scoped objects ("" is normalised to None so
    both spellings are the same queue key)."""
    name: str
    """Name of the object."""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@attrs.frozen
class Result:
    """What the reconciler wants to happen next.

    ``Result()`` means "done until something changes". ``requeue_after`` wins over ``requeue``.
    """

    requeue: bool = False
    """Call again soon, using the rate limiter's per-item exponential back-off."""
    requeue_after: float | None = None
    """Call again after this many seconds (exact, not rate limited); resets the failure back-off."""


@runtime_checkable
class Reconciler(Protocol):
    """Anything with an async ``reconcile(request) -> Result``."""

    async def reconcile(self, request: Request) -> Result:
        """Drive the object named by ``request`` towards its desired state."""


class TerminalError(Exception):
    """An error that retrying will not fix; the request is forgotten, not requeued.

    Wrap the underlying cause so it shows in logs: ``raise TerminalError("spec.x invalid") from e``.
    """
