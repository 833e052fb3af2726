"""The stream event wrapper (workers.md §4.3) and the buses that carry it to subscribers.

Every change becomes one wrapper, encoded to JSON once::

    {"type": "stream", "timestamp": 1724250000000, "streamName": "chat", "groupId": "room-1",
     "id": "m1", "event": {"type": "create", "data": {...}}}

and is published on the worker's :class:`EventBus`. The bus hands the encoded frame, with its
routing keys, to ``deliver`` (the WebSocket hub) on every engine that shares it: :class:`LocalBus`
in-process, :class:`RedisBus` through Redis pub/sub (so a subscriber on engine A sees a write made
on engine B). Buses keep publication order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

__all__ = ["Deliver", "EventBus", "LocalBus", "RedisBus", "Routing", "wrapper"]

log = logging.getLogger("iii.stream")

Deliver = Callable[[str, str, "str | None", bytes], None]
"""``deliver(stream_name, group_id, item_id, frame)``."""

REDIS_CHANNEL = "iii:stream:events"
OUTBOX_LIMIT = 10_000
"""Events kept for ``PUBLISH`` while Redis is unreachable (then the oldest are dropped)."""
STOP_GRACE_S = 6.0
"""How long ``stop`` waits for its tasks: a command ends within redis-py's 5 s socket timeout."""


def wrapper(
    stream: str, group: str, item: str | None, event: dict[str, Any], timestamp: int
) -> dict[str, Any]:
    """The §4.3 wrapper around ``event`` (``timestamp`` in epoch milliseconds)."""
    return {
        "type": "stream",
        "timestamp": timestamp,
        "streamName": stream,
        "groupId": group,
        "id": item,
        "event": event,
    }


class Routing(msgspec.Struct):
    """The routing keys of an encoded wrapper (the rest of the frame is not decoded)."""

    streamName: str
    groupId: str
    id: str | None = None


class EventBus(Protocol):
    """Carries encoded wrappers to ``deliver`` on every engine sharing the bus, in order."""

    async def start(self, deliver: Deliver) -> None:
        """Begin delivering to ``deliver``."""
        ...

    def publish(self, stream: str, group: str, item: str | None, frame: bytes) -> None:
        """Queue ``frame``; never blocks."""
        ...

    async def stop(self) -> None:
        """Stop delivering; release connections."""
        ...


class LocalBus:
    """In-process: ``publish`` delivers at once."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        """Deliver to ``deliver`` from now on."""
        self._deliver = deliver

    def publish(self, stream: str, group: str, item: str | None, frame: bytes) -> None:
        """Deliver now."""
        if self._deliver is not None:
            self._deliver(stream, group, item, frame)

    async def stop(self) -> None:
        """Stop delivering."""
        self._deliver = None


class RedisBus:
    """Redis pub/sub on channel ``iii:stream:events``; this engine's writes come back too.

    One task publishes in order (a pool could reorder concurrent ``PUBLISH`` calls); another
    reads the subscription and delivers. While Redis is unreachable, frames wait in a bounded
    outbox (:data:`OUTBOX_LIMIT`).
    """

    def __init__(self, url: str, channel: str = REDIS_CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._outbox: deque[bytes] = deque()
        self._dropped = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: Any = None
        self._pubsub: Any = None
        self._routing = msgspec.json.Decoder(Routing)
        self._stopping = False

    async def start(self, deliver: Deliver) -> None:
        """Connect, subscribe (confirmed), then start the publishing and reading tasks."""
        import redis.asyncio as aioredis

        self._stopping = False
        self._client = aioredis.from_url(self.url)
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self.channel)
        # The confirmation is the first message; once read, nothing published later is missed.
        while True:
            message = await self._pubsub.get_message(timeout=10.0)
            if message is not None and message["type"] == "subscribe":
                break
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._send(), name="iii-stream-redis-publish"),
            loop.create_task(self._read(deliver), name="iii-stream-redis-read"),
        ]

    def publish(self, stream: str, group: str, item: str | None, frame: bytes) -> None:
        """Queue for ``PUBLISH``; while Redis is away the oldest frames beyond the bound go."""
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._outbox.popleft()
            self._dropped += 1
            if self._dropped == 1 or self._dropped % OUTBOX_LIMIT == 0:
                log.warning("iii-stream: redis unreachable, %d event(s) dropped", self._dropped)
        self._outbox.append(frame)
        self._wake.set()

    async def stop(self) -> None:
        """Stop both tasks and close the connections.

        On Python 3.11 redis-py sends a command under ``asyncio.wait_for``, which swallows a
        cancellation landing as the send completes (the ``PUBLISH`` then returns normally), so
        the loops also check a stop flag; the wait for them is bounded all the same.
        """
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
            for task in late:
                log.warning("iii-stream: %s did not stop in time; abandoning it", task)
        self._tasks = []
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def _send(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox and not self._stopping:
                frame = self._outbox[0]
                try:
                    await self._client.publish(self.channel, frame)
                except Exception as exc:
                    log.warning("iii-stream: redis publish failed, retrying: %s", exc)
                    await asyncio.sleep(0.5)
                    continue
                self._outbox.popleft()

    async def _read(self, deliver: Deliver) -> None:
        while not self._stopping:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except Exception as exc:
                if self._stopping:
                    return
                log.warning("iii-stream: redis subscription failed, retrying: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if message is None or message["type"] != "message":
                continue
            frame: bytes = message["data"]
            try:
                where = self._routing.decode(frame)
            except msgspec.DecodeError:
                log.warning("iii-stream: ignored an undecodable event on %s", self.channel)
                continue
            deliver(where.streamName, where.groupId, where.id, frame)
