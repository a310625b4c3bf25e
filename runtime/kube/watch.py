"""Decoding a watch stream, kept apart from the HTTP layer so it can be fed scripted streams.

A watch response is newline-delimited JSON, one ``{"type": ..., "object": ...}`` per line. This
module turns a source of byte chunks into :class:`WatchEvent` values:

* lines are split by hand (not ``StreamReader.readline``) because one line is one whole object and
  can exceed any fixed line-length limit (a 1 MiB ConfigMap);
* ``ERROR`` events carry a ``Status``; they are raised as the typed error (``410`` → :class:`Gone`)
  instead of being yielded, so callers handle them exactly like a failed request;
* a line that is not JSON means the stream is corrupt: :class:`WatchStreamError` ends the watch and
  the caller resumes from its last good resourceVersion;
* an **inactivity timeout** guards against half-open TCP connections (a NAT or load balancer that
  silently dropped the flow): the server-side ``timeoutSeconds`` never arrives on such a connection,
  so without it a watch could hang forever while the cache silently goes stale. A watchdog on the
  injected clock closes the source when no byte arrived for ``inactivity_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

import attrs

from ..clock import Clock
from .errors import ConnectionFailed, error_from_response

__all__ = [
    "WatchEvent", "ByteSource", "LineSplitter", "WatchStreamError", "WatchInactivityTimeout",
    "parse_event", "stream_events", "EVENT_TYPES",
]

EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})


@attrs.frozen
class WatchEvent:
    """One decoded watch event (never ``ERROR``: those are raised)."""

    type: str
    """ADDED, MODIFIED, DELETED or BOOKMARK."""
    object: dict[str, Any]
    """The object (for BOOKMARK only ``metadata.resourceVersion`` is meaningful)."""

    @property
    def resource_version(self) -> str | None:
        return (self.object.get("metadata") or {}).get("resourceVersion")


class WatchStreamError(ConnectionFailed):
    """The stream broke in a way the server did not announce (garbage line, truncated event)."""

    default_reason = "WatchStreamError"


class WatchInactivityTimeout(WatchStreamError):
    """No byte arrived for the inactivity timeout; the connection is presumed half-open."""

    default_reason = "WatchInactivityTimeout"


class ByteSource(Protocol):
    """Where watch bytes come from: an HTTP response body, or a script in tests."""

    async def read(self) -> bytes:
        """Next chunk of any size; ``b""`` at end of stream. Raise ConnectionFailed on a broken stream."""

    def close(self) -> None:
        """Abort the stream; a pending :meth:`read` must return or raise promptly."""


class LineSplitter:
    """Accumulates chunks and hands out complete lines (without the newline)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        if b"\n" not in chunk:
            return []
        *lines, rest = bytes(self._buf).split(b"\n")
        self._buf = bytearray(rest)
        return [ln for ln in lines if ln.strip()]

    @property
    def pending(self) -> bytes:
        """Bytes after the last newline: a partial event if the stream ended here."""
        return bytes(self._buf).strip()


def parse_event(line: bytes) -> WatchEvent:
    """Decode one line; raise the typed error for ERROR events, WatchStreamError for garbage."""
    try:
        doc = json.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise WatchStreamError(f"undecodable watch line ({e}): {line[:200]!r}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("object"), dict):
        raise WatchStreamError(f"watch line is not an event: {line[:200]!r}")
    kind = doc.get("type")
    if kind == "ERROR":
        raise error_from_response(0, doc["object"])
    if kind not in EVENT_TYPES:
        raise WatchStreamError(f"unknown watch event type {kind!r}")
    return WatchEvent(kind, doc["object"])


class _Watchdog:
    """Closes the source when nothing was read for ``timeout`` seconds of clock time."""

    def __init__(self, clock: Clock, timeout: float, source: ByteSource) -> None:
        self._clock, self._timeout, self._source = clock, timeout, source
        self.last_activity = clock.monotonic()
        self.fired = False

    def touch(self) -> None:
        self.last_activity = self._clock.monotonic()

    async def run(self) -> None:
        while True:
            remaining = self.last_activity + self._timeout - self._clock.monotonic()
            if remaining <= 0:
                self.fired = True
                self._source.close()
                return
            await self._clock.sleep(remaining)


async def stream_events(
    source: ByteSource, *, clock: Clock, inactivity_timeout: float | None,
) -> AsyncIterator[WatchEvent]:
    """Yield events from ``source`` until it ends; raise on ERROR events, garbage or inactivity.

    A clean end of stream (server ``timeoutSeconds`` elapsed, or an early close) simply ends the
    iteration: the caller re-watches from the last resourceVersion it saw.
    """
    dog = _Watchdog(clock, inactivity_timeout, source) if inactivity_timeout else None
    dog_task = asyncio.create_task(dog.run()) if dog else None
    splitter = LineSplitter()
    try:
        while True:
            try:
                chunk = await source.read()
            except ConnectionFailed as e:
                if dog and dog.fired:
                    raise WatchInactivityTimeout(f"no data for {inactivity_timeout}s") from e
                raise
            if dog and dog.fired:
                raise WatchInactivityTimeout(f"no data for {inactivity_timeout}s")
            if not chunk:
                break
            if dog:
                dog.touch()
            for line in splitter.feed(chunk):
                yield parse_event(line)
        if splitter.pending:  # last line without a newline: fine if complete, truncated otherwise
            try:
                event = parse_event(splitter.pending)
            except WatchStreamError:
                raise WatchStreamError(f"stream ended inside an event: {splitter.pending[:200]!r}") from None
            yield event
    finally:
        if dog_task:
            dog_task.cancel()
