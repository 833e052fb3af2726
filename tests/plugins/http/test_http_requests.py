"""End to end: HTTP requests through iii-http to an SDK worker's handlers (mode A)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from iii_sdk.errors import InvocationError

Serve = Callable[..., AbstractAsyncContextManager[Any]]


async def test_json_in_and_out_with_the_exact_payload(serve: Serve) -> None:
    seen: list[dict[str, Any]] = []

    async def create(req: dict[str, Any]) -> dict[str, Any]:
        raw = await req["request_body"].read_all()
        seen.append({k: v for k, v in req.items() if k not in ("request_body", "response")})
        return {"status_code": 201, "body": {"echo": req["body"], "raw": raw.decode()}}

    async with serve() as env:
        await env.route("/test/items", create, method="POST")
        async with env.session.post(
            env.url("test/items?x=1"), json={"name": "a", "n": [1, 2]}, headers={"X-Trace": "T"}
        ) as resp:
            assert resp.status == 201
            assert resp.headers["Content-Type"] == "application/json"
            data = await resp.json()
    assert data["echo"] == {"name": "a", "n": [1, 2]}
    assert data["raw"] == '{"name": "a", "n": [1, 2]}'
    payload = seen[0]
    assert payload["path"] == "/test/items"
    assert payload["method"] == "POST"
    assert payload["trigger"] == {"type": "http", "path": "/test/items", "method": "POST"}
    assert payload["query_params"] == {"x": "1"}
    assert payload["path_params"] == {}
    assert payload["headers"]["x-trace"] == "T"
    assert payload["headers"]["content-type"] == "application/json"


async def test_path_params_and_query_params_are_strings(serve: Serve) -> None:
    async def item(req: dict[str, Any]) -> dict[str, Any]:
        return {"body": {"params": req["path_params"], "query": req["query_params"]}}

    async with serve() as env:
        await env.route("test/items/:id", item)
        async with env.session.get(
            env.url("/test/items/abc123?q=hello%20world&limit=10&limit=20&plus=a+b")
        ) as resp:
            assert resp.status == 200
            data = await resp.json()
        async with env.session.get(env.url("/test/items/")) as missing:
            assert missing.status == 404
    assert data["params"] == {"id": "abc123"}
    assert data["query"] == {"q": "hello world", "limit": "20", "plus": "a b"}


async def test_custom_status_content_type_and_header_list(serve: Serve) -> None:
    xml = '<?xml version="1.0"?><feed><a>1</a></feed>'

    async with serve() as env:
        await env.route("/xml", lambda req: {"headers": {"Content-Type": "text/xml"}, "body": xml})
        await env.route(
            "/missing", lambda req: {"status_code": 404, "body": {"error": "Not found"}}
        )
        await env.route(
            "/listed",
            lambda req: {"headers": ["X-A: 1", "Set-Cookie: a=1", "Set-Cookie: b=2"], "body": {}},
        )
        await env.route("/bare", lambda req: "just text")
        async with env.session.get(env.url("/xml")) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/xml"
            assert await resp.text() == xml
        async with env.session.get(env.url("/missing")) as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": "Not found"}
        async with env.session.get(env.url("/listed")) as resp:
            assert resp.headers["X-A"] == "1"
            assert resp.headers.getall("Set-Cookie") == ["a=1", "b=2"]
        async with env.session.get(env.url("/bare")) as resp:
            assert resp.status == 200
            assert await resp.read() == b"{}"


async def test_404_before_registration_and_after_unregister_405_on_method(serve: Serve) -> None:
    async with serve() as env:
        async with env.session.get(env.url("/health")) as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": {"code": "NOT_FOUND", "message": "Not Found"}}
        handle = await env.route("/health", lambda req: {"body": {"ok": True}})
        async with env.session.get(env.url("/health")) as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": True}
        async with env.session.post(env.url("/health")) as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "GET"
            assert await resp.json() == {
                "error": {
                    "code": "METHOD_NOT_ALLOWED",
                    "message": "Method Not Allowed (allowed: GET)",
                }
            }
        handle.unregister()
        await env.wait_route("GET", "/health", handle.id, present=False)
        async with env.session.get(env.url("/health")) as resp:
            assert resp.status == 404


async def test_route_conflict_reaches_the_registrant_and_first_keeps_serving(
    serve: Serve,
) -> None:
    async with serve() as env:
        await env.route("/c/:listId/:userId", lambda req: {"body": req["path_params"]})
        env.worker.register_function("test::second", lambda req: {"body": "second"})
        second = env.worker.register_trigger(
            "http", "test::second", {"api_path": "/c/:userId/:listId", "http_method": "GET"}
        )
        error = await asyncio.wait_for(second.rejected(), 5)
        assert error.code == "trigger_registration_failed"
        assert "conflicts with already-registered route" in error.message
        assert "GET c/:userId/:listId" in error.message
        async with env.session.get(env.url("/c/L/U")) as resp:
            assert await resp.json() == {"listId": "L", "userId": "U"}


async def test_same_route_registered_again_replaces(serve: Serve) -> None:
    async with serve() as env:
        first = await env.route("/v", lambda req: {"body": 1}, function_id="test::v1")
        await env.route("/v", lambda req: {"body": 2}, function_id="test::v2")
        async with env.session.get(env.url("/v")) as resp:
            assert await resp.json() == 2
        first.unregister()  # the replaced trigger's unregister leaves the newer route alone
        # Frames apply in order: once this later route serves, the unregister has been applied.
        await env.route("/probe", lambda req: {"body": "p"})
        async with env.session.get(env.url("/v")) as resp:
            assert await resp.json() == 2


async def test_condition_false_true_and_failing(serve: Serve) -> None:
    async def gate(req: dict[str, Any]) -> Any:
        assert "request_body" not in req and "response" not in req
        mode = req["query_params"].get("mode")
        if mode == "boom":
            raise InvocationError("GATE_FAILED", "gate broke")
        return mode != "deny"

    async with serve() as env:
        env.worker.register_function("test::gate", gate)
        await env.route("/guarded", lambda req: {"body": "in"}, condition_function_id="test::gate")
        async with env.session.get(env.url("/guarded?mode=deny")) as resp:
            assert resp.status == 422
            assert await resp.json() == {
                "error": {"code": "CONDITION_NOT_MET", "message": "Request condition not met"},
                "skipped": True,
            }
        async with env.session.get(env.url("/guarded?mode=allow")) as resp:
            assert resp.status == 200
            assert await resp.json() == "in"
        async with env.session.get(env.url("/guarded?mode=boom")) as resp:
            assert resp.status == 500
            error = (await resp.json())["error"]
            assert (error["code"], error["message"]) == ("GATE_FAILED", "gate broke")


async def test_handler_error_gives_500_envelope(serve: Serve) -> None:
    def fail(req: dict[str, Any]) -> Any:
        raise InvocationError("USER_ERROR", "no such user")

    async with serve() as env:
        await env.route("/fail", fail)
        async with env.session.get(env.url("/fail")) as resp:
            assert resp.status == 500
            error = (await resp.json())["error"]
    assert error["code"] == "USER_ERROR"
    assert error["message"] == "no such user"
    assert int(error["error_id"], 16) >= 0


async def test_global_and_route_middleware(serve: Serve) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def auth(req: dict[str, Any]) -> dict[str, Any]:
        calls.append(("auth", req))
        if req["request"]["headers"].get("authorization") != "Bearer ok":
            return {
                "action": "respond",
                "response": {
                    "status_code": 401,
                    "body": {"error": "denied"},
                    "headers": {"X-M": "1"},
                },
            }
        return {"action": "continue"}

    def audit(req: dict[str, Any]) -> dict[str, Any]:
        calls.append(("audit", req))
        return {"action": "continue"}

    middleware = [{"function_id": "test::auth", "priority": 1}]
    async with serve(middleware=middleware) as env:
        env.worker.register_function("test::auth", auth)
        env.worker.register_function("test::audit", audit)
        await env.route(
            "/mw/:id",
            lambda req: {"body": "handled"},
            method="POST",
            middleware_function_ids=["test::audit"],
        )
        async with env.session.post(env.url("/mw/7?k=v"), json={"x": 1}) as resp:
            assert resp.status == 401
            assert resp.headers["X-M"] == "1"
            assert await resp.json() == {"error": "denied"}
        assert [name for name, _ in calls] == ["auth"]
        async with env.session.post(
            env.url("/mw/7?k=v"), json={"x": 1}, headers={"Authorization": "Bearer ok"}
        ) as resp:
            assert resp.status == 200
            assert await resp.json() == "handled"
    assert [name for name, _ in calls] == ["auth", "auth", "audit"]
    sent = calls[-1][1]
    assert sent["phase"] == "preHandler"
    assert sent["context"] == {}
    assert sent["request"]["path_params"] == {"id": "7"}
    assert sent["request"]["query_params"] == {"k": "v"}
    assert sent["request"]["method"] == "POST"
    assert "body" not in sent["request"] and "path" not in sent["request"]


async def test_slow_handler_times_out_with_empty_504(serve: Serve) -> None:
    started = asyncio.Event()

    async def slow(req: dict[str, Any]) -> Any:
        started.set()
        await asyncio.Event().wait()

    async with serve(default_timeout=300) as env:
        await env.route("/slow", slow)
        async with env.session.get(env.url("/slow")) as resp:
            assert resp.status == 504
            assert await resp.read() == b""
        assert started.is_set()


async def test_concurrency_limit_serialises_requests(serve: Serve) -> None:
    inflight = 0
    peak = 0

    async def busy(req: dict[str, Any]) -> Any:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        for _ in range(20):
            await asyncio.sleep(0)
        inflight -= 1
        return {"body": "ok"}

    async def get(url: str) -> int:
        async with env.session.get(url) as resp:
            return resp.status

    async with serve(concurrency_request_limit=1) as env:
        await env.route("/busy", busy)
        statuses = await asyncio.gather(*(get(env.url("/busy")) for _ in range(6)))
    assert statuses == [200] * 6
    assert peak == 1


async def test_cors_preflight_and_response_headers(serve: Serve) -> None:
    async with serve() as env:
        await env.route("/open", lambda req: {"body": "x"}, method="POST")
        preflight = {
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-custom",
        }
        async with env.session.options(env.url("/open"), headers=preflight) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert resp.headers["Access-Control-Allow-Headers"] == "content-type,x-custom"
        async with env.session.post(
            env.url("/open"), headers={"Origin": "https://app.example"}
        ) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*"

    cors = {"allowed_origins": ["https://good.example"], "allowed_methods": ["GET", "POST"]}
    async with serve(cors=cors) as env:
        await env.route("/open", lambda req: {"body": "x"}, method="POST")
        good = {**preflight, "Origin": "https://good.example"}
        async with env.session.options(env.url("/open"), headers=good) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "https://good.example"
            assert resp.headers["Access-Control-Allow-Methods"] == "GET, POST"
        async with env.session.options(env.url("/open"), headers=preflight) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers
        async with env.session.post(
            env.url("/open"), headers={"Origin": "https://good.example"}
        ) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "https://good.example"


async def test_head_falls_back_to_get_and_urls_name_the_bound_port(serve: Serve) -> None:
    async with serve() as env:
        assert env.http.port not in (None, 0)
        assert env.http.urls() == {"http": f"http://127.0.0.1:{env.http.port}"}
        await env.route("/doc", lambda req: {"headers": {"X-Method": req["method"]}, "body": "b"})
        async with env.session.head(env.url("/doc")) as resp:
            assert resp.status == 200
            assert resp.headers["X-Method"] == "HEAD"
            assert await resp.read() == b""


async def test_trigger_metadata_reaches_the_handler(serve: Serve) -> None:
    def tagged(req: dict[str, Any], metadata: Any = None) -> dict[str, Any]:
        return {"body": {"metadata": metadata}}

    async with serve() as env:
        env.worker.register_function("test::tagged", tagged)
        handle = env.worker.register_trigger(
            "http",
            "test::tagged",
            {"api_path": "/tagged", "http_method": "GET"},
            metadata={"team": "core"},
        )
        await env.wait_route("GET", "/tagged", handle.id)
        async with env.session.get(env.url("/tagged")) as resp:
            assert await resp.json() == {"metadata": {"team": "core"}}


async def test_routes_of_a_disconnected_worker_are_removed(serve: Serve) -> None:
    from iii_sdk.worker import Worker

    async with serve() as env:
        async with Worker(env.engine.worker_url) as other:
            other.register_function("other::hi", lambda req: {"body": "hi"})
            handle = other.register_trigger("http", "other::hi", {"api_path": "/hi"})
            await env.wait_route("GET", "/hi", handle.id)
            async with env.session.get(env.url("/hi")) as resp:
                assert await resp.json() == "hi"
        await env.wait_route("GET", "/hi", handle.id, present=False)
        async with env.session.get(env.url("/hi")) as resp:
            assert resp.status == 404


async def test_repeated_and_non_utf8_headers(serve: Serve) -> None:
    async def seen(req: dict[str, Any]) -> dict[str, Any]:
        return {"body": {k: req["headers"].get(k) for k in ("x-bad", "x-good", "x-rep")}}

    async with serve() as env:
        await env.route("/hdr", seen)
        reader, writer = await asyncio.open_connection("127.0.0.1", env.http.port)
        writer.write(
            b"GET /hdr HTTP/1.1\r\nHost: t\r\nX-Bad: caf\xe9\r\nX-Good: caf\xc3\xa9\r\n"
            b"X-Rep: one\r\nX-Rep: two\r\nConnection: close\r\n\r\n"
        )
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body) == {"x-bad": "", "x-good": "café", "x-rep": "two"}


async def test_failing_and_hanging_middleware(serve: Serve) -> None:
    def broken(req: dict[str, Any]) -> Any:
        raise InvocationError("MW_BROKEN", "middleware broke")

    async def hangs(req: dict[str, Any]) -> Any:
        await asyncio.Event().wait()

    async with serve(default_timeout=300) as env:
        env.worker.register_function("test::broken", broken)
        env.worker.register_function("test::hangs", hangs)
        env.worker.register_function("test::garbage", lambda req: {"action": "sideways"})
        await env.route("/b", lambda req: {"body": 1}, middleware_function_ids=["test::broken"])
        await env.route("/h", lambda req: {"body": 1}, middleware_function_ids=["test::hangs"])
        await env.route("/g", lambda req: {"body": 1}, middleware_function_ids=["test::garbage"])
        async with env.session.get(env.url("/b")) as resp:
            assert resp.status == 500
            error = (await resp.json())["error"]
            assert (error["code"], error["message"]) == ("MW_BROKEN", "middleware broke")
        async with env.session.get(env.url("/h")) as resp:
            assert resp.status == 504
        async with env.session.get(env.url("/g")) as resp:  # an unknown action continues
            assert resp.status == 200
            assert await resp.json() == 1


async def test_trigger_without_api_path_is_rejected(serve: Serve) -> None:
    async with serve() as env:
        env.worker.register_function("test::nopath", lambda req: {"body": 1})
        handle = env.worker.register_trigger("http", "test::nopath", {"http_method": "GET"})
        error = await asyncio.wait_for(handle.rejected(), 5)
    assert error.code == "trigger_registration_failed"
    assert "api_path is required for http triggers" in error.message
