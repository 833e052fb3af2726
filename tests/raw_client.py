"""A raw WebSocket worker for protocol tests: dict frames in, dict frames out, no SDK.

::

    async with raw_worker(engine) as w:
        await w.send({"type": "ping"})
        assert await w.recv("pong") == {"type": "pong"}

Frames that arrive while a test waits for another type are kept in an inbox, so a later
``recv`` still finds them. Every wait is bounded (``within``); nothing ever sleeps.

``barrier()`` is the tool for asserting that something did *not* arrive: the engine answers a
JSON ``ping`` in order on the same socket, so once the ``pong`` is here, every frame the engine
queued for this socket before it read the ping has been received too.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from iii_engine.engine import Engine

__all__ = ["DEFAULT_TIMEOUT", "RawWorker", "disconnect", "is_uuid4", "open_raw", "raw_worker"]

DEFAULT_TIMEOUT = 5.0

Frame = dict[str, Any]
Match = Callable[[Frame], bool]


def is_uuid4(value: object) -> bool:
    """True for a lowercase hyphenated UUIDv4 string (the form of engine-generated ids)."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


class RawWorker:
    """One worker socket driven frame by frame."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.inbox: list[Frame] = []
        self.worker_id = ""
        self.reattach_token = ""
        self.registered: Frame = {}
        self.close_code: int | None = None
        self.pongs: list[bytes] = []

    # --- sending ---------------------------------------------------------------------------------

    async def send(self, frame: Frame) -> None:
        """Send one frame as a JSON text frame."""
        await self.ws.send_str(json.dumps(frame))

    async def send_text(self, text: str) -> None:
        """Send an arbitrary text frame."""
        await self.ws.send_str(text)

    async def send_bytes(self, data: bytes) -> None:
        """Send an arbitrary binary frame."""
        await self.ws.send_bytes(data)

    # --- receiving -------------------------------------------------------------------------------

    async def recv(
        self,
        frame_type: str | None = None,
        match: Match | None = None,
        *,
        within: float = DEFAULT_TIMEOUT,
    ) -> Frame:
        """The first frame (inbox first) of ``frame_type`` satisfying ``match``."""

        def wanted(frame: Frame) -> bool:
            if frame_type is not None and frame.get("type") != frame_type:
                return False
            return match is None or match(frame)

        for index, frame in enumerate(self.inbox):
            if wanted(frame):
                return self.inbox.pop(index)
        async with asyncio.timeout(within):
            while True:
                frame = await self._read()
                if wanted(frame):
                    return frame
                self.inbox.append(frame)

    async def result(self, invocation_id: str, *, within: float = DEFAULT_TIMEOUT) -> Frame:
        """The ``invocationresult`` for ``invocation_id``."""
        return await self.recv(
            "invocationresult", lambda f: f.get("invocation_id") == invocation_id, within=within
        )

    async def invocation(
        self, function_id: str | None = None, *, within: float = DEFAULT_TIMEOUT
    ) -> Frame:
        """The next ``invokefunction`` the engine sends this worker (for ``function_id``)."""
        return await self.recv(
            "invokefunction",
            None if function_id is None else lambda f: f.get("function_id") == function_id,
            within=within,
        )

    async def barrier(self, *, within: float = DEFAULT_TIMEOUT) -> None:
        """Round-trip a JSON ping: afterwards every earlier frame for us is in the inbox."""
        await self.send({"type": "ping"})
        await self.recv("pong", within=within)

    def take(self, frame_type: str) -> list[Frame]:
        """Remove and return every inbox frame of ``frame_type``."""
        taken = [f for f in self.inbox if f.get("type") == frame_type]
        self.inbox = [f for f in self.inbox if f.get("type") != frame_type]
        return taken

    async def closed(self, *, within: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait until the engine closes the socket; return the close code."""
        async with asyncio.timeout(within):
            while self.close_code is None:
                try:
                    self.inbox.append(await self._read())
                except ConnectionResetError:
                    break
        return self.close_code

    async def _read(self) -> Frame:
        while True:
            msg = await self.ws.receive()
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                decoded = json.loads(msg.data)
                assert isinstance(decoded, dict), decoded
                return decoded
            if msg.type is aiohttp.WSMsgType.PONG:
                self.pongs.append(bytes(msg.data))
                continue
            if msg.type is aiohttp.WSMsgType.PING:
                continue
            if msg.type is aiohttp.WSMsgType.CLOSE:
                self.close_code = int(msg.data)
            elif self.close_code is None:
                self.close_code = self.ws.close_code if self.ws.close_code is not None else -1
            raise ConnectionResetError(f"socket closed ({msg.type.name}, code {self.close_code})")

    # --- invoking --------------------------------------------------------------------------------

    async def invoke(self, function_id: str, data: Any = None, **fields: Any) -> str:
        """Send a sync ``invokefunction``; return its invocation id."""
        invocation_id = str(uuid.uuid4())
        await self.send(
            {
                "type": "invokefunction",
                "invocation_id": invocation_id,
                "function_id": function_id,
                "data": data,
                **fields,
            }
        )
        return invocation_id

    async def call(self, function_id: str, data: Any = None, **fields: Any) -> Frame:
        """Invoke ``function_id`` and return the whole ``invocationresult`` frame."""
        return await self.result(await self.invoke(function_id, data, **fields))

    async def call_ok(self, function_id: str, data: Any = None, **fields: Any) -> Any:
        """Invoke ``function_id``; assert success and return ``result``."""
        frame = await self.call(function_id, data, **fields)
        assert "error" not in frame, frame
        return frame.get("result")

    async def reply(
        self, invocation: Frame, result: Any = None, *, error: Frame | None = None
    ) -> None:
        """Answer an ``invokefunction`` the engine sent us."""
        frame: Frame = {
            "type": "invocationresult",
            "invocation_id": invocation["invocation_id"],
            "function_id": invocation["function_id"],
        }
        if error is not None:
            frame["error"] = error
        else:
            frame["result"] = result
        await self.send(frame)

    async def register_worker(self, name: str | None = None, **fields: Any) -> Frame:
        """``engine::workers::register`` (sync, so the test sees the outcome); pid included."""
        data: Frame = {"runtime": "python", "version": "0.0-test", "pid": os.getpid(), **fields}
        if name is not None:
            data["name"] = name
        return await self.call("engine::workers::register", data)

    async def register_function(self, function_id: str, **fields: Any) -> None:
        """Send ``registerfunction`` and wait until the engine applied it."""
        await self.send({"type": "registerfunction", "id": function_id, **fields})
        await self.barrier()

    async def close(self) -> None:
        """Close the socket and the HTTP session."""
        await self.ws.close()
        await self.session.close()


async def open_raw(url: str, *, path: str = "/", within: float = DEFAULT_TIMEOUT) -> RawWorker:
    """Connect to ``url + path`` and read ``workerregistered`` (only for the ``/`` path)."""
    session = aiohttp.ClientSession()
    try:
        async with asyncio.timeout(within):
            ws = await session.ws_connect(url + path, autoping=False, max_msg_size=0)
        worker = RawWorker(session, ws)
        if path == "/":
            first = await worker._read()
            worker.registered = first
            worker.worker_id = str(first.get("worker_id", ""))
            worker.reattach_token = str(first.get("reattach_token", ""))
    except BaseException:
        await session.close()
        raise
    return worker


async def disconnect(engine: Engine, worker: RawWorker, *, within: float = DEFAULT_TIMEOUT) -> None:
    """Close ``worker`` and wait until the engine finished its disconnect cleanup."""
    conn = engine.workers.connections.get(worker.worker_id)
    await worker.close()
    if conn is not None:
        async with asyncio.timeout(within):
            await asyncio.shield(conn.cleaned)


@asynccontextmanager
async def raw_worker(
    engine: Engine, name: str | None = None, *, path: str = "/"
) -> AsyncIterator[RawWorker]:
    """A raw worker connected to ``engine`` (registered under ``name`` when given)."""
    worker = await open_raw(engine.worker_url, path=path)
    try:
        if name is not None:
            outcome = await worker.register_worker(name)
            assert outcome.get("result") == {"success": True}, outcome
        yield worker
    finally:
        await worker.close()
