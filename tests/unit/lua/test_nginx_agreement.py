"""nginx.lua and the Python nginx provider (rollouts/trafficrouting/nginx.py) compute the same annotations."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.api import dump
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.lua import LuaRunner, LuaScript
from rollouts.lua.contract import ingress_annotations, ingress_input
from rollouts.lua.scripts import ingress_script
from rollouts.trafficrouting.nginx import canary_annotations

P = "nginx.ingress.kubernetes.io/"
H = {"name": "user", "value": "a", "type": "Exact"}
R = {"name": "user", "value": "a.*", "type": "RegularExpression"}
C = {"name": "canary-by-cookie", "value": "always"}
OLD = {P + "canary": "true", P + "canary-by-header": "x", P + "canary-by-header-pattern": "y",
       P + "canary-by-cookie": "z", P + "canary-weight": "5", "kubernetes.io/ingress.class": "nginx"}

TABLE: list[tuple[dict[str, str], int | None, list[dict[str, Any]]]] = [
    ({}, 0, []),
    ({}, None, []),
    ({"kubernetes.io/ingress.class": "nginx"}, 40, []),
    (OLD, 100, []),
    (OLD, None, [{"headers": [H]}]),
    ({}, 20, [{"headers": [R]}]),
    ({}, None, [{"headers": [H]}, {"headers": [C]}]),
    ({}, 30, [{"headers": [C]}]),
    ({}, None, [{"headers": [H, R]}]),          # only the first header of a match counts
    ({}, 10, [{"path": {"type": "PathPrefix", "value": "/a"}}]),  # no header: skipped by both
    (OLD, 0, [{"headers": [R]}, {"headers": [H]}]),  # later matches overwrite earlier ones
]


@pytest.mark.parametrize(("current", "weight", "raw_matches"), TABLE)
def test_lua_and_python_agree(current: dict[str, str], weight: int | None, raw_matches: list[dict[str, Any]]) -> None:
    matches = [from_dict(HttpRouteMatch, m) for m in raw_matches]
    script = ingress_script("", None, namespace="kruise-rollout")
    obj = ingress_input(annotations=current, weight=weight, matches=[dump(m) for m in matches],
                        canary_service="echoserver-canary")
    assert isinstance(script, LuaScript)
    got = ingress_annotations(LuaRunner().run(script, obj))
    assert got == canary_annotations(current, weight, matches)
