"""iii-stream unchanged in a separate worker (over the wire), as decisions.md §3.6 promises."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from iii_engine.engine import Engine
from iii_sdk import Worker
from plugins.stream.config import AdapterConfig, StreamConfig
from plugins.stream.worker import StreamWorker
from tests.announcing import AnnouncingContext
from tests.plugins.stream.stream_helpers import Subscriber, call, item

Connect = Callable[..., Awaitable[Worker]]


async def test_stream_worker_runs_out_of_process(
    iii_engine: Engine, iii_worker: Connect, tmp_path: Path
) -> None:
    host = Worker(iii_engine.worker_url, name="remote-stream")
    ready: asyncio.Queue[str] = asyncio.Queue()
    config = StreamConfig(host="127.0.0.1", port=0, adapter=AdapterConfig("memory"))
    stream = StreamWorker(config)
    await stream.start(AnnouncingContext(host, ready, "iii-stream", tmp_path))
    await host.connect()
    try:
        app = await iii_worker(iii_engine, name="app")
        events: asyncio.Queue[object] = asyncio.Queue()
        app.register_function("app::on_chat", events.put)
        handle = app.register_trigger("stream", "app::on_chat", {"stream_name": "chat"})
        assert await asyncio.wait_for(ready.get(), 5) == handle.id
        async with aiohttp.ClientSession() as session:
            sub = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{stream.port}/"))
            assert (await sub.join("s"))["event"] == {"type": "sync", "data": []}
            created = await call(app, "stream::set", {**item("m"), "data": 1})
            assert created == {"old_value": None, "new_value": 1}
            assert (await sub.next())["event"] == {"type": "create", "data": 1}
            fired = await asyncio.wait_for(events.get(), 5)
            assert fired["event"] == {"type": "create", "data": 1}  # type: ignore[index]
            await sub.ws.close()
    finally:
        await stream.stop()
        await host.close()
