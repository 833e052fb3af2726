"""A raw WebSocket server that records what an SDK sends (it checks our frames, it is no engine).

Each accepted socket gets ``workerregistered`` (like an engine) and is handed to the test as a
:class:`RawConnection` whose inbound frames can be awaited one by one.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import WSMsgType, web

WAIT_S = 5.0


class RawConnection:
    """One accepted socket: the frames it received and a way to answer or drop it."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        worker_id: str,
        token: str,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.transport = transport
        """The server end of the socket: pause its reading to back the SDK's writes up."""
        self.worker_id = worker_id
        self.token = token
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.text_only = True
        self.closed = asyncio.Event()

    async def next(self) -> dict[str, Any]:
        """The next frame the SDK sent (waits at most 5 s)."""
        return await asyncio.wait_for(self.frames.get(), WAIT_S)

    async def take(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` frames."""
        return [await self.next() for _ in range(count)]

    async def send(self, frame: dict[str, Any]) -> None:
        """Send a frame to the SDK."""
        await self.ws.send_str(json.dumps(frame))

    async def send_all(self, frames: list[dict[str, Any]]) -> None:
        """Send ``frames`` back to back, in one loop pass (they share TCP segments)."""
        for frame in frames:
            await self.ws.send_str(json.dumps(frame))

    def pause_reading(self) -> None:
        """Stop reading the socket: the SDK's writes back up in its buffers."""
        transport: Any = self.transport  # asyncio's or uvloop's: both can pause reading
        transport.pause_reading()

    def resume_reading(self) -> None:
        """Read the socket again."""
        transport: Any = self.transport
        transport.resume_reading()

    async def close(self) -> None:
        """Drop the socket from the server side."""
        await self.ws.close()


class RawServer:
    """Accepts worker sockets on 127.0.0.1 and queues them for the test."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[RawConnection] = asyncio.Queue()
        self.url = ""
        self.refuse: str | None = None
        """When set, answer new sockets with an auth ``error`` frame carrying this message."""
        self._open: list[RawConnection] = []

    async def accept(self) -> RawConnection:
        """The next socket an SDK opened (waits at most 5 s)."""
        return await asyncio.wait_for(self.connections.get(), WAIT_S)

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if self.refuse is not None:
            error = {"code": "AUTH_ERROR", "message": self.refuse}
            await ws.send_str(json.dumps({"type": "error", "error": error}))
            await ws.close()
            return ws
        conn = RawConnection(ws, str(uuid.uuid4()), str(uuid.uuid4()), request.transport)
        self._open.append(conn)
        hello = {
            "type": "workerregistered",
            "worker_id": conn.worker_id,
            "reattach_token": conn.token,
        }
        await ws.send_str(json.dumps(hello))
        await self.connections.put(conn)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await conn.frames.put(json.loads(message.data))
            elif message.type is WSMsgType.BINARY:
                conn.text_only = False
        conn.closed.set()
        return ws


@asynccontextmanager
async def raw_server(port: int = 0) -> AsyncIterator[RawServer]:
    """Run a :class:`RawServer` on ``port`` (default: an ephemeral one)."""
    server = RawServer()
    app = web.Application()
    app.router.add_get("/", server._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"ws://127.0.0.1:{port}"
    try:
        yield server
    finally:
        for conn in server._open:
            await conn.ws.close()
        await runner.cleanup()
