"""KubeClient against a scripted HTTP server (aiohttp.web on 127.0.0.1)."""

import asyncio
import json

import pytest
from aiohttp import web
from rt_fakes import line, obj, status

from runtime.clock import FakeClock
from runtime.kube import (
    AlreadyExists,
    ApiError,
    BadRequest,
    ClientSettings,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeClient,
    NotFound,
    ServerError,
    Timeout,
    TooManyRequests,
    Unauthorized,
)
from runtime.kube.resources import CONFIGMAPS, DEPLOYMENTS, NODES


class Script:
    """Routes (method, path) to a list of canned responses, consumed in order; records requests."""

    def __init__(self):
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[dict] = []

    def on(self, method, path, *responses):
        self.routes.setdefault((method, path), []).extend(responses)

    async def handle(self, request: web.Request):
        body = await request.read()
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "headers": dict(request.headers), "body": json.loads(body) if body else None})
        queue = self.routes.get((request.method, request.path))
        if not queue:
            return web.json_response(status(404, "NotFound"), status=404)
        resp = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(resp):
            return await resp(request)
        code, payload, *headers = resp
        return web.json_response(payload, status=code, headers=headers[0] if headers else None)


@pytest.fixture
async def server():
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    script.url = f"http://127.0.0.1:{port}"
    yield script
    await runner.cleanup()


@pytest.fixture
async def client(server):
    c = await KubeClient.for_server(server.url, headers={"Authorization": "Bearer t"},
                                    settings=ClientSettings(qps=1000, burst=1000))
    yield c
    await c.aclose()


CM = "/api/v1/namespaces/ns/configmaps"


async def test_get_sends_auth_and_returns_json(server, client):
    server.on("GET", f"{CM}/a", (200, obj("a", "1", "ns")))
    got = await client.get(CONFIGMAPS, "a", "ns")
    assert got["metadata"]["name"] == "a"
    assert server.requests[0]["headers"]["Authorization"] == "Bearer t"


@pytest.mark.parametrize(
    "code, reason, exc",
    [
        (400, "BadRequest", BadRequest), (401, "Unauthorized", Unauthorized), (403, "Forbidden", Forbidden),
        (404, "NotFound", NotFound), (409, "Conflict", Conflict), (409, "AlreadyExists", AlreadyExists),
        (410, "Expired", Gone), (422, "Invalid", Invalid), (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError), (504, "Timeout", Timeout), (418, "Teapot", ApiError),
    ],
)
async def test_every_non_2xx_is_a_typed_error(server, client, code, reason, exc):
    server.on("GET", f"{CM}/a", (code, status(code, reason, "boom")))
    with pytest.raises(exc) as info:
        await client.get(CONFIGMAPS, "a", "ns")
    assert info.value.status == code and info.value.message == "boom"
    if exc is Conflict:
        assert not isinstance(info.value, AlreadyExists)


async def test_non_status_error_body(server, client):
    async def plain(request):
        return web.Response(status=502, text="bad gateway")
    server.on("GET", f"{CM}/a", plain)
    with pytest.raises(ServerError) as info:
        await client.get(CONFIGMAPS, "a", "ns")
    assert "bad gateway" in info.value.message


async def test_invalid_exposes_causes(server, client):
    server.on("POST", CM, (422, status(422, "Invalid", "bad", causes=[
        {"field": "spec.replicas", "message": "must be >= 0", "reason": "FieldValueInvalid"}])))
    with pytest.raises(Invalid) as info:
        await client.create(CONFIGMAPS, obj("a", "", "ns"))
    assert info.value.causes[0].field == "spec.replicas"


async def test_429_with_retry_after_is_retried_on_the_clock(server):
    clock = FakeClock()
    c = await KubeClient.for_server(server.url, clock=clock, settings=ClientSettings(max_retries=2))
    server.on("GET", f"{CM}/a", (429, status(429, "TooManyRequests"), {"Retry-After": "7"}),
              (200, obj("a", "1", "ns")))
    task = asyncio.create_task(c.get(CONFIGMAPS, "a", "ns"))
    for _ in range(100):
        if clock.sleepers:
            break
        await asyncio.sleep(0.01)
    assert clock.next_deadline() == pytest.approx(clock.monotonic() + 7)
    clock.step(7)
    assert (await asyncio.wait_for(task, 5))["metadata"]["name"] == "a"
    await c.aclose()


async def test_429_gives_up_after_max_retries(server):
    c = await KubeClient.for_server(server.url, settings=ClientSettings(max_retries=0))
    server.on("GET", f"{CM}/a", (429, status(429, "TooManyRequests"), {"Retry-After": "1"}))
    with pytest.raises(TooManyRequests) as info:
        await c.get(CONFIGMAPS, "a", "ns")
    assert info.value.retry_after == 1.0
    await c.aclose()


async def test_list_merges_pages_and_fills_kind(server, client):
    server.on("GET", "/apis/apps/v1/deployments",
              (200, {"items": [{"metadata": {"name": "a"}}], "metadata": {"resourceVersion": "5", "continue": "t1"}}),
              (200, {"items": [{"metadata": {"name": "b"}}], "metadata": {"resourceVersion": "5"}}))
    result = await client.list(DEPLOYMENTS, limit=1)
    assert [i["metadata"]["name"] for i in result["items"]] == ["a", "b"]
    assert result["items"][0]["kind"] == "Deployment" and result["items"][0]["apiVersion"] == "apps/v1"
    assert result["metadata"]["resourceVersion"] == "5"
    assert server.requests[1]["query"] == {"limit": "1", "continue": "t1"}


async def test_list_restarts_unpaginated_when_continue_expires(server, client):
    server.on("GET", "/api/v1/nodes",
              (200, {"items": [{"metadata": {"name": "a"}}], "metadata": {"resourceVersion": "5", "continue": "t"}}),
              (410, status(410, "Expired")),
              (200, {"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}],
                     "metadata": {"resourceVersion": "9"}}))
    result = await client.list(NODES, limit=1)
    assert [i["metadata"]["name"] for i in result["items"]] == ["a", "b"]
    assert result["metadata"]["resourceVersion"] == "9"
    assert "limit" not in server.requests[2]["query"]


@pytest.mark.parametrize("ptype, ctype", [
    ("merge", "application/merge-patch+json"), ("json", "application/json-patch+json"),
    ("strategic", "application/strategic-merge-patch+json"), ("apply", "application/apply-patch+yaml")])
async def test_patch_content_types(server, client, ptype, ctype):
    server.on("PATCH", f"{CM}/a", (200, obj("a", "2", "ns")))
    await client.patch(CONFIGMAPS, "a", {"data": {}}, "ns", patch_type=ptype, field_manager="me", force=True)
    req = server.requests[-1]
    assert req["headers"]["Content-Type"] == ctype
    if ptype == "apply":
        assert req["query"] == {"fieldManager": "me", "force": "true"}


async def test_status_subresource_and_delete_options(server, client):
    server.on("PATCH", f"{CM}/a/status", (200, obj("a", "2", "ns")))
    server.on("DELETE", f"{CM}/a", (200, status(200, "", "deleted")))
    server.on("PUT", f"{CM}/a", (200, obj("a", "3", "ns")))
    await client.patch_status(CONFIGMAPS, "a", {"status": {}}, "ns")
    await client.update(CONFIGMAPS, obj("a", "2", "ns"), dry_run=True)
    assert server.requests[-1]["query"] == {"dryRun": "All"}
    await client.delete(CONFIGMAPS, "a", "ns", preconditions={"uid": "u"}, propagation_policy="Foreground")
    assert server.requests[-1]["body"]["preconditions"] == {"uid": "u"}
    assert server.requests[-1]["body"]["propagationPolicy"] == "Foreground"


async def test_request_hooks_count_verbs_and_codes(server, client):
    seen = []
    client.request_hooks.append(lambda verb, code, secs: seen.append((verb, code)))
    server.on("GET", f"{CM}/a", (404, status(404, "NotFound")))
    with pytest.raises(NotFound):
        await client.get(CONFIGMAPS, "a", "ns")
    assert seen == [("GET", "404")]


async def test_throttle_hooks_see_each_requests_wait_for_the_qps_budget(server):
    """One token (burst 1) at 1 request/s of a fake clock: the first request waits 0, the second a second."""
    clock = FakeClock()
    c = await KubeClient.for_server(server.url, settings=ClientSettings(qps=1, burst=1), clock=clock)
    waits = []
    c.throttle_hooks.append(lambda verb, secs: waits.append((verb, secs)))
    server.on("GET", f"{CM}/a", (200, obj("a", "1", "ns")))
    try:
        await c.get(CONFIGMAPS, "a", "ns")
        second = asyncio.create_task(c.get(CONFIGMAPS, "a", "ns"))
        await asyncio.sleep(0.05)
        assert waits == [("GET", 0.0)] and not second.done()
        await clock.advance(1.0)
        await second
        assert waits == [("GET", 0.0), ("GET", pytest.approx(1.0))]
    finally:
        await c.aclose()


async def test_watch_over_http_with_error_410(server, client):
    async def stream(request):
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(line("ADDED", obj("a", "1", "ns")))
        await resp.write(line("ERROR", status(410, "Expired", "too old")))
        return resp
    server.on("GET", CM, stream)
    got = []
    with pytest.raises(Gone):
        async for ev in client.watch(CONFIGMAPS, "ns", resource_version="1"):
            got.append(ev)
    assert len(got) == 1
    q = server.requests[-1]["query"]
    assert q["watch"] == "true" and q["allowWatchBookmarks"] == "true" and q["resourceVersion"] == "1"


async def test_watch_half_open_connection_is_closed_by_inactivity(server):
    clock = FakeClock()
    c = await KubeClient.for_server(server.url, clock=clock, settings=ClientSettings(watch_inactivity_timeout=5))
    hold = asyncio.Event()

    async def stream(request):
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(line("ADDED", obj("a", "1", "ns")))
        await hold.wait()  # never sends anything again
        return resp
    server.on("GET", CM, stream)
    got = []

    async def consume():
        async for ev in c.watch(CONFIGMAPS, "ns"):
            got.append(ev)
    task = asyncio.create_task(consume())
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.01)
    clock.step(5)
    from runtime.kube.watch import WatchInactivityTimeout
    with pytest.raises(WatchInactivityTimeout):
        await asyncio.wait_for(task, 5)
    hold.set()
    await c.aclose()


async def test_connection_refused_is_connection_failed():
    from runtime.kube import ConnectionFailed
    c = await KubeClient.for_server("http://127.0.0.1:1")
    with pytest.raises(ConnectionFailed):
        await c.get(CONFIGMAPS, "a", "ns")
    await c.aclose()


async def test_503_with_retry_after_is_retried_but_plain_503_is_not(server):
    clock = FakeClock()
    c = await KubeClient.for_server(server.url, clock=clock)
    server.on("GET", f"{CM}/a", (503, status(503, "ServiceUnavailable"), {"Retry-After": "1"}),
              (200, obj("a", "1", "ns")))
    task = asyncio.create_task(c.get(CONFIGMAPS, "a", "ns"))
    for _ in range(100):
        if clock.sleepers:
            break
        await asyncio.sleep(0.01)
    clock.step(1)
    assert (await asyncio.wait_for(task, 5))["metadata"]["name"] == "a"
    server.on("GET", f"{CM}/b", (503, status(503, "ServiceUnavailable")))
    with pytest.raises(ServerError):
        await c.get(CONFIGMAPS, "b", "ns")
    await c.aclose()
