"""Corked socket writes: the frames written in one event-loop pass leave in a few sends.

aiohttp writes every WebSocket frame with its own ``transport.write``, which on an idle socket
is one ``send`` syscall per frame: under load the largest single cost of a call on either side
(a caller with many calls in flight, a worker answering them). :func:`cork` puts a
:class:`CorkedTransport` between the socket's frame writer and its transport: frames are still
framed and masked by aiohttp, in order, control frames included, but the bytes are queued and
written together.

The batching policy:

- What is queued is written when the running task yields (a ``call_soon`` callback), or earlier
  by :meth:`CorkedTransport.flush` (the connection flushes when it has handled the frames of one
  socket read, so a worker's answers to them leave without waiting for another loop pass). At
  one call in flight a frame leaves exactly when it would have uncorked.
- A caller about to wait for its result flushes at once when nothing else is left to run in
  the pass (:meth:`CorkedTransport.flush_if_last`): the pass would end with the flush anyway.
- The connection's read loop also flushes after every
  :data:`~iii_sdk._connection.ANSWER_SLICE` frames of one read, so a worker's answers to a
  burst of calls start leaving before it has answered them all.
- A burst leaves in slices: once :data:`SLICE_FRAMES` frames or :data:`SLICE_BYTES` bytes are
  queued they are written at once. Writing a whole window in one ``send`` makes the peers of a
  ring (caller, engine, worker) work strictly in turn, one batch going round: the first slice
  lets the next process start while this one frames the rest, so two processes work at once,
  for one extra ``send`` per slice.

Flow control is unchanged: the real transport still pauses the protocol when its buffer fills,
and the writers wait on that as before.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Final

from ._wsframes import (
    FIN_TEXT,
    KEY_BATCH,
    MEDIUM_FRAME,
    MEDIUM_HEAD,
    SMALL_FRAME,
    SMALL_HEADS,
    masked_text_frame,
    websocket_mask,
)

__all__ = ["SLICE_BYTES", "SLICE_FRAMES", "CorkedTransport", "cork", "corked", "frame_writer"]

SLICE_FRAMES: Final = 32
"""Frames queued in one pass that are written without waiting for the pass to end."""
SLICE_BYTES: Final = 64 * 1024
"""Bytes queued in one pass that are written without waiting for the pass to end."""


class CorkedTransport:
    """A write-batching stand-in for the transport of one WebSocket's frame writer."""

    __slots__ = (
        "_chunks",
        "_key",
        "_keys",
        "_loop",
        "_ready",
        "_size",
        "_transport",
        "flushes_early",
        "pending",
    )

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._chunks: list[bytes] = []
        self._size = 0
        self.pending: asyncio.Handle | None = None
        """The end-of-pass flush waiting in the loop's queue while frames are queued (read
        only: a mark for :meth:`flush_if_last`)."""
        self._ready: Any = getattr(self._loop, "_ready", None)
        """asyncio's queue of the callbacks left to run in this pass and the next (None on
        loops without one, such as uvloop's)."""
        self.flushes_early = self._ready is not None
        """Whether :meth:`flush_if_last` can ever flush (not on loops without that queue)."""
        self._keys = b""
        """Masking keys for :meth:`write_text` (see :mod:`iii_sdk._wsframes`)."""
        self._key = 0

    def write(self, data: bytes) -> None:
        """Queue ``data``; it is written when the running task yields, or with its slice."""
        chunks = self._chunks
        chunks.append(data)
        self._size += len(data)
        if self.pending is None:
            self.pending = self._loop.call_soon(self._flush_soon)
        elif len(chunks) >= SLICE_FRAMES or self._size >= SLICE_BYTES:
            self.flush()

    def write_text(self, payload: bytes) -> None:
        """Frame ``payload`` as one masked client text frame and queue it, as :meth:`write`.

        The frame aiohttp's writer would make, made by :mod:`iii_sdk._wsframes`; the key is the
        next of a batch drawn from :func:`os.urandom`.
        """
        pos = self._key
        keys = self._keys
        if pos >= len(keys):
            keys = self._keys = os.urandom(KEY_BATCH * 4)
            pos = 0
        self._key = pos + 4
        key = keys[pos : pos + 4]
        size = len(payload)
        if size < MEDIUM_FRAME:  # masked_text_frame(payload, key), spelled out
            body = bytearray(payload)
            websocket_mask(key, body)
            head = SMALL_HEADS[size] if size < SMALL_FRAME else MEDIUM_HEAD(FIN_TEXT, 254, size)
            frame = head + key + body
        else:
            frame = masked_text_frame(payload, key)
        self.write(frame)

    def _flush_soon(self) -> None:
        self.pending = None
        self.flush()

    def flush_if_last(self, mark: asyncio.Handle | None) -> bool:
        """Flush now if this cork's own end-of-pass flush is all that is left to run.

        Called by a task about to wait (a caller awaiting its result, the read loop at the end
        of a read): when no other callback could still add frames, the pass would only end with
        the flush, and running it now (and taking it off the loop's queue) spares the event
        loop a turn (one more poll of the sockets) per call. False when other callbacks wait.

        ``mark`` is :attr:`pending` as it was when the caller's step began. Only a flush
        scheduled since then may be taken off the queue: one scheduled in an earlier pass is
        part of the pass the loop is running, which has counted it and will pop it itself.
        """
        ready = self._ready
        handle = self.pending
        if (
            ready is None
            or handle is None
            or handle is mark
            or len(ready) != 1
            or ready[0] is not handle
        ):
            return False
        ready.popleft()  # another thread may append (call_soon_threadsafe) but only on the right
        self.pending = None
        self.flush()
        return True

    def flush(self) -> None:
        """Write everything queued, now."""
        chunks = self._chunks
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
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
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes queued here and in the real transport."""
        return self._size + self._transport.get_write_buffer_size()

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


def corked(ws: Any) -> CorkedTransport | None:
    """The :class:`CorkedTransport` of a WebSocket :func:`cork` corked, if any."""
    transport = getattr(getattr(ws, "_writer", None), "transport", None)
    return transport if isinstance(transport, CorkedTransport) else None


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
