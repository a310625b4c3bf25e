"""nginx.lua agrees with an independent Python rendering of upstream's nginx rules (once the provider's code)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from rollouts.api import dump, keys
from rollouts.api.nginx_matches import REGULAR_EXPRESSION
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.lua import LuaRunner, LuaScript
from rollouts.lua.contract import ingress_annotations, ingress_input
from rollouts.lua.scripts import ingress_script

#: Keys the script clears before writing the step's values (so a step without matches drops them).
_CLEARED = (
    keys.NGINX_CANARY_BY_COOKIE_ANNOTATION, keys.NGINX_CANARY_BY_HEADER_ANNOTATION,
    keys.NGINX_CANARY_BY_HEADER_PATTERN_ANNOTATION, keys.NGINX_CANARY_BY_HEADER_VALUE_ANNOTATION,
    keys.NGINX_CANARY_WEIGHT_ANNOTATION,
)



def canary_annotations(current: Mapping[str, str], weight: int | None, matches: list[HttpRouteMatch]) -> dict:
    """nginx.lua in Python, line for line: the independent oracle this test checks the script against.

    ``weight`` None leaves ``canary-weight`` unset (upstream passes "-1"). For each match only its
    first header counts; the header named ``canary-by-cookie`` means a cookie.
    """
    out = dict(current)
    out[keys.NGINX_CANARY_ANNOTATION] = "true"
    for key in _CLEARED:
        out.pop(key, None)
    if weight is not None:
        out[keys.NGINX_CANARY_WEIGHT_ANNOTATION] = str(weight)
    for match in matches:
        if not match.headers:
            continue
        header = match.headers[0]
        if header.name == keys.CANARY_BY_COOKIE_HEADER:
            out[keys.NGINX_CANARY_BY_COOKIE_ANNOTATION] = header.value
            continue
        out[keys.NGINX_CANARY_BY_HEADER_ANNOTATION] = header.name
        key = (keys.NGINX_CANARY_BY_HEADER_PATTERN_ANNOTATION if header.type == REGULAR_EXPRESSION
               else keys.NGINX_CANARY_BY_HEADER_VALUE_ANNOTATION)
        out[key] = header.value
    return out


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
