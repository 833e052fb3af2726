"""Helpers for the iii-stream tests."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker

__all__ = ["WAIT", "Subscriber", "call", "call_error", "item", "stream_port"]

WAIT = 5.0


def stream_port(iii_engine: Engine, name: str = "iii-stream") -> int:
    """The bound WebSocket port of the engine's iii-stream worker."""
    port: int = iii_engine.builtin(name).port  # type: ignore[attr-defined]
    return port


def item(item_id: str, group: str = "room-1", stream: str = "chat") -> dict[str, str]:
    """The address fields of one item."""
    return {"stream_name": stream, "group_id": group, "item_id": item_id}


async def call(client: Worker, function_id: str, payload: Any) -> Any:
    """Invoke ``function_id`` through the engine and return its result."""
    return await client.trigger(function_id, payload)


async def call_error(client: Worker, function_id: str, payload: Any) -> InvocationError:
    """Invoke ``function_id``, expecting it to fail; return the error."""
    with pytest.raises(InvocationError) as info:
        await call(client, function_id, payload)
    return info.value


class Subscriber:
    """A WebSocket client of the subscription protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, frame: Any) -> None:
        """Send ``frame`` as JSON text (a ``str`` is sent as is)."""
        await self.ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    async def join(
        self, sub_id: str, stream: str = "chat", group: str = "room-1", item_id: str | None = None
    ) -> dict[str, Any]:
        """Join and return the first frame (the ``sync``, or ``unauthorized``)."""
        data: dict[str, Any] = {"subscriptionId": sub_id, "streamName": stream, "groupId": group}
        if item_id is not None:
            data["id"] = item_id
        await self.send({"type": "join", "data": data})
        return await self.next()

    async def leave(self, sub_id: str) -> None:
        """Leave a subscription."""
        await self.send({"type": "leave", "data": {"subscriptionId": sub_id}})

    async def next(self, within: float = WAIT) -> dict[str, Any]:
        """The next frame, decoded."""
        message = await self.ws.receive(timeout=within)
        if message.type != aiohttp.WSMsgType.TEXT:
            pytest.fail(f"expected a text frame, got {message.type} {message.data!r}")
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def closed(self, within: float = WAIT) -> int | None:
        """Wait for the server's close; return its code."""
        while True:
            message = await self.ws.receive(timeout=within)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return self.ws.close_code
            if message.type == aiohttp.WSMsgType.ERROR:
                return self.ws.close_code
