"""``LocalChannel.when_opened``: a callback when the other party claims a side of a channel."""

from __future__ import annotations

import asyncio

import aiohttp

from iii_engine.engine import Engine
from iii_sdk.channels import channel_url


async def test_callback_runs_when_a_local_side_is_claimed(iii_engine: Engine) -> None:
    channel = iii_engine.channels.create_local(4)
    seen: list[str] = []
    channel.when_opened("read", lambda: seen.append("read"))
    assert seen == []
    await channel.reader()
    assert seen == ["read"]
    channel.when_opened("read", lambda: seen.append("again"))  # already claimed: runs at once
    assert seen == ["read", "again"]


async def test_callback_runs_when_a_socket_claims_the_side(iii_engine: Engine) -> None:
    channel = iii_engine.channels.create_local(4)
    opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    channel.when_opened("write", lambda: opened.set_result(None))
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(channel_url(iii_engine.worker_url, channel.writer_ref))
        await asyncio.wait_for(opened, 5)
        await ws.close()


async def test_callback_never_runs_for_a_discarded_channel(iii_engine: Engine) -> None:
    channel = iii_engine.channels.create_local(4)
    seen: list[str] = []
    channel.when_opened("write", lambda: seen.append("write"))
    channel.discard()
    async with aiohttp.ClientSession() as http:
        url = channel_url(iii_engine.worker_url, channel.writer_ref)
        async with http.get(url.replace("ws://", "http://")) as response:
            assert response.status == 404  # the channel is gone before anyone claims it
    assert seen == []
