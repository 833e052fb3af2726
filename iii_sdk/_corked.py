"""Corked socket writes: the frames a worker writes in one event-loop pass leave in one ``send``.

aiohttp writes every WebSocket frame with its own ``transport.write``, which on an idle socket
is one ``send`` syscall per frame: under load the largest single cost of a call on either side
(a caller with many calls in flight, a worker answering them). :func:`cork` puts a
:class:`CorkedTransport` between the socket's frame writer and its transport: frames are still
framed and masked by aiohttp, in order, control frames included, but the bytes are queued and
flushed with one ``transport.write`` from a ``call_soon`` callback, which runs as soon as the
current task yields. At one call in flight a frame leaves exactly when it would have.

Flow control is unchanged: the real transport still pauses the protocol when its buffer fills,
and aiohttp's writer waits on that as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CorkedTransport", "cork", "frame_writer"]


class CorkedTransport:
    """A write-batching stand-in for the transport of one WebSocket's frame writer."""

    __slots__ = ("_chunks", "_loop", "_scheduled", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._chunks: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes) -> None:
        """Queue ``data``; it is written when the running task yields."""
        self._chunks.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write everything queued, now."""
        self._scheduled = False
        chunks = self._chunks
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def is_closing(self) -> bool:
        """Whether the real transport is closing."""
        return self._transport.is_closing()

    def close(self) -> None:
        """Flush, then close the real transport."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what is queued and abort the real transport."""
        self._chunks.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes queued here and in the real transport."""
        return sum(len(c) for c in self._chunks) + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def cork(ws: Any) -> bool:
    """Cork the writes of an open aiohttp WebSocket; False (and no change) when its writer
    does not expose a transport (an aiohttp version this was not written for)."""
    writer = getattr(ws, "_writer", None)
    transport = getattr(writer, "transport", None)
    if writer is None or transport is None or isinstance(transport, CorkedTransport):
        return False
    writer.transport = CorkedTransport(transport)
    return True


def frame_writer(ws: Any) -> Any:
    """The frame writer of an open aiohttp WebSocket, when it can be written synchronously.

    With compression off aiohttp frames, masks and writes a data frame without suspending;
    only its ``send_frame`` coroutine wrapper suspends, to wait while the transport is paused.
    Calling the synchronous part directly spares a coroutine chain per frame; the caller checks
    ``protocol._paused`` first (the connection queues behind a paused transport). None
    when the writer is not the one this was written for, or compresses.
    """
    writer = getattr(ws, "_writer", None)
    needed = ("_write_websocket_frame", "_output_size", "_limit", "_closing", "protocol")
    if (
        writer is None
        or getattr(writer, "compress", True)
        or not all(hasattr(writer, name) for name in needed)
    ):
        return None
    if not hasattr(writer.protocol, "_paused") or not hasattr(writer.protocol, "_drain_helper"):
        return None
    return writer
