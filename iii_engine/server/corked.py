"""Corked WebSocket writes: frames queued in one event-loop pass leave in one ``send`` syscall.

Under load the engine answers many frames per pass of its read loops; writing each through
aiohttp costs a ``socket.send`` per frame, the largest single cost of routing a call. Here text
frames are framed by hand (server frames are never masked), queued, and flushed with one
``transport.write`` from a ``call_soon`` callback, which runs as soon as the current task yields:
at one call in flight the frame leaves exactly when it would have. Frames never interleave with
aiohttp's own control frames mid-frame, and the flush runs before aiohttp writes a Close.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CorkedWriter",
    "frame_header",
]

_FIN_TEXT = 0x81
_LARGE = 64 * 1024
"""Frames at least this large are written at once, without joining them into the batch."""
_HIGH_WATER = 256 * 1024
"""Buffered bytes past which a sender waits for the socket to drain."""


def frame_header(length: int) -> bytes:
    """The header of an unmasked, final text frame carrying ``length`` bytes."""
    if length < 126:
        return bytes((_FIN_TEXT, length))
    if length < 65536:
        return struct.pack("!BBH", _FIN_TEXT, 126, length)
    return struct.pack("!BBQ", _FIN_TEXT, 127, length)


class CorkedWriter:
    """Queues text frames for one socket and writes them in batches."""

    __slots__ = ("_chunks", "_loop", "_protocol", "_scheduled", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, protocol: Any) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self._chunks: list[bytes | memoryview] = []
        self._size = 0
        self._scheduled = False

    def write(self, frame: bytes) -> bool:
        """Queue one frame; False when the peer is slow and the caller should :meth:`drain`."""
        length = len(frame)
        if length >= _LARGE:
            return self.write_parts((frame,))
        # write_parts for one small chunk, spelled out: this runs for every answer.
        chunks = self._chunks
        chunks.append(frame_header(length))
        chunks.append(frame)
        self._size += length
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)
        return self._size + self._transport.get_write_buffer_size() < _HIGH_WATER

    def write_parts(self, parts: Sequence[bytes | memoryview]) -> bool:
        """Queue one frame given as chunks (joined here, or written as they are when large)."""
        length = sum(map(len, parts))
        if length >= _LARGE:
            # Large payloads skip the join: flush what is queued, then hand the chunks over.
            self.flush()
            if not self._transport.is_closing():
                self._transport.writelines((frame_header(length), *parts))
            return self._transport.get_write_buffer_size() < _HIGH_WATER
        self._chunks.append(frame_header(length))
        self._chunks.extend(parts)
        self._size += length
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)
        return self._size + self._transport.get_write_buffer_size() < _HIGH_WATER

    def flush(self) -> None:
        """Write everything queued, now."""
        self._scheduled = False
        if not self._chunks:
            return
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    async def drain(self) -> None:
        """Flush, then wait until the transport accepts more (aiohttp's flow control)."""
        self.flush()
        helper = getattr(self._protocol, "_drain_helper", None)
        if helper is not None and self._transport.get_write_buffer_size() >= _HIGH_WATER:
            await helper()
