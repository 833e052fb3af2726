"""Channels through a real engine: refs in payloads, SDK ends on the worker listener."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from iii_engine.engine import Engine
from iii_sdk.channels import ChannelReader, ChannelWriter, channel_ref
from iii_sdk.worker import Worker

ConnectWorker = Callable[..., Awaitable[Worker]]


async def test_handler_reads_a_stream_written_by_the_caller(
    iii_engine: Engine, iii_worker: ConnectWorker
) -> None:
    consumer = await iii_worker(iii_engine, name="consumer")
    producer = await iii_worker(iii_engine, name="producer")

    async def consume(payload: dict[str, Any]) -> dict[str, Any]:
        reader = payload["input"]
        assert isinstance(reader, ChannelReader)
        control = await reader.read()
        data = await reader.read_all()
        return {"control": control, "size": len(data), "head": data[:6].decode()}

    consumer.register_function("test::consume", consume)
    refs = await producer.trigger("engine::channels::create", {"buffer_size": 4})
    assert refs["writer"]["channel_id"] == refs["reader"]["channel_id"]
    call = asyncio.create_task(producer.trigger("test::consume", {"input": refs["reader"]}))
    async with ChannelWriter(refs["writer"], iii_engine.worker_url) as writer:
        await writer.send_message({"type": "meta", "chunks": 50})
        for i in range(50):
            await writer.write(f"chunk{i:04d}".encode() * 1000)
    result = await call
    assert result == {"control": '{"type":"meta","chunks":50}', "size": 450_000, "head": "chunk0"}


async def test_handler_streams_a_response_to_the_caller(
    iii_engine: Engine, iii_worker: ConnectWorker
) -> None:
    streamer = await iii_worker(iii_engine, name="streamer")
    caller = await iii_worker(iii_engine, name="caller")

    async def stream(payload: dict[str, Any]) -> None:
        out = payload["response"]
        assert isinstance(out, ChannelWriter)
        await out.send_message({"type": "set_status", "status_code": 206})
        for i in range(3):
            await out.write(f"event {i}\n".encode())
        await out.close()

    streamer.register_function("test::stream", stream)
    refs = await caller.trigger("engine::channels::create", {})
    reader = ChannelReader(refs["reader"], iii_engine.worker_url)
    assert await caller.trigger("test::stream", {"response": refs["writer"]}) is None
    frames = [frame async for frame in reader]
    assert frames == [
        '{"type":"set_status","status_code":206}',
        b"event 0\n",
        b"event 1\n",
        b"event 2\n",
    ]


async def test_engine_local_end_feeds_a_remote_reader(
    iii_engine: Engine, iii_worker: ConnectWorker
) -> None:
    """What iii-http does with a request body: write it locally, the handler reads remotely."""
    handler_worker = await iii_worker(iii_engine, name="handler")

    async def handler(payload: dict[str, Any]) -> dict[str, Any]:
        body = await payload["request_body"].read_all()
        return {"echo": body.decode(), "ref": channel_ref(payload["request_body"])}

    handler_worker.register_function("test::body", handler)
    # A round trip on the same socket: the engine has applied the registration before it.
    await handler_worker.trigger("engine::functions::list", {})
    channel = iii_engine.local_channel(64)
    writer = await channel.writer()
    await writer.write(b'{"hello": "world"}')
    await writer.close()
    reader_ref = {
        "channel_id": channel.reader_ref.channel_id,
        "access_key": channel.reader_ref.access_key,
        "direction": "read",
    }
    result = await iii_engine.invoke("test::body", {"request_body": reader_ref})
    assert result == {"echo": '{"hello": "world"}', "ref": reader_ref}
    assert channel.reader_ref.channel_id not in iii_engine.channels
