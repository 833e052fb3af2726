"""An engine running iii-http on an ephemeral port, a connected SDK worker, an HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from plugins.http.worker import HttpWorker

Serve = Callable[..., contextlib.AbstractAsyncContextManager["HttpEnv"]]


@dataclass
class HttpEnv:
    """One engine + iii-http + worker + client session."""

    engine: Any
    http: HttpWorker
    worker: Worker
    session: aiohttp.ClientSession
    base: str

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    async def wait_route(self, method: str, path: str, owner: str, present: bool = True) -> None:
        """Wait (bounded) until the route table shows ``owner`` serving, or not serving."""
        deadline = time.monotonic() + 5
        while True:
            match = self.http.routes.lookup(method, path)
            serving = match is not None and match[0].owner == owner
            if serving == present:
                return
            assert time.monotonic() < deadline, f"route {method} {path} present={not present}"
            await asyncio.sleep(0.005)

    async def route(
        self,
        path: str,
        handler: Callable[..., Any],
        *,
        method: str = "GET",
        function_id: str | None = None,
        **config: Any,
    ) -> Any:
        """Register ``handler`` behind ``method path`` and wait until the route serves."""
        function_id = function_id or f"test::{method.lower()}::{path.strip('/')}"
        self.worker.register_function(function_id, handler)
        handle = self.worker.register_trigger(
            "http", function_id, {"api_path": path, "http_method": method, **config}
        )
        await self.wait_route(method, path, handle.id)
        return handle


@pytest.fixture
def serve() -> Serve:
    """``async with serve(**http_config) as env:`` starts a fresh engine with iii-http."""

    @contextlib.asynccontextmanager
    async def _serve(**config: Any) -> AsyncIterator[HttpEnv]:
        cfg = {"port": 0, "host": "127.0.0.1", **config}
        async with start_engine(workers=[{"name": "iii-http", "config": cfg}]) as engine:
            http = engine.builtin("iii-http")
            assert isinstance(http, HttpWorker)
            async with (
                Worker(engine.worker_url) as worker,
                aiohttp.ClientSession() as session,
            ):
                yield HttpEnv(engine, http, worker, session, f"http://127.0.0.1:{http.port}")

    return _serve
