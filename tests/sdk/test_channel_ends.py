"""Channel ends handed to handlers share the worker's HTTP session and close with it."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import msgspec

from iii_engine.engine import Engine
from iii_sdk.channels import ChannelReader
from iii_sdk.worker import Worker


async def test_unclosed_reader_does_not_leak_a_session(iii_engine: Engine) -> None:
    channel = iii_engine.local_channel(8)
    writer = await channel.writer()
    await writer.write(b"hello")  # the stream stays open: the reader's socket stays open too
    got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def handler(payload: Any) -> None:
        reader = payload["body"]
        got.set_result(await reader.read())  # one frame; the reader is never closed

    worker = Worker(iii_engine.worker_url, name="reader")
    worker.register_function("ch::read", handler)
    await worker.connect()
    caller = Worker(iii_engine.worker_url, name="caller")
    await caller.connect()
    try:
        ref = msgspec.to_builtins(channel.reader_ref)
        await caller.trigger({"function_id": "ch::read", "payload": {"body": ref}})
        assert await got == b"hello"
    finally:
        await caller.close()
        await worker.close()
        await writer.close()
    gc.collect()  # an unclosed aiohttp.ClientSession would warn here (warnings are errors)


async def test_a_reader_closed_while_it_connects_ends_its_stream(iii_engine: Engine) -> None:
    channel = iii_engine.local_channel(8)
    reader = ChannelReader(msgspec.to_builtins(channel.reader_ref), iii_engine.worker_url)
    reading = asyncio.create_task(reader.read_all())
    await asyncio.sleep(0)  # one loop pass: the read task is now inside its socket's connect
    await reader.close()
    assert await asyncio.wait_for(reading, 5) == b""
    channel.discard()
