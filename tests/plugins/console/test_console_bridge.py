"""iii-console without a browser: static files, the JSON bridge, live events, origin check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.plugins.console.console_page import Page

WAIT = 10.0
CONSOLE = {"name": "iii-console", "config": {"port": 0}}
STATE = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}


@pytest.fixture
async def console_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[STATE, CONSOLE]) as engine:
        yield engine


def _base(engine: Engine) -> str:
    port = engine.builtin("iii-console").port  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{port}"


async def test_serves_the_app_and_its_modules(console_engine: Engine) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(_base(console_engine) + "/") as response:
            assert response.status == 200
            assert "iii console" in await response.text()
        for path in ("/static/app.js", "/static/pages/queues.js", "/static/style.css"):
            async with http.get(_base(console_engine) + path) as response:
                assert response.status == 200, path
        async with http.get(_base(console_engine) + "/static/../config.py") as response:
            assert response.status in (403, 404)


async def test_calls_functions_with_timing_and_errors(console_engine: Engine) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(_base(console_engine) + "/ws") as ws,
    ):
        page = Page(ws)
        hello = await page.event("hello")
        assert hello["hello"]["mode"] == "local"
        ok = await page.request(call="state::set", payload={"scope": "s", "key": "k", "value": 1})
        assert ok["ok"] is True and ok["result"] == {"old_value": None, "new_value": 1}
        assert ok["ms"] >= 0
        missing = await page.request(call="nope::nope", payload={})
        assert missing["ok"] is False
        assert missing["error"]["code"] == "function_not_found"
        bad = await page.request(watch={"stream_name": "x"})
        assert bad["error"]["code"] == "invalid_request"
        page.reader.cancel()


async def test_pushes_worker_events_and_hides_its_own_handlers(
    console_engine: Engine, iii_worker: Any
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(_base(console_engine) + "/ws") as ws,
    ):
        page = Page(ws)
        await page.event("hello")
        worker = await iii_worker(console_engine, name="comes-and-goes")
        event = await page.event("workers", "worker_connected")
        assert event["data"]["worker_id"] == worker.worker_id
        listed = await page.request(call="engine::functions::list", payload={})
        ids = [row["function_id"] for row in listed["result"]["functions"]]
        assert not [i for i in ids if "::on::" in i]
        await worker.close()
        event = await page.event("workers", "worker_disconnected")
        assert event["data"]["worker_id"]
        page.reader.cancel()


async def test_refuses_cross_origin_pages(console_engine: Engine) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(
                _base(console_engine) + "/ws", headers={"Origin": "http://evil.example"}
            )
        assert refused.value.status == 403
        ws = await http.ws_connect(
            _base(console_engine) + "/ws", headers={"Origin": _base(console_engine)}
        )
        await ws.close()


async def test_refuses_other_host_names_when_bound_to_loopback(console_engine: Engine) -> None:
    base = _base(console_engine)
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/", headers={"Host": "rebound.example:3113"}) as response:
            assert response.status == 403
        for host in ("localhost:3113", "127.0.0.1", "[::1]:3113"):
            async with http.get(base + "/", headers={"Host": host}) as response:
                assert response.status == 200, host
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            origin = "http://rebound.example:3113"
            headers = {"Host": "rebound.example:3113", "Origin": origin}
            await http.ws_connect(base + "/ws", headers=headers)
        assert refused.value.status == 403


async def test_warns_when_listening_beyond_loopback(caplog: pytest.LogCaptureFixture) -> None:
    wide = {"name": "iii-console", "config": {"port": 0, "host": "0.0.0.0"}}
    async with (
        start_engine(workers=[wide]) as engine,
        aiohttp.ClientSession() as http,
        http.get(_base(engine) + "/") as response,
    ):
        assert response.status == 200  # no Host check when bound beyond loopback
    assert any("may call every function" in r.getMessage() for r in caplog.records)
