"""Data channels: bounded, ordered frame pipes between one writer and one reader.

A channel is created with a writer ref and a reader ref (same ``channel_id`` and ``access_key``).
Each side is claimed once, either by a WebSocket on ``/ws/channels/{id}?key=&dir=`` or in
process through :meth:`ChannelManager.local`. Frames keep their type (``bytes`` = binary,
``str`` = text) and order; the writer is held back (the engine stops reading its socket) while
``buffer_size`` frames wait for the reader.

Lifetime: the writer closing ends the stream (the reader gets the rest, then end-of-stream);
the reader leaving drops the writer and deletes the channel; a channel both of whose sides
have been claimed disappears once both are done; a channel never claimed by both sides is
deleted by the sweep after ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Coroutine
from time import monotonic
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from iii_engine.channels.ends import LocalChannel
from iii_engine.channels.pipe import (
    MAX_FRAME_SIZE,
    ChannelClosedError,
    _Channel,
    _Pipe,
)
from iii_engine.server.sockets import set_nodelay
from iii_sdk.plugin import decode_input
from iii_sdk.protocol import StreamChannelRef, new_id

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "MAX_FRAME_SIZE",
    "ChannelClosedError",
    "ChannelManager",
    "LocalChannel",
]

log = logging.getLogger("iii.channels")

DEFAULT_BUFFER_SIZE = 64
MAX_BUFFER_SIZE = 1024

_MAX_INBOUND_MESSAGE = 16 * 1024 * 1024


class _CreateInput(msgspec.Struct):
    buffer_size: int | None = None


class ChannelManager:
    """Every data channel of one engine; see the module docstring for the semantics.

    ``ttl`` (seconds a channel may wait for both sides) and ``sweep_interval`` are parameters so
    tests can use small values; upstream uses 5 minutes and 60 seconds.
    """

    def __init__(self, *, ttl: float = 300.0, sweep_interval: float = 60.0) -> None:
        self._channels: dict[str, _Channel] = {}
        self._by_owner: dict[str, set[str]] = {}
        self._ttl = ttl
        self._sweep_interval = sweep_interval
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- creation ---------------------------------------------------------------------------

    def create(
        self, buffer_size: int = DEFAULT_BUFFER_SIZE, *, owner: str | None = None
    ) -> tuple[StreamChannelRef, StreamChannelRef]:
        """Create a channel; return its ``(writer_ref, reader_ref)``.

        ``buffer_size`` is clamped to 1..1024. A channel with an ``owner`` (a connection id) is
        removed by :meth:`drop_owner` when that connection goes away.
        """
        channel = self._new(buffer_size, owner)
        return channel.ref("write"), channel.ref("read")

    def _new(self, buffer_size: int, owner: str | None) -> _Channel:
        if not 0 < buffer_size <= MAX_BUFFER_SIZE:  # also true for a float or bool in range
            buffer_size = min(max(int(buffer_size), 1), MAX_BUFFER_SIZE)
        channel = _Channel(new_id(), new_id(), owner, monotonic(), _Pipe(buffer_size))
        self._channels[channel.id] = channel
        if owner is not None:
            self._by_owner.setdefault(owner, set()).add(channel.id)
        return channel

    def create_result(self, payload: Any) -> dict[str, Any]:
        """Serve ``engine::channels::create``: ``{buffer_size?}`` -> ``{writer, reader}``."""
        args = decode_input(payload or {}, _CreateInput, "engine::channels::create")
        size = DEFAULT_BUFFER_SIZE if args.buffer_size is None else args.buffer_size
        writer, reader = self.create(size)
        return {"writer": msgspec.to_builtins(writer), "reader": msgspec.to_builtins(reader)}

    def create_local(
        self, buffer_size: int = DEFAULT_BUFFER_SIZE, *, owner: str | None = None
    ) -> LocalChannel:
        """Create a channel and return its in-process handle (``WorkerContext.create_channel``)."""
        if owner is not None or not 0 < buffer_size <= MAX_BUFFER_SIZE:
            return LocalChannel(self, self._new(buffer_size, owner))
        # _new for the usual case, spelled out: iii-http makes two of these per request.
        channel = _Channel(new_id(), new_id(), None, monotonic(), _Pipe(buffer_size))
        self._channels[channel.id] = channel
        return LocalChannel(self, channel)

    def local(self, channel_id: str) -> LocalChannel:
        """The in-process handle of an existing channel; ``KeyError`` when it does not exist."""
        return LocalChannel(self, self._channels[channel_id])

    def __contains__(self, channel_id: object) -> bool:
        return channel_id in self._channels

    def __len__(self) -> int:
        return len(self._channels)

    def buffered(self, channel_id: str) -> int:
        """How many frames wait in the channel for its reader (0 for an unknown channel)."""
        channel = self._channels.get(channel_id)
        return len(channel.pipe) if channel else 0

    # --- removal ----------------------------------------------------------------------------

    def discard(self, channel_id: str) -> None:
        """Delete a channel now: a waiting writer fails, the reader ends, sockets close."""
        channel = self._channels.get(channel_id)
        if channel is not None:
            self.discard_channel(channel)

    def discard_channel(self, channel: _Channel) -> None:
        """:meth:`discard` for a channel in hand (an in-process end's)."""
        if channel.owner is None and not channel.sockets:
            # The usual case (HTTP's two channels per request, unclaimed or claimed in
            # process), spelled out: this runs twice for every request.
            channel.on_read = channel.on_write = None
            if self._channels.get(channel.id) is channel:
                del self._channels[channel.id]
            pipe = channel.pipe
            if pipe.data_waiter is None and pipe.room_waiter is None:
                pipe.broken = True  # break_() with nobody to wake
                pipe.frames.clear()
            else:
                pipe.break_()
            return
        self._remove(channel)
        channel.pipe.break_()
        for ws in list(channel.sockets):
            self._spawn(ws.close(code=WSCloseCode.GOING_AWAY))

    def drop_owner(self, owner: str) -> None:
        """Delete every channel created on behalf of connection ``owner``."""
        for channel_id in self._by_owner.pop(owner, set()):
            self.discard(channel_id)

    def _remove(self, channel: _Channel) -> None:
        # A side claimed after this must not wake the channel's finished owner.
        channel.on_read = channel.on_write = None
        if self._channels.get(channel.id) is channel:
            del self._channels[channel.id]
        if channel.owner is not None:
            owned = self._by_owner.get(channel.owner)
            if owned is not None:
                owned.discard(channel.id)
                if not owned:
                    del self._by_owner[channel.owner]

    def writer_finished(self, channel: _Channel) -> None:
        """The writer side closed (:class:`iii_engine.channels.ends.ChannelSides`)."""
        channel.writer_done = True
        channel.pipe.end()
        if channel.reader_done:
            self._remove(channel)

    def reader_finished(self, channel: _Channel) -> None:
        """The reader side left (:class:`iii_engine.channels.ends.ChannelSides`)."""
        # A stream nobody reads is useless: drop the writer and forget the channel.
        if channel.reader_done:
            return
        channel.reader_done = True
        channel.pipe.break_()
        self._remove(channel)
        if channel.writer_ws is not None and not channel.writer_done:
            self._spawn(channel.writer_ws.close(code=WSCloseCode.GOING_AWAY))

    def sweep(self) -> int:
        """Delete channels older than ``ttl`` not claimed by both sides; return how many."""
        deadline = monotonic() - self._ttl
        stale = [
            c
            for c in self._channels.values()
            if c.created_at <= deadline and not (c.writer_claimed and c.reader_claimed)
        ]
        for channel in stale:
            self.discard(channel.id)
        if stale:
            log.debug("swept %d unclaimed channel(s)", len(stale))
        return len(stale)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the periodic sweep (call from the running loop)."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="iii-channel-sweep")

    async def stop(self) -> None:
        """Stop the sweep, delete every channel and close their sockets."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for channel_id in list(self._channels):
            self.discard(channel_id)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            self.sweep()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- sockets ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve ``GET /ws/channels/{channel_id}?key=<access_key>&dir=read|write``."""
        channel = self._channels.get(request.match_info.get("channel_id", ""))
        key = request.query.get("key", "")
        if channel is None or not hmac.compare_digest(key.encode(), channel.access_key.encode()):
            raise web.HTTPNotFound(text="channel not found")
        direction = request.query.get("dir")
        if direction not in ("read", "write"):
            raise web.HTTPBadRequest(text="dir must be 'read' or 'write'")
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=_MAX_INBOUND_MESSAGE)
        await ws.prepare(request)
        set_nodelay(request)
        claimed = channel.writer_claimed if direction == "write" else channel.reader_claimed
        if claimed or channel.id not in self._channels:
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"side already open")
            return ws
        channel.sockets.add(ws)
        try:
            if direction == "write":
                await self._serve_writer(channel, ws)
            else:
                await self._serve_reader(channel, ws)
        finally:
            channel.sockets.discard(ws)
        return ws

    async def _serve_writer(self, channel: _Channel, ws: web.WebSocketResponse) -> None:
        channel.writer_ws = ws
        channel.claim("write")
        try:
            if channel.pipe.broken:
                return
            async for msg in ws:
                if msg.type is WSMsgType.BINARY or msg.type is WSMsgType.TEXT:
                    if not await channel.pipe.put(msg.data):
                        break
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self.writer_finished(channel)
            await ws.close(code=WSCloseCode.GOING_AWAY if channel.pipe.broken else WSCloseCode.OK)

    async def _serve_reader(self, channel: _Channel, ws: web.WebSocketResponse) -> None:
        channel.claim("read")
        pump = asyncio.create_task(self._pump(channel, ws))
        try:
            # The reader sends nothing useful; receiving notices it leaving.
            async for _ in ws:
                pass
        finally:
            if not pump.done():
                pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pump
            self.reader_finished(channel)

    async def _pump(self, channel: _Channel, ws: web.WebSocketResponse) -> None:
        pipe = channel.pipe
        while (frame := await pipe.get()) is not None:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
        # A deleted channel ends abnormally, so the reader can tell it from a finished stream.
        code = WSCloseCode.GOING_AWAY if pipe.broken else WSCloseCode.OK
        self.reader_finished(channel)
        await ws.close(code=code)
