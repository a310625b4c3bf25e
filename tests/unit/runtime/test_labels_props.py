"""Label selectors as a table, and work-queue invariants under random operation sequences."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.clock import FakeClock
from runtime.labels import InvalidSelector, matches, to_query
from runtime.workqueue import RateLimitingQueue

SEL = {"matchLabels": {"app": "x"},
       "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                            {"key": "canary", "operator": "DoesNotExist"}]}


@pytest.mark.parametrize("selector, labels, expected", [
    (None, {"a": "b"}, False),
    ({}, {"a": "b"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "c"}, False),
    (SEL, {"app": "x", "tier": "a"}, True),
    (SEL, {"app": "x", "tier": "c"}, False),
    (SEL, {"app": "x", "tier": "a", "canary": ""}, False),
    ({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["v"]}]}, {}, True),
    ({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, {"k": ""}, True),
])
def test_selector_table(selector, labels, expected):
    assert matches(selector, labels) is expected


def test_selector_query_and_errors():
    assert to_query(SEL) == "app=x,tier in (a,b),!canary"
    with pytest.raises(InvalidSelector, match="unknown operator"):
        matches({"matchExpressions": [{"key": "k", "operator": "Equals"}]}, {})
    with pytest.raises(InvalidSelector, match="at least one value"):
        matches({"matchExpressions": [{"key": "k", "operator": "In"}]}, {})


OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 4)),
    st.tuples(st.just("add_after"), st.integers(0, 4), st.floats(0, 5)),
    st.tuples(st.just("rate_limited"), st.integers(0, 4)),
    st.tuples(st.just("get")),
    st.tuples(st.just("done"), st.integers(0, 10)),
    st.tuples(st.just("step"), st.floats(0, 3)),
), max_size=60)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_queue_invariants_hold_under_random_operations(ops):
    async def run():
        clock = FakeClock()
        q = RateLimitingQueue(clock=clock)
        held: list[int] = []
        for op in ops:
            if op[0] == "add":
                q.add(op[1])
            elif op[0] == "add_after":
                q.add_after(op[1], op[2])
            elif op[0] == "rate_limited":
                q.add_rate_limited(op[1])
            elif op[0] == "get" and len(q):
                item = await q.get()
                assert item not in held, "one worker per key"
                held.append(item)
            elif op[0] == "done" and held:
                q.done(held.pop(op[1] % len(held)))
            elif op[0] == "step":
                await clock.advance(op[1])
            q.check_invariants()
            assert set(held) == set(q.processing)
        q.shutdown()
    asyncio.run(run())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@settings(deadline=None)
@given(JSON)
def test_freeze_thaw_round_trip(value):
    import copy
    import json as jsonlib

    from runtime.cache import freeze, thaw
    frozen = freeze(value)
    assert frozen == value and jsonlib.dumps(frozen) == jsonlib.dumps(value)
    thawed = thaw(frozen)
    assert thawed == value and copy.deepcopy(frozen) == value
    if isinstance(thawed, dict):
        assert type(thawed) is dict
    if isinstance(thawed, list):
        assert type(thawed) is list


@settings(deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3), max_size=6),
       st.lists(st.integers(1, 7), min_size=1, max_size=30))
def test_line_splitter_is_chunking_independent(docs, sizes):
    import json as jsonlib

    from runtime.kube.watch import LineSplitter
    data = b"".join(jsonlib.dumps(d).encode() + b"\n" for d in docs)
    splitter, lines, pos, i = LineSplitter(), [], 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        lines += splitter.feed(data[pos:pos + size])
        pos, i = pos + size, i + 1
    assert [jsonlib.loads(line) for line in lines] == docs and splitter.pending == b""
