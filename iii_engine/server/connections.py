"""One :class:`WorkerConnection` per worker socket: its state, its read loop, its sends.

The read loop decodes only the envelope of each frame and dispatches it inline, in arrival
order. Registration frames are applied before the next frame is read; invocations are
forwarded without a task (see :mod:`iii_engine.core.router`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSMsgType, web

from iii_engine.server.badframes import BadFrameLog
from iii_engine.server.corked import CorkedWriter
from iii_sdk.protocol import ErrorBody, InvocationResult, encode, new_id

if TYPE_CHECKING:
    from iii_engine.core.peer import AccessSession, Chunk
    from iii_engine.core.registry import FunctionEntry

__all__ = ["TELEMETRY_PREFIXES", "FrameHandler", "WorkerConnection"]

log = logging.getLogger("iii.engine")

TELEMETRY_PREFIXES = (b"OTLP", b"MTRC", b"LOGS")
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY


class FrameHandler(Protocol):
    """What a connection hands every frame it reads to (the engine gives it one)."""

    def dispatch(self, conn: WorkerConnection, data: bytes) -> Awaitable[None] | None:
        """Decode one text frame; the awaitable applying it (awaited before the next frame
        is read), or None when there is nothing to apply."""
        ...

    def telemetry(self, conn: WorkerConnection | None, frame: bytes) -> None:
        """An ``OTLP``/``MTRC``/``LOGS`` binary frame."""
        ...


class WorkerConnection:
    """A connected worker: identity, self-reported metadata, its read loop and its sends.

    It implements :class:`iii_engine.core.peer.Peer`; what the worker registered is kept by
    the registries, not here.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        ip_address: str | None,
        handler: FrameHandler,
        writer: CorkedWriter | None = None,
        *,
        session: AccessSession | None = None,
        allowed: dict[FunctionEntry | None, bool] | None = None,
        max_pending: int = 10000,
    ) -> None:
        self.handler = handler
        self.ws = ws
        self.worker_id = new_id()
        self.reattach_token = new_id()
        self.ip_address = ip_address
        self.connected_at_ms = int(time.time() * 1000)
        self.namespace = "default"
        self.info: dict[str, Any] = {}
        """Metadata reported through ``engine::workers::register``."""
        self.features: frozenset[str] = frozenset()
        """0.25 features declared in ``engine::workers::register`` (``observe.v1``, ...)."""
        self.max_inbound: int | None = None
        """Largest message this worker reads, when below the engine's 64 MiB (see
        :mod:`iii_engine.core.sizes`)."""
        self.closing = False
        self.cleaned = asyncio.get_running_loop().create_future()
        self._stop_reading = False
        self.writer: CorkedWriter | None = writer
        self.bad_frames: BadFrameLog | None = None
        """Rate limit of the undecodable-frame log lines (made at the first such frame)."""
        self.session = session
        """The access session (listeners with ``rbac`` or middleware only)."""
        self.allowed = allowed
        """``session.allowed``: entries this connection may call without a check."""
        self.pending_count = 0
        """Calls this connection made that are not answered yet (kept by the router)."""
        self.max_pending = max_pending
        """The listener's ``max_pending_invocations``."""

    # --- identity --------------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The self-reported worker name, if any."""
        name = self.info.get("name")
        return name if isinstance(name, str) else None

    @property
    def pid(self) -> int | None:
        """The self-reported process id, if any."""
        pid = self.info.get("pid")
        return pid if isinstance(pid, int) else None

    def __repr__(self) -> str:
        return f"<WorkerConnection {self.worker_id} {self.name or ''}>"

    # --- sending ---------------------------------------------------------------------------------

    async def send(self, frame: bytes) -> bool:
        """Send one encoded text frame; False when the socket is gone.

        Frames are corked (see :mod:`iii_engine.server.corked`); the call only waits when the peer
        reads too slowly.
        """
        if self.ws.closed:
            return False
        try:
            writer = self.writer
            if writer is None:
                await self.ws.send_frame(frame, _TEXT)
            elif not writer.write(frame):
                await writer.drain()
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def send_parts(self, parts: tuple[Chunk, ...]) -> bool:
        """Send one text frame given as chunks (see :meth:`CorkedWriter.write_parts`)."""
        if self.ws.closed:
            return False
        writer = self.writer
        if writer is None:
            return await self.send(b"".join(parts))
        try:
            if not writer.write_parts(parts):
                await writer.drain()
        except (ConnectionError, RuntimeError):
            return False
        return True

    def post(self, frame: bytes) -> None:
        """Queue a frame without waiting (fire-and-forget frames the engine originates)."""
        if self.ws.closed:
            return
        if self.writer is not None:
            self.writer.write(frame)
        else:
            asyncio.get_running_loop().create_task(self.send_void(frame))

    async def send_void(self, frame: bytes) -> None:
        """:meth:`send` for use as a fire-and-forget task."""
        await self.send(frame)

    async def send_error(self, invocation_id: str, function_id: str, code: str, msg: str) -> None:
        """Answer an invocation with an error body."""
        await self.send(
            encode(
                InvocationResult(
                    invocation_id=invocation_id,
                    function_id=function_id,
                    error=ErrorBody(code=code, message=msg),
                )
            )
        )

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close the socket (the read loop ends and cleanup runs)."""
        self._stop_reading = True
        if self.writer is not None:
            self.writer.flush()  # queued frames go out before the Close frame
        if not self.ws.closed:
            await self.ws.close(code=code, message=message)

    def stop_reading(self) -> None:
        """Make the read loop stop before it reads another frame (``reattach`` eviction)."""
        self._stop_reading = True

    # --- reading ---------------------------------------------------------------------------------

    async def read_loop(self) -> None:
        """Process frames until the socket closes."""
        ws = self.ws
        handler = self.handler
        while not self._stop_reading:
            msg = await ws.receive()
            kind = msg.type
            if kind is _TEXT:
                data = msg.data
            elif kind is _BINARY:
                data = msg.data
                if data[:4] in TELEMETRY_PREFIXES:
                    handler.telemetry(self, data)
                    continue
            elif kind in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            else:
                continue
            if self._stop_reading:
                break
            step = handler.dispatch(self, data)
            if step is not None:
                try:  # zero-cost unless raised
                    await step
                except RecursionError:
                    # Nesting just under the decoder's limit can still overflow a later decode.
                    self.report_bad_frame("frame nested too deeply")

    def report_bad_frame(self, error: object) -> None:
        """Log an ignored frame, truncated and rate-limited per connection."""
        if self.bad_frames is None:
            self.bad_frames = BadFrameLog(log)
        self.bad_frames.report(self.worker_id, error)
