"""The storage of one data channel: a bounded single-producer single-consumer frame pipe."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import msgspec
from aiohttp import web

from iii_sdk.protocol import StreamChannelRef

__all__ = ["MAX_FRAME_SIZE", "ChannelClosedError", "Frame"]

MAX_FRAME_SIZE = 64 * 1024
"""Local writers split binary data into frames of at most this size (as the SDKs do)."""

Frame = bytes | str


class ChannelClosedError(ConnectionResetError):
    """The other side of the channel is gone (reader closed, or the channel was deleted)."""


OpenCallback = Callable[[], None]
"""Called (synchronously, once) when a side of a channel is claimed."""


class _Pipe(msgspec.Struct, eq=False):
    """A single-producer single-consumer bounded frame queue with end and break states.

    Waiters are futures created only when a side actually has to wait, so an idle channel
    costs no event-loop objects (HTTP creates two per request). A Struct, as its C constructor
    is the cheapest way to make one.
    """

    capacity: int
    frames: deque[Frame] = msgspec.field(default_factory=deque)
    data_waiter: asyncio.Future[None] | None = None
    room_waiter: asyncio.Future[None] | None = None
    ended: bool = False
    broken: bool = False

    def __len__(self) -> int:
        return len(self.frames)

    async def put(self, frame: Frame) -> bool:
        """Queue ``frame``, waiting for room; ``False`` when the reader is gone."""
        while len(self.frames) >= self.capacity and not self.broken:
            self.room_waiter = asyncio.get_running_loop().create_future()
            await self.room_waiter
        if self.broken or self.ended:
            return False
        self.frames.append(frame)
        self._wake_reader()
        return True

    async def get(self) -> Frame | None:
        """The next frame, or ``None`` once the writer has ended and the queue is empty."""
        while not self.frames:
            if self.ended or self.broken:
                return None
            self.data_waiter = asyncio.get_running_loop().create_future()
            await self.data_waiter
        frame = self.frames.popleft()
        self._wake_writer()
        return frame

    def end(self) -> None:
        """The writer is done: the reader drains what is queued, then sees the end."""
        self.ended = True
        self._wake_reader()

    def break_(self) -> None:
        """The reader is gone: wake a waiting writer and refuse further frames."""
        self.broken = True
        self.frames.clear()
        if self.room_waiter is not None:
            self._wake_writer()
        if self.data_waiter is not None:
            self._wake_reader()

    def _wake_reader(self) -> None:
        waiter, self.data_waiter = self.data_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter, self.room_waiter = self.room_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Channel(msgspec.Struct, eq=False):
    """One channel's state: its ids, its pipe, and which sides are claimed or done.

    A Struct for its C constructor: HTTP creates two of these per request.
    """

    id: str
    access_key: str
    owner: str | None
    created_at: float
    pipe: _Pipe
    writer_claimed: bool = False
    reader_claimed: bool = False
    writer_done: bool = False
    reader_done: bool = False
    writer_ws: web.WebSocketResponse | None = None
    sockets: set[web.WebSocketResponse] = msgspec.field(default_factory=set)
    on_read: OpenCallback | None = None
    on_write: OpenCallback | None = None

    def claim(self, direction: str) -> None:
        """Mark side ``direction`` claimed and fire its ``LocalChannel.when_opened`` callback."""
        if direction == "write":
            self.writer_claimed = True
            callback, self.on_write = self.on_write, None
        else:
            self.reader_claimed = True
            callback, self.on_read = self.on_read, None
        if callback is not None:
            callback()

    def ref(self, direction: str) -> StreamChannelRef:
        return StreamChannelRef(
            channel_id=self.id,
            access_key=self.access_key,
            direction="write" if direction == "write" else "read",
        )
