"""iii-http triggers served by functions of the official Python SDK, hit with aiohttp."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from tests.compat.support import (
    OfficialFactory,
    eventually,
    http_base,
    wait_for_binding,
)

pytestmark = pytest.mark.compat

NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "Not Found"}}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def route(
    engine: Engine, client: Any, function_id: str, handler: Any, path: str, method: str = "GET"
) -> Any:
    """Register ``handler`` behind ``method path`` through the official SDK; wait until bound."""
    client.register_function(function_id, handler)
    trigger = client.register_trigger(
        {
            "type": "http",
            "function_id": function_id,
            "config": {"api_path": path, "http_method": method},
        }
    )
    await wait_for_binding(engine, function_id)
    return trigger


async def test_json_in_json_out_with_status(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-json")

    def create(req: Any) -> Any:
        return {"status_code": 201, "body": {"created": req["body"], "method": req["method"]}}

    await route(builtin_engine, client, "offpy::create", create, "/compat/items", "POST")
    url = http_base(builtin_engine) + "/compat/items"
    async with session.post(url, json={"name": "widget", "qty": 2}) as resp:
        assert resp.status == 201
        assert resp.headers["content-type"].startswith("application/json")
        assert await resp.json() == {
            "created": {"name": "widget", "qty": 2},
            "method": "POST",
        }


async def test_path_params_query_and_headers(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-params")

    def show(req: Any) -> Any:
        keys = ("path_params", "query_params", "path", "method")
        return {"body": {k: req[k] for k in keys} | {"agent": req["headers"].get("x-agent")}}

    await route(builtin_engine, client, "offpy::show", show, "compat/items/:id")
    url = http_base(builtin_engine) + "/compat/items/abc123?q=hello&limit=10"
    async with session.get(url, headers={"X-Agent": "compat"}) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "path_params": {"id": "abc123"},
            "query_params": {"q": "hello", "limit": "10"},
            "path": "compat/items/:id",
            "method": "GET",
            "agent": "compat",
        }


async def test_custom_status_and_content_type(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-xml")
    xml = '<?xml version="1.0"?><note>hi</note>'

    def as_xml(req: Any) -> Any:
        return {"status_code": 200, "headers": {"Content-Type": "text/xml"}, "body": xml}

    def missing(req: Any) -> Any:
        return {"status_code": 404, "body": {"error": "Not found"}}

    await route(builtin_engine, client, "offpy::xml", as_xml, "/compat/xml")
    await route(builtin_engine, client, "offpy::missing", missing, "/compat/missing")
    base = http_base(builtin_engine)
    async with session.get(base + "/compat/xml") as resp:
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("text/xml")
        assert await resp.text() == xml
    async with session.get(base + "/compat/missing") as resp:
        assert resp.status == 404
        assert await resp.json() == {"error": "Not found"}


async def test_raw_json_body_via_request_channel(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-raw")

    async def raw(req: Any) -> Any:
        data = await req["request_body"].read_all()
        return {"body": {"parsed": req["body"], "raw": data.decode()}}

    await route(builtin_engine, client, "offpy::raw", raw, "/compat/raw", "POST")
    text = '{"a": [1, 2], "b": "c"}'
    headers = {"content-type": "application/json"}
    async with session.post(
        http_base(builtin_engine) + "/compat/raw", data=text, headers=headers
    ) as resp:
        assert resp.status == 200
        result = await resp.json()
    assert result["parsed"] == {"a": [1, 2], "b": "c"}
    assert json.loads(result["raw"]) == {"a": [1, 2], "b": "c"}


async def test_streamed_upload_through_the_request_channel(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-upload")

    async def upload(req: Any) -> Any:
        data = await req["request_body"].read_all()
        return {"body": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}}

    await route(builtin_engine, client, "offpy::upload", upload, "/compat/upload", "POST")
    blob = os.urandom(300_000)
    headers = {"content-type": "application/octet-stream"}
    url = http_base(builtin_engine) + "/compat/upload"
    async with session.post(url, data=blob, headers=headers) as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "size": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
        }


async def test_streamed_download_through_the_response_channel(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    from iii.types import StreamRequest, StreamResponse
    from iii_helpers.http import http

    client = await official(builtin_engine, "official-http-download")
    pdf = b"%PDF-1.4\n" + os.urandom(200_000) + b"\n%%EOF"

    async def download(req: StreamRequest, res: StreamResponse) -> None:
        await res.status(200)
        await res.headers({"content-type": "application/pdf", "x-file": "doc.pdf"})
        await res.writer.write(pdf)
        await res.writer.close_async()

    await route(builtin_engine, client, "offpy::download", http(download), "/compat/doc.pdf")
    async with session.get(http_base(builtin_engine) + "/compat/doc.pdf") as resp:
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.headers["x-file"] == "doc.pdf"
        assert await resp.read() == pdf


async def test_server_sent_events(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    from iii.types import StreamRequest, StreamResponse
    from iii_helpers.http import http

    client = await official(builtin_engine, "official-http-sse")

    async def events(req: StreamRequest, res: StreamResponse) -> None:
        await res.status(200)
        await res.headers({"content-type": "text/event-stream", "cache-control": "no-cache"})
        for n in range(4):
            await res.writer.write(f"id: {n}\ndata: {json.dumps({'n': n})}\n\n".encode())
        await res.writer.close_async()

    await route(builtin_engine, client, "offpy::sse", http(events), "/compat/events")
    received: list[Any] = []
    async with session.get(http_base(builtin_engine) + "/compat/events") as resp:
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        async for line in resp.content:
            if line.startswith(b"data: "):
                received.append(json.loads(line[len(b"data: ") :]))
    assert received == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]


async def test_handler_error_is_a_500_envelope(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-error")

    def broken(req: Any) -> Any:
        raise RuntimeError("handler blew up")

    await route(builtin_engine, client, "offpy::broken", broken, "/compat/broken")
    async with session.get(http_base(builtin_engine) + "/compat/broken") as resp:
        assert resp.status == 500
        error = (await resp.json())["error"]
    assert error["code"] == "invocation_failed"
    assert "handler blew up" in error["message"]
    assert error["error_id"]


async def test_route_conflict_is_logged_by_the_sdk_and_first_route_keeps_serving(
    builtin_engine: Engine,
    official: OfficialFactory,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="iii")
    client = await official(builtin_engine, "official-http-conflict")
    await route(
        builtin_engine,
        client,
        "offpy::first",
        lambda r: {"body": "first"},
        "/compat/a/:listId/:userId",
    )
    client.register_function("offpy::second", lambda r: {"body": "second"})
    client.register_trigger(
        {
            "type": "http",
            "function_id": "offpy::second",
            "config": {"api_path": "/compat/a/:userId/:listId", "http_method": "GET"},
        }
    )

    async def logged() -> bool:
        return any(
            "conflicts with already-registered route" in record.getMessage()
            for record in caplog.records
        )

    await eventually(logged, "the SDK to log the route conflict")
    async with session.get(http_base(builtin_engine) + "/compat/a/1/2") as resp:
        assert resp.status == 200
        assert await resp.json() == "first"


async def test_404_before_registration_and_after_unregister(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-404")
    url = http_base(builtin_engine) + "/compat/health"
    async with session.get(url) as resp:
        assert resp.status == 404
        assert await resp.json() == NOT_FOUND

    trigger = await route(
        builtin_engine, client, "offpy::health", lambda r: {"body": {"ok": True}}, "/compat/health"
    )
    async with session.get(url) as resp:
        assert resp.status == 200
        assert await resp.json() == {"ok": True}

    trigger.unregister()

    async def gone() -> bool:
        async with session.get(url) as resp:
            return resp.status == 404 and await resp.json() == NOT_FOUND

    await eventually(gone, "the route to be removed")


async def test_condition_and_middleware_hosted_by_the_official_sdk(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    client = await official(builtin_engine, "official-http-guards")

    def only_admins(req: Any) -> Any:
        assert "request_body" not in req
        return req["query_params"].get("role") == "admin"

    def needs_token(data: Any) -> Any:
        if data["request"]["headers"].get("x-token") == "secret":
            return {"action": "continue"}
        return {"action": "respond", "response": {"status_code": 401, "body": {"error": "token"}}}

    def handler(req: Any, metadata: Any = None) -> Any:
        return {"body": {"ok": True, "metadata": metadata}}

    client.register_function("offpy::only_admins", only_admins)
    client.register_function("offpy::needs_token", needs_token)
    client.register_function("offpy::guarded", handler)
    client.register_trigger(
        {
            "type": "http",
            "function_id": "offpy::guarded",
            "config": {
                "api_path": "/compat/guarded",
                "http_method": "GET",
                "condition_function_id": "offpy::only_admins",
                "middleware_function_ids": ["offpy::needs_token"],
            },
            "metadata": {"route": "guarded"},
        }
    )
    await wait_for_binding(builtin_engine, "offpy::guarded")
    url = http_base(builtin_engine) + "/compat/guarded"

    async with session.get(url + "?role=guest", headers={"x-token": "secret"}) as resp:
        assert resp.status == 422
        assert await resp.json() == {
            "error": {"code": "CONDITION_NOT_MET", "message": "Request condition not met"},
            "skipped": True,
        }
    async with session.get(url + "?role=admin") as resp:
        assert resp.status == 401
        assert await resp.json() == {"error": "token"}
    async with session.get(url + "?role=admin", headers={"x-token": "secret"}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"ok": True, "metadata": {"route": "guarded"}}


async def test_sdk_http_response_model_sets_the_status(
    builtin_engine: Engine, official: OfficialFactory, session: aiohttp.ClientSession
) -> None:
    """The SDK's own ``HttpResponse`` model serialises ``status_code`` as ``statusCode`` (its
    alias). Upstream only reads ``status_code``; a user returning the SDK type expects 201."""
    from iii_helpers.http import HttpResponse

    client = await official(builtin_engine, "official-http-model")

    def created(req: Any) -> Any:
        return HttpResponse(  # type: ignore[call-arg]
            status_code=201, body={"made": True}, headers={"x-kind": "model"}
        )

    await route(builtin_engine, client, "offpy::model", created, "/compat/model", "POST")
    async with session.post(http_base(builtin_engine) + "/compat/model", json={}) as resp:
        assert await resp.json() == {"made": True}
        assert resp.headers["x-kind"] == "model"
        assert resp.status == 201
