"""The storage of one data channel: a bounded single-producer single-consumer frame pipe."""

from __future__ import annotations

import asyncio
import os
import re
from collections import deque
from collections.abc import Callable

from aiohttp import web

from iii_sdk.protocol import StreamChannelRef

__all__ = ["MAX_FRAME_SIZE", "ChannelClosedError", "Frame"]

MAX_FRAME_SIZE = 64 * 1024
"""Local writers split binary data into frames of at most this size (as the SDKs do)."""

Frame = bytes | str


class ChannelClosedError(ConnectionResetError):
    """The other side of the channel is gone (reader closed, or the channel was deleted)."""


_ID_BATCH = 64
_ids: list[str] = []
# Over a batch of 16-byte ids: clear the version nibble and the variant's top two bits, then
# set version 4 and variant 10 (RFC 4122), in one big-integer operation for the whole batch.
_KEEP = int.from_bytes(bytes.fromhex("ffffffffffff0fff3fffffffffffffff") * _ID_BATCH, "big")
_SET = int.from_bytes(bytes.fromhex("00000000000040008000000000000000") * _ID_BATCH, "big")
_GROUPS = re.compile("(.{8})(.{4})(.{4})(.{4})(.{12})").findall
"""The five dash-separated groups of each id in a batch's hex digits (one C call)."""


def _uuid4() -> str:
    """A fresh UUIDv4 string like ``iii_sdk.protocol.new_id``, made in batches.

    Channels need two ids each and HTTP creates two channels per request: one ``urandom``
    call per 64 ids, and no Python-level string slicing per id (the per-id slicing and
    formatting cost more than the random bytes).
    """
    if not _ids:
        bits = int.from_bytes(os.urandom(16 * _ID_BATCH), "big") & _KEEP | _SET
        _ids.extend(map("-".join, _GROUPS(bits.to_bytes(16 * _ID_BATCH, "big").hex())))
    return _ids.pop()


# A forked child must not hand out the ids its parent still holds.
os.register_at_fork(after_in_child=_ids.clear)

OpenCallback = Callable[[], None]
"""Called (synchronously, once) when a side of a channel is claimed."""


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
        "on_read",
        "on_write",
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
        self.on_read: OpenCallback | None = None
        self.on_write: OpenCallback | None = None

    def claim(self, direction: str) -> None:
        """Mark side ``direction`` claimed and fire its :meth:`when_opened` callback, if any."""
        if direction == "write":
            self.writer_claimed = True
            callback, self.on_write = self.on_write, None
        else:
            self.reader_claimed = True
            callback, self.on_read = self.on_read, None
        if callback is not None:
            callback()

    def when_opened(self, direction: str, callback: OpenCallback) -> None:
        """Call ``callback`` once side ``direction`` is claimed (now, if it already is)."""
        if direction == "write":
            if self.writer_claimed:
                callback()
            else:
                self.on_write = callback
        elif self.reader_claimed:
            callback()
        else:
            self.on_read = callback

    def ref(self, direction: str) -> StreamChannelRef:
        return StreamChannelRef(
            channel_id=self.id,
            access_key=self.access_key,
            direction="write" if direction == "write" else "read",
        )
