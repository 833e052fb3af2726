"""Channel refs inside payloads become readers/writers for the handler, and back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from iii_engine.engine import Engine
from iii_sdk import Worker
from iii_sdk.channels import ChannelReader, ChannelWriter

Connect = Callable[..., Awaitable[Worker]]


async def test_handler_gets_a_reader_for_a_ref_and_writers_travel_as_refs(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    uploader = await iii_worker(iii_engine)
    receiver = await iii_worker(iii_engine)
    kinds: list[type[Any]] = []

    async def consume(payload: dict[str, Any]) -> dict[str, Any]:
        body = payload["body"]
        kinds.append(type(body))
        data = await body.read_all()
        await body.close()
        return {"size": len(data), "text": data.decode()}

    receiver.register_function("files::consume", consume)
    await receiver.trigger("engine::functions::list", {})

    refs = await uploader.trigger("engine::channels::create", {})
    writer = ChannelWriter(refs["writer"], uploader.url)
    reader = ChannelReader(refs["reader"], uploader.url)
    # the reader object itself goes into the payload; the SDK sends its ref
    call = asyncio.create_task(uploader.trigger("files::consume", {"body": reader}))
    await writer.write(b"streamed ")
    await writer.write(b"bytes")
    await writer.close()
    assert await asyncio.wait_for(call, 5) == {"size": 14, "text": "streamed bytes"}
    assert kinds == [ChannelReader]
