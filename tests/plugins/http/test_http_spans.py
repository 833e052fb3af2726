"""The ``<METHOD> <route>`` span of each HTTP request: status, attributes, parent of the call."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    return dict((k, v) for k, v in span["attributes"])


async def _route(w: RawWorker, function_id: str, path: str, method: str = "GET") -> None:
    await w.register_function(function_id)
    await w.send(
        {
            "type": "registertrigger",
            "id": f"t-{function_id}",
            "trigger_type": "http",
            "function_id": function_id,
            "config": {"api_path": path, "http_method": method},
        }
    )
    await w.barrier()


async def _root(w: RawWorker, trace: str) -> dict[str, Any]:
    tree = await w.call_ok("engine::traces::tree", {"trace_id": trace})
    [root] = tree["roots"]
    return root  # type: ignore[no-any-return]


async def test_request_spans_record_status_route_and_path() -> None:
    http = {"name": "iii-http", "config": {"port": 0, "host": "127.0.0.1", "default_timeout": 300}}
    async with start_engine(workers=[http]) as engine, raw_worker(engine) as w:
        await _route(w, "web::ok", "/items/:id")
        await _route(w, "web::fail", "/fail")
        await _route(w, "web::slow", "/slow")
        url = f"http://127.0.0.1:{engine.builtin('iii-http').port}"  # type: ignore[attr-defined]
        traces = [f"{i:032x}" for i in (1, 2, 3)]
        async with aiohttp.ClientSession() as session:

            async def get(path: str, trace: str) -> aiohttp.ClientResponse:
                headers = {"traceparent": f"00-{trace}-{PARENT}-01"}
                return await session.get(url + path, headers=headers)

            request = asyncio.ensure_future(get("/items/7?x=1", traces[0]))
            invocation = await w.invocation("web::ok")
            await w.reply(invocation, {"status_code": 201, "body": {}})
            assert (await request).status == 201

            request = asyncio.ensure_future(get("/fail", traces[1]))
            invocation = await w.invocation("web::fail")
            await w.reply(invocation, error={"code": "boom", "message": "it broke"})
            assert (await request).status == 500

            request = asyncio.ensure_future(get("/slow", traces[2]))
            await w.invocation("web::slow")  # never answered: the request times out
            assert (await request).status == 504

        ok = await _root(w, traces[0])
        assert ok["name"] == "GET /items/:id" and ok["status"] != "error"
        attrs = _attrs(ok)
        assert attrs["http.route"] == "/items/:id"
        assert attrs["url.path"] == "/items/7"
        assert attrs["http.request.method"] == "GET"
        assert attrs["http.response.status_code"] == 201
        assert [c["name"] for c in ok["children"]] == ["call web::ok"]

        failed = await _root(w, traces[1])
        assert (failed["status"], failed["status_description"]) == ("error", "http_error: HTTP 500")
        assert _attrs(failed)["http.response.status_code"] == 500
        [call] = failed["children"]
        assert call["name"] == "call web::fail" and call["status"] == "error"

        slow = await _root(w, traces[2])
        assert (slow["status"], slow["status_description"]) == ("error", "http_error: HTTP 504")
        assert _attrs(slow)["http.response.status_code"] == 504
