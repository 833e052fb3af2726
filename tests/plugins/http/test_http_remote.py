"""iii-http unchanged in a separate worker (RemoteContext over the wire), not in the engine."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from iii_engine.testing import start_engine
from iii_sdk import RemoteContext
from iii_sdk.worker import Worker
from plugins.http.config import HttpConfig
from plugins.http.worker import HttpWorker


async def test_http_worker_runs_out_of_process() -> None:
    async def echo(req: dict[str, Any]) -> dict[str, Any]:
        raw = await req["request_body"].read_all()
        return {"status_code": 201, "body": {"parsed": req["body"], "raw": raw.decode()}}

    async def stream(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message({"type": "set_status", "status_code": 202})
        await out.write(b"x" * 100_000)
        await out.close()

    async with start_engine() as engine:
        host = Worker(engine.worker_url, name="iii-http")
        http = HttpWorker(HttpConfig(port=0, host="127.0.0.1"))
        await http.start(RemoteContext(host))
        await host.connect()
        try:
            async with Worker(engine.worker_url) as app, aiohttp.ClientSession() as session:
                app.register_function("app::echo", echo)
                app.register_function("app::stream", stream)
                app.register_trigger(
                    "http", "app::echo", {"api_path": "/echo", "http_method": "POST"}
                )
                app.register_trigger("http", "app::stream", {"api_path": "/stream"})
                deadline = time.monotonic() + 5
                while len(http.routes) < 2:
                    assert time.monotonic() < deadline, "routes never reached the remote worker"
                    await asyncio.sleep(0.01)
                base = f"http://127.0.0.1:{http.port}"
                async with session.post(f"{base}/echo", json={"x": 1}) as resp:
                    assert resp.status == 201
                    assert await resp.json() == {"parsed": {"x": 1}, "raw": '{"x": 1}'}
                async with session.get(f"{base}/stream") as resp:
                    assert resp.status == 202
                    assert await resp.read() == b"x" * 100_000
        finally:
            await http.stop()
            await host.close()
