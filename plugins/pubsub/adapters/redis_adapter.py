"""The ``redis`` adapter: Redis pub/sub channel = topic, message = JSON text.

One Redis subscription per topic per engine (the worker fans out locally), so every engine
sharing the Redis server delivers each message to its own subscribers exactly once, including
the engine that published it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from plugins.pubsub.adapters.base import Deliver

__all__ = ["RedisAdapter"]

log = logging.getLogger("iii.pubsub.redis")

_CONFIRM_TIMEOUT_S = 10.0
_RETRY_DELAY_S = 0.5


class RedisAdapter:
    """Publishes with ``PUBLISH`` and receives on one dedicated pub/sub connection."""

    def __init__(self, redis_url: str, deliver: Deliver) -> None:
        self._url = redis_url
        self._deliver = deliver
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmations: dict[tuple[str, str], asyncio.Future[None]] = {}
        # A private channel keeps the pub/sub connection subscribed (and the reader busy)
        # even while no topic has subscribers.
        self._control = f"iii:pubsub:control:{uuid.uuid4()}"

    async def start(self) -> None:
        """Connect and start the receiving task."""
        self._client = aioredis.from_url(self._url)
        self._pubsub = self._client.pubsub()
        confirmed = self._expect("subscribe", self._control)
        await self._pubsub.subscribe(self._control)
        self._reader = asyncio.create_task(self._read(), name="iii-pubsub-redis")
        await self._confirmed(confirmed, self._control)

    async def stop(self) -> None:
        """Stop receiving and close both connections."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for future in self._confirmations.values():
            future.cancel()
        self._confirmations.clear()
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def publish(self, topic: str, data: Any) -> None:
        """``PUBLISH topic <json>``."""
        assert self._client is not None, "adapter not started"
        await self._client.publish(topic, msgspec.json.encode(data))

    async def listen(self, topic: str) -> None:
        """``SUBSCRIBE topic`` and wait for Redis to confirm it."""
        confirmed = self._expect("subscribe", topic)
        await self._pubsub.subscribe(topic)
        await self._confirmed(confirmed, topic)

    async def unlisten(self, topic: str) -> None:
        """``UNSUBSCRIBE topic`` and wait for Redis to confirm it."""
        if self._pubsub is not None:
            confirmed = self._expect("unsubscribe", topic)
            await self._pubsub.unsubscribe(topic)
            await self._confirmed(confirmed, topic)

    def _expect(self, kind: str, channel: str) -> asyncio.Future[None]:
        future = self._confirmations.get((kind, channel))
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._confirmations[(kind, channel)] = future
        return future

    async def _confirmed(self, future: asyncio.Future[None], channel: str) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(future), _CONFIRM_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectionError(f"redis did not confirm the subscription to {channel!r}") from exc

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("redis pubsub connection lost (%s); retrying", exc)
                await asyncio.sleep(_RETRY_DELAY_S)
                continue
            if message is not None:
                self._on_message(message)

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        topic = channel.decode() if isinstance(channel, bytes) else str(channel)
        if kind == "message":
            try:
                data = msgspec.json.decode(message["data"])
            except msgspec.DecodeError:
                log.warning("dropping a non-JSON message on topic %r", topic)
                return
            self._deliver(topic, data)
        elif kind in ("subscribe", "unsubscribe"):
            future = self._confirmations.pop((kind, topic), None)
            if future is not None and not future.done():
                future.set_result(None)
