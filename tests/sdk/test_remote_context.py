"""RemoteContext: a built-in worker run out of process, over an SDK Worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from iii_engine.engine import Engine
from iii_sdk import RemoteContext, Worker
from iii_sdk.plugin import WorkerContext
from plugins.pubsub.worker import PubSubWorker
from tests.announcing import AnnouncingContext

Connect = Callable[..., Awaitable[Worker]]


async def test_pubsub_builtin_runs_out_of_process(iii_engine: Engine, iii_worker: Connect) -> None:
    host = Worker(iii_engine.worker_url, name="remote-pubsub")
    ready: asyncio.Queue[str] = asyncio.Queue()
    pubsub = PubSubWorker()
    await pubsub.start(AnnouncingContext(host, ready, "iii-pubsub"))
    await host.connect()
    try:
        app = await iii_worker(iii_engine, name="app")
        received: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def on_news(data: Any) -> None:
            received.set_result(data)

        app.register_function("app::on_news", on_news)
        handle = app.register_trigger("subscribe", "app::on_news", {"topic": "news"})
        assert await asyncio.wait_for(ready.get(), 5) == handle.id
        await app.trigger("publish", {"topic": "news", "data": {"headline": "hi"}})
        assert (await asyncio.wait_for(received, 5))["headline"] == "hi"
    finally:
        await pubsub.stop()
        await host.close()


async def test_invoke_void_and_channels(iii_engine: Engine, iii_worker: Connect) -> None:
    host = await iii_worker(iii_engine)
    ctx: WorkerContext = RemoteContext(host)  # statically a WorkerContext (mypy checks this)
    assert ctx.name == host.name
    got: asyncio.Queue[Any] = asyncio.Queue()

    async def sink(payload: Any) -> str:
        got.put_nowait(payload["n"])
        return "sunk"

    ctx.register_function("ctx::sink", sink)
    await host.trigger("engine::functions::list", {})
    assert await ctx.invoke("ctx::sink", {"n": 1}) == "sunk"
    ctx.invoke_void("ctx::sink", {"n": 2})
    assert [await asyncio.wait_for(got.get(), 5) for _ in range(2)] == [1, 2]

    channel = await ctx.create_channel()
    assert channel.reader_ref.channel_id == channel.writer_ref.channel_id
    assert (channel.reader_ref.direction, channel.writer_ref.direction) == ("read", "write")
    writer = await channel.writer()
    reader = await channel.reader()
    read_all = asyncio.create_task(reader.read_all())
    await writer.write(b"hello ")
    await writer.write(b"channel")
    await writer.close()
    assert await asyncio.wait_for(read_all, 5) == b"hello channel"
    await reader.close()

    ctx.unregister_function("ctx::sink")
    await host.trigger("engine::functions::list", {})
    listed = await host.trigger("engine::functions::list", {})
    assert "ctx::sink" not in [row["function_id"] for row in listed["functions"]]


async def test_discard_ends_a_remote_channel(iii_engine: Engine, iii_worker: Connect) -> None:
    ctx = RemoteContext(await iii_worker(iii_engine))
    channel = await ctx.create_channel()
    reader = await channel.reader()
    assert await channel.reader() is reader  # each side is claimed once
    reading = asyncio.create_task(reader.read_all())
    channel.discard()
    assert await asyncio.wait_for(reading, 5) == b""
    await reader.close()
