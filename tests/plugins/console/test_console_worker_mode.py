"""iii-console as an ordinary worker of another engine (``engine_url`` + ``headers``).

The console's engine runs only the console; the engine it shows is another one, reached over
its worker WebSocket. With access control on that listener, the console's session decides what
the pages may see and call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from iii_engine.testing import start_engine
from tests.compat.support import wait_for_functions
from tests.plugins.console.console_page import Page

TOKEN = "Bearer console-token"
CONSOLE_GRANTS = [
    "engine::functions::list",
    "engine::functions::info",
    "engine::workers::list",
    "engine::triggers::list",
    "engine::registered-triggers::list",
]


@asynccontextmanager
async def console_of(url: str, headers: dict[str, str]) -> AsyncIterator[Page]:
    """A second engine running only iii-console, connected to ``url``; a page on it."""
    entry = {"name": "iii-console", "config": {"port": 0, "engine_url": url, "headers": headers}}
    async with start_engine(workers=[entry]) as shell:
        port = shell.builtin("iii-console").port  # type: ignore[attr-defined]
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"http://127.0.0.1:{port}/ws") as ws,
        ):
            page = Page(ws)
            try:
                yield page
            finally:
                page.reader.cancel()


async def test_the_console_is_a_worker_of_the_engine_it_shows(iii_worker: Any) -> None:
    state = {"name": "iii-state", "config": {"adapter": {"name": "memory"}}}
    async with (
        start_engine(workers=[state]) as target,
        console_of(target.worker_url, {"x-console": "yes"}) as page,
    ):
        hello = await page.event("hello")
        assert hello["hello"] == {"mode": "worker", "worker_name": "iii-console"}
        reply = await page.request(
            call="state::set", payload={"scope": "s", "key": "k", "value": 7}
        )
        assert reply["ok"], reply
        assert await target.invoke("state::get", {"scope": "s", "key": "k"}) == 7
        workers = await page.request(call="engine::workers::list", payload={})
        names = [w["name"] for w in workers["result"]["workers"]]
        assert "iii-console" in names
        other = await iii_worker(target, name="seen-from-afar")
        event = await page.event("workers", "worker_connected")
        assert event["data"]["worker_id"] == other.worker_id


async def test_the_console_sees_only_what_its_session_may(iii_worker: Any) -> None:
    seen: list[dict[str, Any]] = []
    config = """
workers:
  - name: iii-worker-manager
    config: {host: 127.0.0.1, port: 0}
  - name: iii-worker-manager
    config:
      host: 127.0.0.1
      port: 0
      rbac:
        auth_function_id: auth::check
        expose_functions: ['match("public::*")']
"""
    async with start_engine(config) as target:
        trusted = await iii_worker(target, name="app")

        def check(request: dict[str, Any]) -> dict[str, Any]:
            seen.append(request["headers"])
            if request["headers"].get("authorization") != TOKEN:
                raise ValueError("unknown token")
            return {"allowed_functions": CONSOLE_GRANTS}

        trusted.register_function("auth::check", check)
        trusted.register_function("public::hello", lambda p: "hello")
        trusted.register_function("private::secret", lambda p: "secret")
        await wait_for_functions(target, "auth::check", "public::hello", "private::secret")
        async with console_of(target.worker_urls[1], {"Authorization": TOKEN}) as page:
            listed = await page.request(call="engine::functions::list", payload={})
            ids = {row["function_id"] for row in listed["result"]["functions"]}
            assert "public::hello" in ids
            assert "private::secret" not in ids
            denied = await page.request(call="private::secret", payload={})
            assert denied["error"]["code"] == "FORBIDDEN"
            allowed = await page.request(call="public::hello", payload={})
            assert allowed["result"] == "hello"
            await iii_worker(target, name="late-comer")
            event = await page.event("workers", "worker_connected")
            assert event["data"]["worker_id"]
        assert seen and seen[0]["authorization"] == TOKEN


async def test_engine_start_does_not_wait_for_an_unreachable_engine() -> None:
    async with console_of("ws://127.0.0.1:9/", {}) as page:
        hello = await page.event("hello")
        assert hello["hello"]["mode"] == "worker"
        reply = await page.request(call="engine::workers::list", payload={}, timeout_ms=200)
        assert reply["error"]["code"] == "TIMEOUT"
