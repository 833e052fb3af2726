"""The storage of one data channel: a bounded single-producer single-consumer frame pipe."""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp import web

from iii_sdk.protocol import StreamChannelRef, new_id

__all__ = ["MAX_FRAME_SIZE", "ChannelClosedError", "Frame"]

MAX_FRAME_SIZE = 64 * 1024
"""Local writers split binary data into frames of at most this size (as the SDKs do)."""

Frame = bytes | str


class ChannelClosedError(ConnectionResetError):
    """The other side of the channel is gone (reader closed, or the channel was deleted)."""


_uuid4 = new_id


class _Pipe:
    """A single-producer single-consumer bounded frame queue with end and break states.

    Waiters are futures created only when a side actually has to wait, so an idle channel
    costs no event-loop objects (HTTP creates two per request).
    """

    __slots__ = ("_capacity", "_data_waiter", "_frames", "_room_waiter", "broken", "ended")

    def __init__(self, capacity: int) -> None:
        self._frames: deque[Frame] = deque()
        self._capacity = capacity
        self._data_waiter: asyncio.Future[None] | None = None
        self._room_waiter: asyncio.Future[None] | None = None
        self.ended = False
        self.broken = False

    def __len__(self) -> int:
        return len(self._frames)

    async def put(self, frame: Frame) -> bool:
        """Queue ``frame``, waiting for room; ``False`` when the reader is gone."""
        while len(self._frames) >= self._capacity and not self.broken:
            self._room_waiter = asyncio.get_running_loop().create_future()
            await self._room_waiter
        if self.broken or self.ended:
            return False
        self._frames.append(frame)
        self._wake_reader()
        return True

    async def get(self) -> Frame | None:
        """The next frame, or ``None`` once the writer has ended and the queue is empty."""
        while not self._frames:
            if self.ended or self.broken:
                return None
            self._data_waiter = asyncio.get_running_loop().create_future()
            await self._data_waiter
        frame = self._frames.popleft()
        self._wake_writer()
        return frame

    def end(self) -> None:
        """The writer is done: the reader drains what is queued, then sees the end."""
        self.ended = True
        self._wake_reader()

    def break_(self) -> None:
        """The reader is gone: wake a waiting writer and refuse further frames."""
        self.broken = True
        self._frames.clear()
        self._wake_writer()
        self._wake_reader()

    def _wake_reader(self) -> None:
        waiter, self._data_waiter = self._data_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter, self._room_waiter = self._room_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Channel:
    __slots__ = (
        "access_key",
        "created_at",
        "id",
        "owner",
        "pipe",
        "reader_claimed",
        "reader_done",
        "sockets",
        "writer_claimed",
        "writer_done",
        "writer_ws",
    )

    def __init__(
        self, channel_id: str, access_key: str, buffer_size: int, owner: str | None, now: float
    ) -> None:
        self.id = channel_id
        self.access_key = access_key
        self.owner = owner
        self.created_at = now
        self.pipe = _Pipe(buffer_size)
        self.writer_claimed = False
        self.reader_claimed = False
        self.writer_done = False
        self.reader_done = False
        self.writer_ws: web.WebSocketResponse | None = None
        self.sockets: set[web.WebSocketResponse] = set()

    def ref(self, direction: str) -> StreamChannelRef:
        return StreamChannelRef(
            channel_id=self.id,
            access_key=self.access_key,
            direction="write" if direction == "write" else "read",
        )
