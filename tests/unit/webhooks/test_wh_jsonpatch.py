"""The JSON Patch diff: applying diff(a, b) to a yields b (property test with a tiny RFC 6902 applier)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from webhooks.jsonpatch import diff, escape, unescape


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    tokens = [unescape(t) for t in path.split("/")[1:]]
    for token in tokens[:-1]:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc, tokens[-1]


def apply_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    """A deliberately small applier for add/remove/replace (the only ops diff() emits)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        if op["path"] == "":
            assert op["op"] == "replace"
            doc = copy.deepcopy(op["value"])
            continue
        parent, key = _parent(doc, op["path"])
        if isinstance(parent, list):
            index = len(parent) if key == "-" else int(key)
            if op["op"] == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                del parent[index]
            else:
                assert 0 <= index < len(parent)
                parent[index] = copy.deepcopy(op["value"])
        else:
            if op["op"] == "add":
                parent[key] = copy.deepcopy(op["value"])
            elif op["op"] == "remove":
                del parent[key]
            else:
                assert key in parent, f"replace of missing member {op['path']}"
                parent[key] = copy.deepcopy(op["value"])
    return doc


keys = st.text(alphabet=st.sampled_from("ab~/.-_x0"), min_size=0, max_size=4)
scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, width=16) | st.text(max_size=3)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


def _strict(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@settings(max_examples=400, deadline=None)
@given(json_values, json_values)
def test_applying_diff_yields_mutated(original: Any, mutated: Any) -> None:
    ops = diff(original, mutated)
    assert _strict(apply_patch(original, ops), mutated)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_diff_of_equal_documents_is_empty(doc: Any) -> None:
    assert diff(doc, copy.deepcopy(doc)) == []


def test_escapes_tilde_before_slash() -> None:
    assert escape("a~/b") == "a~0~1b"
    assert unescape(escape("~1/~0")) == "~1/~0"


def test_annotation_key_is_escaped() -> None:
    a = {"metadata": {"annotations": {}}}
    b = {"metadata": {"annotations": {"rollouts.kruise.io/in-progressing": "{}"}}}
    assert diff(a, b) == [
        {"op": "add", "path": "/metadata/annotations/rollouts.kruise.io~1in-progressing", "value": "{}"}
    ]


def test_equal_length_arrays_are_diffed_per_element_and_others_replaced() -> None:
    assert diff({"l": [1, 2]}, {"l": [1, 3]}) == [{"op": "replace", "path": "/l/1", "value": 3}]
    assert diff({"l": [1, 2]}, {"l": [1]}) == [{"op": "replace", "path": "/l", "value": [1]}]


def test_type_change_is_a_replace() -> None:
    assert diff({"a": 1}, {"a": True}) == [{"op": "replace", "path": "/a", "value": True}]
    assert diff({"a": 1}, {"a": 1.0}) == [{"op": "replace", "path": "/a", "value": 1.0}]
    assert diff([1], {"a": 1}) == [{"op": "replace", "path": "", "value": {"a": 1}}]
