"""Helpers: a real ChannelManager served on a loopback port by its own aiohttp app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from iii_engine.channels.manager import ChannelManager
from iii_sdk.protocol import StreamChannelRef


@dataclass
class ChannelServer:
    manager: ChannelManager
    base_url: str
    session: aiohttp.ClientSession

    def url(
        self, ref: StreamChannelRef, *, key: str | None = None, direction: str | None = None
    ) -> str:
        return (
            f"{self.base_url}/ws/channels/{ref.channel_id}"
            f"?key={key if key is not None else ref.access_key}&dir={direction or ref.direction}"
        )

    async def open(self, ref: StreamChannelRef) -> aiohttp.ClientWebSocketResponse:
        return await self.session.ws_connect(self.url(ref))


async def serve(manager: ChannelManager) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/ws/channels/{channel_id}", manager.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"ws://127.0.0.1:{port}"


@pytest.fixture
async def channel_server() -> AsyncIterator[ChannelServer]:
    manager = ChannelManager()
    manager.start()
    runner, url = await serve(manager)
    async with aiohttp.ClientSession() as session:
        yield ChannelServer(manager, url, session)
    await manager.stop()
    await runner.cleanup()


async def _wait_until(condition: Callable[[], bool], deadline_s: float = 5.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.005)


WaitUntil = Callable[..., Awaitable[None]]


@pytest.fixture
def wait_until() -> WaitUntil:
    """Poll a condition with a bounded deadline (only where no event exists to await)."""
    return _wait_until
