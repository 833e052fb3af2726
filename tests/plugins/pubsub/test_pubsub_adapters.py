"""The pubsub adapters on their own: local delivery, and Redis shared by two adapters."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from plugins.pubsub.adapters import LocalAdapter, make_adapter
from plugins.pubsub.adapters.redis_adapter import RedisAdapter
from plugins.pubsub.config import AdapterConfig, PubSubConfig


class Inbox:
    """Collects ``(topic, data)`` deliveries; the adapters' real callback shape."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def __call__(self, topic: str, data: Any) -> None:
        self.queue.put_nowait((topic, data))

    async def next(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.queue.get(), 5)


async def test_local_adapter_delivers_synchronously() -> None:
    inbox = Inbox()
    adapter = make_adapter(None, inbox)
    assert isinstance(adapter, LocalAdapter)
    await adapter.start()
    await adapter.publish("t", {"n": 1})
    assert inbox.queue.get_nowait() == ("t", {"n": 1})
    await adapter.stop()


def test_memory_is_an_alias_and_unknown_names_are_rejected() -> None:
    assert isinstance(make_adapter(AdapterConfig(name="memory"), Inbox()), LocalAdapter)
    with pytest.raises(ValueError, match="unknown pubsub adapter"):
        PubSubConfig(adapter=AdapterConfig(name="kafka"))
    with pytest.raises(ValueError, match=r"got `int` - at `\$.adapter.config.redis_url`"):
        make_adapter(AdapterConfig(name="redis", config={"redis_url": 5}), Inbox())


@pytest.mark.redis
async def test_redis_adapters_share_topics(redis_url: str) -> None:
    topic, other = f"t-{uuid.uuid4()}", f"o-{uuid.uuid4()}"
    inbox_a, inbox_b = Inbox(), Inbox()
    a = make_adapter(AdapterConfig(name="redis", config={"redis_url": redis_url}), inbox_a)
    b = RedisAdapter(redis_url, inbox_b)
    await a.start()
    await b.start()
    try:
        await a.listen(topic)
        await b.listen(topic)
        await b.listen(other)
        await a.publish(other, "only b listens")
        await a.publish(topic, {"message": "hello", "n": [1, 2.5, None]})
        # A does not listen to `other`: its first delivery is the shared topic's message.
        assert await inbox_a.next() == (topic, {"message": "hello", "n": [1, 2.5, None]})
        assert await inbox_b.next() == (other, "only b listens")
        assert await inbox_b.next() == (topic, {"message": "hello", "n": [1, 2.5, None]})
        await b.unlisten(topic)
        await b.publish(topic, 1)
        await b.publish(other, 2)
        assert await inbox_a.next() == (topic, 1)
        assert await inbox_b.next() == (other, 2)
        assert inbox_a.queue.empty() and inbox_b.queue.empty()
    finally:
        await a.stop()
        await b.stop()
