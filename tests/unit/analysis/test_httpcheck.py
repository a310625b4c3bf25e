"""The HTTP check kind: template fields, JSON paths, and a real GET against a loopback server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from rollouts.analysis import httpcheck
from rollouts.analysis import template as t
from rollouts.analysis.prometheus import Answer
from rollouts.analysis.run import advance


def _http(**http: Any) -> dict[str, Any]:
    check: dict[str, Any] = {"name": "smoke", "http": {"url": "http://canary:8080/healthz", **http}}
    if http.get("jsonPath"):
        check["successCondition"] = "result < 0.05"
    return {"spec": {"checks": [check]}}


def test_status_only_check_needs_no_condition() -> None:
    c = t.parse_template(_http()).checks[0]
    assert c.http is not None and c.prometheus is None
    assert (c.http.expected_status, c.http.keys) == (200, ())


def test_json_path_and_placeholders() -> None:
    c = t.parse_template(_http(url="http://{{rollout}}-canary.{{namespace}}/stats", jsonPath="$.data.items[1].ratio",
                               expectedStatus=204)).checks[0]
    assert c.http is not None and c.http.keys == ("data", "items", 1, "ratio") and c.http.expected_status == 204
    assert c.http.render({"rollout": "ro", "namespace": "ns"}) == "http://ro-canary.ns/stats"


@pytest.mark.parametrize(("http", "field", "says"), [
    ({"url": "canary/healthz"}, "spec.checks[0].http.url", "http(s) URL"),
    ({"url": "http://{{pod}}/x"}, "spec.checks[0].http.url", "unknown placeholder {{pod}}"),
    ({"url": "http://c", "jsonPath": "$.a..b"}, "spec.checks[0].http.jsonPath", "cannot read"),
    ({"url": "http://c", "expectedStatus": "200"}, "spec.checks[0].http.expectedStatus", "integer"),
])
def test_bad_http_checks_name_the_field(http: dict[str, Any], field: str, says: str) -> None:
    obj = {"spec": {"checks": [{"name": "smoke", "http": http}]}}
    with pytest.raises(t.TemplateError) as info:
        t.parse_template(obj)
    assert info.value.field == field and says in str(info.value)


def test_conditions_without_a_json_path_are_refused() -> None:
    obj = {"spec": {"checks": [{"name": "smoke", "http": {"url": "http://c"}, "successCondition": "result < 1"}]}}
    with pytest.raises(t.TemplateError, match=r"spec.checks\[0\].http.jsonPath: is needed for conditions"):
        t.parse_template(obj)


@pytest.mark.parametrize(("body", "answer"), [
    ({"a": {"b": [1, {"c": "0.5"}]}}, Answer(0.5)),
    ({"a": {"b": [1]}}, Answer()),
    ({"a": None}, Answer()),
])
def test_read_path(body: Any, answer: Answer) -> None:
    assert httpcheck.read_path(body, ("a", "b", 1, "c"), "$.a.b[1].c") == answer


def test_read_path_refuses_what_is_not_a_number() -> None:
    assert "is 'high', not a number" in httpcheck.read_path({"x": "high"}, ("x",), "$.x").error
    assert "is True, not a number" in httpcheck.read_path({"x": True}, ("x",), "$.x").error


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"data": {"errorRate": 0.01}})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_fetch_reads_status_and_json(server: str) -> None:
    assert await httpcheck.fetch(f"{server}/ok", 200, ("data", "errorRate"), "$.data.errorRate", 5) == Answer(0.01)
    assert await httpcheck.fetch(f"{server}/ok", 200, (), "", 5) == Answer(200.0)
    broken = await httpcheck.fetch(f"{server}/broken", 200, (), "", 5)
    assert broken.failure.endswith("/broken answered HTTP 503, expected 200") and not broken.error


async def test_an_unexpected_status_fails_the_check_and_says_why(server: str) -> None:
    spec = t.parse_template({"spec": {"checks": [{"name": "smoke", "http": {"url": server + "/broken"}}]}})

    async def no_query(address: str, promql: str, seconds: float) -> Answer:
        raise AssertionError("not a Prometheus check")

    d, st = await advance(spec, {}, {}, datetime(2026, 1, 1, tzinfo=UTC), no_query)
    assert (d.verdict, d.action) == (t.FAIL, t.ROLLBACK)
    assert "smoke: fail, value no data (" in d.message and "answered HTTP 503, expected 200" in d.message
    spec = t.parse_template({"spec": {"checks": [{"name": "smoke", "http": {"url": server + "/ok"}, "count": 1}]}})
    d, st = await advance(spec, {}, {}, datetime(2026, 1, 1, tzinfo=UTC), no_query)
    assert (d.verdict, d.message) == (t.PASS, "smoke: pass, value 200, 1/1 measurements")
