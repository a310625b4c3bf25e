"""Event handlers and their per-handler delivery queues (client-go ``processorListener``).

Every handler registered on an informer gets its own unbounded buffer and its own task. The
informer only appends to buffers, so a slow handler (or one that awaits) delays nobody else and
never blocks the watch. Buffers are unbounded on purpose, as in client-go: dropping a notification
would silently desynchronise a controller, while a growing buffer is visible (``pending``) and
bounded in practice by the number of objects times their churn.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import attrs
import structlog

__all__ = ["EventHandler", "FuncHandler", "Registration"]

log = structlog.get_logger("runtime.informer")
Obj = Any  # a frozen object; on delete possibly a DeletedFinalStateUnknown


class EventHandler(Protocol):
    """What an informer calls. Methods may be plain or async functions."""

    def on_add(self, obj: Obj) -> None | Awaitable[None]: ...

    def on_update(self, old: Obj, new: Obj) -> None | Awaitable[None]: ...

    def on_delete(self, obj: Obj) -> None | Awaitable[None]: ...


@attrs.frozen
class FuncHandler:
    """An :class:`EventHandler` from up to three functions (missing ones ignore the event)."""

    on_add_fn: Callable[[Obj], Any] | None = None
    on_update_fn: Callable[[Obj, Obj], Any] | None = None
    on_delete_fn: Callable[[Obj], Any] | None = None

    def on_add(self, obj: Obj) -> Any:
        return self.on_add_fn(obj) if self.on_add_fn else None

    def on_update(self, old: Obj, new: Obj) -> Any:
        return self.on_update_fn(old, new) if self.on_update_fn else None

    def on_delete(self, obj: Obj) -> Any:
        return self.on_delete_fn(obj) if self.on_delete_fn else None


_SYNCED = ("synced",)


class Registration:
    """One handler on one informer: its buffer, its task, and whether it has seen the initial list."""

    def __init__(self, handler: EventHandler, *, resync: bool, name: str) -> None:
        self.handler = handler
        self.resync = resync
        """Whether periodic resyncs are delivered to this handler."""
        self.name = name
        # Invariant: notifications are delivered in the order they were pushed, one at a time.
        self._buffer: deque[tuple] = deque()
        self._wakeup = asyncio.Event()
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        """Notifications handled so far (including failed ones)."""

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def has_synced(self) -> bool:
        """True once this handler has processed every object of the informer's first list."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def push(self, *notification: Any) -> None:
        self._buffer.append(notification)
        self._wakeup.set()

    def mark_synced(self) -> None:
        """Queue the marker after the initial adds: has_synced flips when the handler reaches it."""
        self.push(*_SYNCED)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"handler-{self.name}")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            while not self._buffer:
                self._wakeup.clear()
                await self._wakeup.wait()
            notification = self._buffer.popleft()
            if notification == _SYNCED:
                self._synced.set()
                continue
            await self._deliver(notification)

    async def _deliver(self, notification: tuple) -> None:
        kind, *args = notification
        try:
            result = getattr(self.handler, f"on_{kind}")(*args)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken handler must not stop the informer
            log.exception("event handler failed", handler=self.name, notification=kind)
        finally:
            self.delivered += 1
