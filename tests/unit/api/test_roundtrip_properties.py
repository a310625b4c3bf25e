"""Issue 10 item 3: decoding at the edge is lossless — ``to_dict(from_dict(x)) == x`` for every served kind.

The domain now decodes our own objects once and works on the models, so anything the models drop or
reorder would change what we write back. Documents are generated *from the model declarations*
(every wire field, nested structs, int-or-string values, zero values written explicitly) with
unknown keys sprinkled at every level, so a field added to a model is covered without editing this
test. The one documented exception is ``null`` for a known field: Go reads it as "absent", so it is
not generated here (tests/unit/api/test_samples.py pins that case).

The plan hash moved from hand-written Go field tables to the model's declarations; the old tables
are kept as an oracle (``tests/unit/rollout/legacy_hash_oracle.py``) and must give the same bytes.
"""

from __future__ import annotations

import copy
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollouts.api import KINDS, from_dict, load, to_dict
from rollouts.api.intstr import IntOrString
from rollouts.api.v1beta1.rollout import BlueGreenStrategy, CanaryStrategy
from rollouts.api.wire import is_model, unwrap_optional, wire_fields
from rollouts.rollout.hashing import go_json, rollout_plan_hash, strategy_for_hash
from tests.unit.rollout import legacy_hash_oracle as legacy

from .conftest import load_sample, sample_names

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalar = st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=6)
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=2) | st.dictionaries(st.text(max_size=5), c,
                                                                                            max_size=2), max_leaves=5)
unknown_key = st.sampled_from(["xFutureField", "zz", "x-vendor", "newThing"])


def _value(tp: Any, depth: int) -> st.SearchStrategy[Any]:
    """JSON values of model type ``tp`` (never ``null``; zero values included)."""
    tp, _ = unwrap_optional(tp)
    if is_model(tp):
        return document(tp, depth + 1)
    if tp is IntOrString:
        return st.integers(-3, 300) | st.sampled_from(["0%", "5%", "50%", "100%", "3", "abc"])
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-5, 2**31 - 1)
    if tp is str:
        return st.sampled_from(["", "a", "Partition", "<&>", "ü"]) | st.text(max_size=4)
    if tp is Any:
        return json_value
    origin = typing.get_origin(tp)
    if origin is list:
        return st.lists(_value(typing.get_args(tp)[0], depth), max_size=2 if depth < 3 else 0)
    if origin is dict:
        return st.dictionaries(st.text(max_size=4), _value(typing.get_args(tp)[1], depth), max_size=2)
    raise AssertionError(f"no generator for {tp!r}: extend _value")


def document(cls: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Wire documents of model ``cls``: any subset of its fields, plus maybe one unknown key."""
    fields = {f.meta.name: _value(f.type, depth) for f in wire_fields(cls)}
    known = st.fixed_dictionaries({}, optional=fields)
    if depth > 5:
        fields = {k: v for k, v in fields.items() if not isinstance(v, st.SearchStrategy) or True}
    known = st.fixed_dictionaries({}, optional=fields)
    extra = st.dictionaries(unknown_key, json_value, max_size=1)
    return st.builds(lambda k, x: {**x, **k}, known, extra)


def metadata_doc() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"name": st.just("r"), "namespace": st.just("ns")}, optional={
        "annotations": st.dictionaries(st.sampled_from(["a", "rollouts.kruise.io/hash"]), st.text(max_size=3),
                                       max_size=2),
        "generation": st.integers(1, 9), "resourceVersion": st.just("12"), "uid": st.just("u"),
        "managedFields": st.lists(json_value, max_size=1)})


def top_level(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """A whole object of a served kind: its apiVersion/kind, raw metadata, the rest from the model."""
    body = document(cls)
    head = st.fixed_dictionaries({"apiVersion": st.just(cls.API_VERSION), "kind": st.just(cls.KIND),  # type: ignore[attr-defined]
                                  "metadata": metadata_doc()})
    return st.builds(lambda b, h: {**b, **h}, body, head)


KIND_CLASSES = sorted(set(KINDS.values()), key=lambda c: f"{c.__module__}.{c.__name__}")


@pytest.mark.parametrize("cls", KIND_CLASSES, ids=lambda c: f"{c.__module__.rsplit('.', 1)[-1]}.{c.__name__}")
@SETTINGS
@given(data=st.data())
def test_to_dict_of_from_dict_is_the_identity(cls: type, data: st.DataObject) -> None:
    doc = data.draw(top_level(cls))
    original = copy.deepcopy(doc)
    out = to_dict(from_dict(cls, doc))
    assert doc == original  # decoding never mutates its input
    assert out == doc


@pytest.mark.parametrize("name", [n for n in sample_names() if not n.startswith("invalid_")])
def test_every_sample_round_trips_with_unknown_fields_at_every_level(name: str) -> None:
    doc = load_sample(name)
    _sprinkle(doc)
    assert to_dict(load(copy.deepcopy(doc))) == doc


def _sprinkle(node: Any) -> None:
    """Add an unknown key to every object of the document (a newer client's fields); string maps
    (labels, annotations) get a string entry, which is what a map can hold."""
    if isinstance(node, dict):
        string_map = bool(node) and all(isinstance(v, str) for v in node.values())
        for v in list(node.values()):
            _sprinkle(v)
        node["xFromTheFuture"] = "kept" if string_map else {"kept": [1, "two"]}
    elif isinstance(node, list):
        for v in node:
            _sprinkle(v)


@SETTINGS
@given(strategy=document(CanaryStrategy))
def test_model_plan_hash_equals_the_legacy_dict_tables(strategy: dict[str, Any]) -> None:
    assert go_json(strategy_for_hash(strategy)) == legacy.go_json(legacy.strategy_for_hash(strategy))
    rollout = {"spec": {"strategy": {"canary": strategy}}}
    assert rollout_plan_hash(rollout) == legacy.rollout_plan_hash(rollout)


@SETTINGS
@given(strategy=document(BlueGreenStrategy))
def test_model_plan_hash_equals_the_legacy_tables_for_blue_green(strategy: dict[str, Any]) -> None:
    assert (go_json(strategy_for_hash(strategy, blue_green=True))
            == legacy.go_json(legacy.strategy_for_hash(strategy, blue_green=True)))
    rollout = {"spec": {"strategy": {"blueGreen": strategy}}}
    assert rollout_plan_hash(rollout) == legacy.rollout_plan_hash(rollout)
