"""Data channels between the official Python SDK and ours (engine::channels::create + sockets)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import pytest
from iii.helpers import create_channel

from iii_engine.engine import Engine
from iii_sdk.channels import ChannelReader, ChannelWriter, resolve_channel_refs
from tests.compat.support import OfficialFactory, official_call, wait_for_functions

pytestmark = pytest.mark.compat


def on_sdk_loop(client: Any, coro: Any) -> asyncio.Future[Any]:
    """Run ``coro`` on the official SDK's event loop; await the returned future."""
    return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, client._loop))


async def test_official_writer_to_our_reader(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")

    async def consume(payload: Any) -> Any:
        reader = payload["reader"]
        assert isinstance(reader, ChannelReader)
        frames = [frame async for frame in reader]
        data = b"".join(f for f in frames if isinstance(f, bytes))
        texts = [f for f in frames if isinstance(f, str)]
        return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "texts": texts}

    ours.register_function("ours::consume", consume)
    await wait_for_functions(iii_engine, "ours::consume")
    client = await official(iii_engine, "official-writer")
    channel = await asyncio.to_thread(create_channel, client)
    assert channel.reader_ref.channel_id == channel.writer_ref.channel_id

    blob = os.urandom(150_000)
    call = asyncio.create_task(
        official_call(client, "ours::consume", {"reader": channel.reader_ref.model_dump()})
    )

    async def produce() -> None:
        await channel.writer.send_message_async('{"type": "meta", "name": "blob.bin"}')
        await channel.writer.write(blob)
        await channel.writer.close_async()

    await on_sdk_loop(client, produce())
    result = await asyncio.wait_for(call, 10)
    assert result == {
        "size": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "texts": ['{"type": "meta", "name": "blob.bin"}'],
    }


async def test_our_writer_to_official_reader(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    blob = os.urandom(100_000)

    async def produce(payload: Any) -> Any:
        writer = payload["writer"]
        assert isinstance(writer, ChannelWriter)
        await writer.write(blob)
        await writer.close()
        return "written"

    ours.register_function("ours::produce", produce)
    await wait_for_functions(iii_engine, "ours::produce")
    client = await official(iii_engine, "official-reader")
    channel = await asyncio.to_thread(create_channel, client)

    reading = on_sdk_loop(client, channel.reader.read_all())
    writer_ref = channel.writer_ref.model_dump()
    assert await official_call(client, "ours::produce", {"writer": writer_ref}) == "written"
    assert await asyncio.wait_for(reading, 10) == blob


async def test_official_handler_gets_channel_objects_from_our_refs(
    iii_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    """Refs created by our side resolve to the official SDK's reader/writer in its handlers."""
    client = await official(iii_engine, "official-echo-channel")

    async def echo(data: Any) -> Any:
        body = await data["input"].read_all()
        await data["output"].write(body[::-1])
        await data["output"].close_async()
        return {"echoed": len(body)}

    client.register_function("offpy::reverse", echo)
    await wait_for_functions(iii_engine, "offpy::reverse")
    ours = await iii_worker(iii_engine, name="ours")
    inbound = await ours.trigger("engine::channels::create", {})
    outbound = await ours.trigger("engine::channels::create", {})
    writer = resolve_channel_refs(inbound["writer"], ours.url)
    reader = resolve_channel_refs(outbound["reader"], ours.url)
    assert isinstance(writer, ChannelWriter)
    assert isinstance(reader, ChannelReader)

    call = asyncio.create_task(
        ours.trigger("offpy::reverse", {"input": inbound["reader"], "output": outbound["writer"]})
    )
    await writer.write(b"hello channels")
    await writer.close()
    assert await reader.read_all() == b"slennahc olleh"
    assert await asyncio.wait_for(call, 10) == {"echoed": 14}
