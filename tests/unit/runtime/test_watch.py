"""Watch stream decoding against scripted streams: the paths a real server rarely produces."""

import asyncio

import pytest
from rt_fakes import HANG, ScriptedSource, line, obj, status

from runtime.clock import FakeClock
from runtime.kube.errors import ConnectionFailed, Forbidden, Gone, ServerError, TooManyRequests
from runtime.kube.watch import LineSplitter, WatchInactivityTimeout, WatchStreamError, stream_events


async def collect(source, clock=None, inactivity=None):
    clock = clock or FakeClock()
    return [e async for e in stream_events(source, clock=clock, inactivity_timeout=inactivity)]


def test_line_splitter_handles_split_and_joined_chunks():
    s = LineSplitter()
    assert s.feed(b'{"a"') == []
    assert s.feed(b':1}\n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert s.pending == b'{"c"'
    assert s.feed(b":3}\n\n") == [b'{"c":3}']
    assert s.pending == b""


async def test_events_across_arbitrary_chunk_boundaries():
    bookmark = {"metadata": {"resourceVersion": "9"}}
    data = line("ADDED", obj("a", "1")) + line("MODIFIED", obj("a", "2")) + line("BOOKMARK", bookmark)
    chunks = [data[i:i + 7] for i in range(0, len(data), 7)]
    events = await collect(ScriptedSource(*chunks))
    assert [(e.type, e.resource_version) for e in events] == [("ADDED", "1"), ("MODIFIED", "2"), ("BOOKMARK", "9")]


async def test_early_close_ends_cleanly():
    events = await collect(ScriptedSource(line("ADDED", obj("a", "1"))))
    assert len(events) == 1


async def test_last_event_without_newline_is_accepted():
    events = await collect(ScriptedSource(line("ADDED", obj("a", "1")).rstrip(b"\n")))
    assert len(events) == 1


async def test_truncated_event_raises_stream_error():
    with pytest.raises(WatchStreamError):
        await collect(ScriptedSource(line("ADDED", obj("a", "1"))[:20]))


@pytest.mark.parametrize(
    "garbage", [b"not json\n", b"[1,2]\n", b'{"type":"ADDED"}\n', b'{"type":"WHAT","object":{}}\n'])
async def test_garbage_line_raises_stream_error(garbage):
    src = ScriptedSource(line("ADDED", obj("a", "1")), garbage, line("ADDED", obj("b", "2")))
    seen = []
    with pytest.raises(WatchStreamError):
        async for e in stream_events(src, clock=FakeClock(), inactivity_timeout=None):
            seen.append(e)
    assert [e.object["metadata"]["name"] for e in seen] == ["a"]


@pytest.mark.parametrize(
    "st, exc",
    [
        (status(410, "Expired", "too old resource version: 1 (500)"), Gone),
        (status(410, "Gone"), Gone),
        (status(500, "InternalError"), ServerError),
        (status(403, "Forbidden"), Forbidden),
        (status(429, "TooManyRequests", retryAfterSeconds=3), TooManyRequests),
    ],
)
async def test_error_events_are_raised_typed(st, exc):
    with pytest.raises(exc) as info:
        await collect(ScriptedSource(line("ADDED", obj("a", "1")), line("ERROR", st)))
    if exc is TooManyRequests:
        assert info.value.retry_after == 3


async def test_broken_connection_propagates():
    with pytest.raises(ConnectionFailed):
        await collect(ScriptedSource(line("ADDED", obj("a", "1")), ConnectionFailed("reset")))


async def test_inactivity_timeout_closes_half_open_stream():
    clock = FakeClock()
    src = ScriptedSource(line("ADDED", obj("a", "1")), HANG)
    task = asyncio.create_task(collect(src, clock, inactivity=150))
    await clock.advance(0)
    await clock.advance(149)
    assert not task.done()
    await clock.advance(1)
    with pytest.raises(WatchInactivityTimeout):
        await asyncio.wait_for(task, 1)


async def test_activity_resets_inactivity_timer():
    clock = FakeClock()
    received = []

    class Slow(ScriptedSource):
        async def read(self):
            await clock.sleep(100)
            return await super().read()

    src = Slow(line("ADDED", obj("a", "1")), line("ADDED", obj("b", "2")), line("ADDED", obj("c", "3")))

    async def run():
        async for e in stream_events(src, clock=clock, inactivity_timeout=150):
            received.append(e)

    task = asyncio.create_task(run())
    await clock.advance(0)
    for _ in range(4):
        await clock.advance(100)
    await asyncio.wait_for(task, 1)
    assert len(received) == 3
