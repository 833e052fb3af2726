"""HTTP-invoked functions registered by the official Python SDK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from iii_helpers.http import HttpAuthBearer, HttpInvocationConfig

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from tests.compat.support import (
    Inbox,
    OfficialFactory,
    wait_for_functions,
    wait_for_functions_gone,
)

pytestmark = pytest.mark.compat

HTTP_FUNCTIONS = {
    "name": "iii-http-functions",
    "config": {
        "security": {
            "url_allowlist": ["127.0.0.1"],
            "block_private_ips": False,
            "require_https": False,
        }
    },
}


@pytest.fixture
async def http_functions_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[HTTP_FUNCTIONS]) as running:
        yield running


@pytest.fixture
async def probe() -> AsyncIterator[tuple[str, Inbox]]:
    """A local HTTP endpoint that records each request and answers ``{"seen": body}``."""
    inbox = Inbox()

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        inbox.put(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if request.path == "/fail":
            return web.json_response({"error": {"code": "E_PROBE", "message": "nope"}}, status=400)
        return web.json_response({"seen": body})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", inbox
    await runner.cleanup()


async def test_http_invoked_function_from_the_official_sdk(
    http_functions_engine: Engine,
    official: OfficialFactory,
    iii_worker: Any,
    probe: tuple[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, requests = probe
    monkeypatch.setenv("COMPAT_PROBE_TOKEN", "t0ken")
    engine = http_functions_engine
    client = await official(engine, "official-http-functions")
    ref = client.register_function(
        "ext::echo",
        HttpInvocationConfig(
            url=f"{base}/echo",
            method="PUT",
            headers={"x-custom": "yes"},
            auth=HttpAuthBearer(token_key="COMPAT_PROBE_TOKEN"),
        ),
    )
    client.register_function("ext::fail", HttpInvocationConfig(url=f"{base}/fail"))
    await wait_for_functions(engine, "ext::echo", "ext::fail")
    ours = await iii_worker(engine, name="ours")

    result = await ours.trigger("ext::echo", {"a": 1})
    assert result["seen"]["a"] == 1
    request = await requests.get()
    assert (request["method"], request["path"]) == ("PUT", "/echo")
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-custom"] == "yes"
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["x-iii-function-path"] == "ext::echo"
    assert headers["content-type"].startswith("application/json")

    with pytest.raises(InvocationError) as caught:
        await ours.trigger("ext::fail", {})
    assert (caught.value.code, caught.value.message) == ("E_PROBE", "nope")

    ref.unregister()
    await wait_for_functions_gone(engine, "ext::echo")
    with pytest.raises(InvocationError) as caught:
        await asyncio.wait_for(ours.trigger("ext::echo", {}), 10)
    assert caught.value.code == "function_not_found"
