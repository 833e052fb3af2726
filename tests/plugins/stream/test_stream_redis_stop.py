"""Stopping the redis event bus is bounded even when ``PUBLISH`` swallows the cancellation.

On Python 3.11 redis-py sends a command under ``asyncio.wait_for``, which returns normally
when the cancellation lands as the send completes. The test reproduces that outcome by
wrapping the bus's ``PUBLISH`` so it always finishes (for real) and swallows the cancel
(:mod:`tests.plugins.swallow_cancel`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plugins.stream.events import RedisBus
from tests.plugins.swallow_cancel import swallow_cancellation

pytestmark = pytest.mark.redis


async def test_stop_ends_a_publisher_that_swallowed_its_cancellation(redis_url: str) -> None:
    bus = RedisBus(redis_url.rsplit("/", 1)[0] + "/7", channel="iii:stream:stop-test")
    await bus.start(lambda *_: None)
    client: Any = bus._client
    publishing = swallow_cancellation(client, "publish")
    bus.publish("s", "g", None, b'{"streamName":"s","groupId":"g"}')
    await publishing.wait()
    # Without the stop flag the publisher goes back to waiting for frames and stop() never
    # returns by itself (asyncio.wait, unlike wait_for, does not cancel it at the deadline).
    stopping = asyncio.ensure_future(bus.stop())
    done, _ = await asyncio.wait([stopping], timeout=2.0)
    if not done:
        stopping.cancel()
        await asyncio.gather(stopping, return_exceptions=True)
    assert done, "stop() did not return"
    await stopping
