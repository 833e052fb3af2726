"""Fixtures for the iii-stream tests: an engine running iii-stream, SDK clients, subscribers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.plugins.stream.stream_helpers import Subscriber, stream_port

MEMORY = {
    "name": "iii-stream",
    "config": {"host": "127.0.0.1", "port": 0, "adapter": {"name": "memory"}},
}


@pytest.fixture
async def stream_engine() -> AsyncIterator[Engine]:
    """An engine running iii-stream on the memory store, WebSocket on an ephemeral port."""
    async with start_engine(workers=[MEMORY]) as engine:
        yield engine


@pytest.fixture
async def client(stream_engine: Engine, iii_worker: Callable[..., Awaitable[Worker]]) -> Worker:
    """An SDK worker connected to ``stream_engine``."""
    return await iii_worker(stream_engine, name="stream-client")


@pytest.fixture
async def subscribe(
    stream_engine: Engine,
) -> AsyncIterator[Callable[..., Awaitable[Subscriber]]]:
    """``await subscribe(engine=None, **headers)``: a WebSocket on the stream port."""
    session = aiohttp.ClientSession()
    opened: list[Subscriber] = []

    async def connect(iii_engine: Engine | None = None, path: str = "/") -> Subscriber:
        port = stream_port(iii_engine or stream_engine)
        ws = await session.ws_connect(f"ws://127.0.0.1:{port}{path}")
        opened.append(Subscriber(ws))
        return opened[-1]

    yield connect
    for sub in opened:
        await sub.ws.close()
    await session.close()
