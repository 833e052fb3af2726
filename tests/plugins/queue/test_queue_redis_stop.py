"""Stopping the redis adapter is bounded and closes every connection, even when a command
swallows the cancellation meant for its task.

On Python 3.11 redis-py sends a command under ``asyncio.wait_for`` (its socket timeout), which
returns the command's result instead of raising when the cancellation lands in the same loop
pass as the send completes. The tests reproduce that outcome deterministically by wrapping the
client's ``XREADGROUP`` so it always finishes its (real) blocking read and swallows the cancel
(:mod:`tests.plugins.swallow_cancel`).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from plugins.queue.adapters.redis_adapter import RedisAdapter
from plugins.queue.job import QueueSpec
from tests.plugins.swallow_cancel import swallow_cancellation

pytestmark = pytest.mark.redis


async def no_job(_job: Any) -> None:
    raise AssertionError("no job was enqueued")


async def test_close_ends_a_consumer_that_swallowed_its_cancellation(redis_url: str) -> None:
    adapter = RedisAdapter(redis_url, key_prefix=f"stop-{uuid.uuid4().hex[:8]}:", block_ms=200)
    await adapter.open()
    pool = adapter.client.connection_pool
    reading = swallow_cancellation(adapter.client, "xreadgroup")
    adapter.consume(QueueSpec(key="q"), no_job)
    await reading.wait()
    # Without the stop flag the consumer loops on and close() never returns.
    await asyncio.wait_for(adapter.close(), 2.0)
    assert not pool._in_use_connections
    assert all(not c.is_connected for c in pool._available_connections)


async def test_stop_consuming_ends_a_consumer_that_swallowed_its_cancellation(
    redis_url: str,
) -> None:
    adapter = RedisAdapter(redis_url, key_prefix=f"stop-{uuid.uuid4().hex[:8]}:", block_ms=200)
    await adapter.open()
    try:
        reading = swallow_cancellation(adapter.client, "xreadgroup")
        adapter.consume(QueueSpec(key="q"), no_job)
        await reading.wait()
        await asyncio.wait_for(adapter.stop_consuming("q"), 2.0)
    finally:
        await adapter.close()
