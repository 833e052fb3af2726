"""The worker's WebSocket: connect, reconnect with backoff, ordered sends, offline queue.

The connection knows nothing about iii messages beyond bytes. The session gives it three
callbacks: ``on_open`` (the frames a fresh socket starts with), ``on_frame`` (one inbound
frame, called inline on the read task) and ``on_close``.

Every frame goes out through :meth:`Connection.send_nowait` (or :meth:`Connection.send`, which
then waits while the socket is congested, or :meth:`Connection.post`), in call order. With
compression off, aiohttp frames and writes a frame synchronously: a frame is written at once
through its frame writer, or, while the transport is paused or frames wait before it, by the
single flush task that drains the ordered buffer.

States: *offline* (no socket), *replaying* (socket open, the opening frames going out) and
*ready*. The ``offline`` argument of a send says what happens to a frame outside *ready*
(:data:`~iii_sdk._outbound.Offline`); the offline queue is bounded (the oldest frame is
dropped) and is flushed right after the replay, before the opening's greeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import aiohttp

from ._corked import CorkedTransport, cork, corked, frame_writer
from ._outbound import Offline, OfflineQueue, Opening, Outbound

__all__ = ["ANSWER_SLICE", "Connection"]

log = logging.getLogger("iii.sdk")

BACKOFF_INITIAL_S: Final = 0.1
BACKOFF_MAX_S: Final = 5.0
HEARTBEAT_S: Final = 20.0
HANDSHAKE_TIMEOUT_S: Final = 15.0
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
ANSWER_SLICE: Final = 8
"""Frames of one socket read handled between two flushes of what their handlers wrote.

A worker answering a burst of calls that do not wait lets the first answers go after every
8 frames instead of after the whole read: the engine relays them while the worker answers the
rest (at 64 calls in flight, ~10 % more calls per second between two ``iii_sdk`` workers than
flushing once per read, for one more ``send`` per 8 answers)."""
_Socket = aiohttp.ClientWebSocketResponse[Literal[False]]
_TEXT: Final = aiohttp.WSMsgType.TEXT
_BINARY: Final = aiohttp.WSMsgType.BINARY


class Connection:
    """One logical connection to the engine, surviving socket drops when ``reconnect``."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        reconnect: bool,
        on_open: Callable[[int], Opening],
        on_frame: Callable[[bytes, int], None],
        on_close: Callable[[int], None],
    ) -> None:
        self.url = url
        self._headers = dict(headers or {})
        self._reconnect = reconnect
        self._on_open = on_open
        self._on_frame = on_frame
        self._on_close = on_close
        self._session: aiohttp.ClientSession | None = None
        self._ws: _Socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._frames: Any = None
        """The open socket's aiohttp frame writer, when frames may be written to it directly
        (see :func:`~iii_sdk._corked.frame_writer`); ``None``: through ``send_frame``."""
        self._protocol: Any = None
        """Its protocol, whose ``_paused`` is set while the transport's buffer is full."""
        self._cork: CorkedTransport | None = None
        """The open socket's write batching (see :mod:`iii_sdk._corked`)."""
        self._early: CorkedTransport | None = None
        """:attr:`_cork` when it can flush before the pass ends (asyncio's loop, not uvloop's)."""
        self._buffer: deque[bytes] = deque()
        self._offline = OfflineQueue()
        self._closed = False
        self._stopped = False
        self._first_error: BaseException | None = None
        self._backoff = BACKOFF_INITIAL_S
        self.generation = 0
        self.ready = False
        self.replaying = False

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the connect/read/reconnect loop in the background."""
        if self._task is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=HANDSHAKE_TIMEOUT_S)
            )
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop_reconnecting(self) -> None:
        """Do not reconnect after the current socket ends (fatal rejection)."""
        self._stopped = True

    def backoff_reset(self) -> None:
        """The engine accepted the socket: the next drop retries quickly again."""
        self._backoff = BACKOFF_INITIAL_S

    @property
    def failed(self) -> BaseException | None:
        """Why the loop ended before it ever connected (``reconnect=False`` only)."""
        return self._first_error

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The connect/read/reconnect loop, once started."""
        return self._task

    async def close(self) -> None:
        """Close the socket and stop; queued frames are dropped."""
        self._closed = True
        ws, task = self._ws, self._task
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._flusher is not None:
            self._flusher.cancel()
        if self._session is not None:
            await self._session.close()
        self._buffer.clear()
        self._offline.clear()

    # --- sending ----------------------------------------------------------------------------

    async def send(self, frame: bytes, *, offline: Offline, generation: int | None = None) -> bool:
        """Send ``frame`` (:meth:`send_nowait`), then wait while the socket is congested.

        ``generation``: only on that socket, dropped if it is gone (the result of a call that
        came in on it). Returns whether the frame went to the socket.
        """
        sent = self.send_nowait(frame, offline=offline, generation=generation)
        if self.congested:
            await self.drained()
        return sent

    def send_nowait(self, frame: bytes, *, offline: Offline, generation: int | None = None) -> bool:
        """Send ``frame`` without waiting: written at once when nothing is queued before it and
        the socket accepts writes, else queued for the flush task (order is kept either way).

        A caller that produces many frames should wait for :meth:`drained` while
        :attr:`congested`, as :meth:`send` does.
        """
        if generation is not None:  # an answer: only on the socket its call came in on
            if self._ws is None or generation != self.generation:
                return False
        elif self.ready:
            if not (isinstance(offline, str) or offline.sent(self.generation)):
                return False  # the caller gave up on the call already
        else:
            self._offline.hold(frame, offline, replaying=self.replaying)
            return False
        self._emit(frame)
        return True

    def send_call(self, frame: bytes, call: Outbound) -> None:
        """:meth:`send_nowait` of a call whose caller waits next, the usual case spelled out; on
        asyncio's loop the frame leaves at once when nothing else is left to run in this pass
        (:meth:`~iii_sdk._corked.CorkedTransport.flush_if_last`)."""
        writer = self._frames
        cork = self._cork
        if (
            not self.ready
            or writer is None
            or cork is None
            or self._buffer
            or self._protocol._paused
            or writer._closing
        ):
            early = self._early
            mark = None if early is None else early.pending
            self.send_nowait(frame, offline=call)
            if early is not None:
                early.flush_if_last(mark)
            return
        if not call.sent(self.generation):
            return
        mark = cork.pending
        cork.write_text(frame)
        if self._early is not None:
            cork.flush_if_last(mark)

    def send_answer(self, generation: int, frame: bytes) -> bool:
        """:meth:`send_nowait` of a handler's answer, the usual case spelled out: only on socket
        ``generation``; True when the socket is congested (wait for :meth:`drained`)."""
        if self._ws is None or generation != self.generation:
            return False  # the socket the call came in on is gone, and its answer with it
        writer = self._frames
        cork = self._cork
        protocol = self._protocol
        if writer is None or cork is None or self._buffer or protocol._paused or writer._closing:
            self._emit(frame)
            return self.congested
        cork.write_text(frame)
        return bool(protocol._paused)  # a full slice may have been written

    def post(self, frame: bytes, *, offline: Offline) -> bool:
        """:meth:`send_nowait` for synchronous code that never waits for the socket."""
        return self.send_nowait(frame, offline=offline)

    @property
    def congested(self) -> bool:
        """Whether the socket's transport has asked writers to wait (its buffer is full)."""
        protocol = self._protocol
        return protocol is not None and bool(protocol._paused)

    async def drained(self) -> None:
        """Wait until the transport takes writes again (at once when it does)."""
        writer = self._frames
        if writer is not None and writer.protocol.writing_paused:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await writer.protocol._drain_helper()

    def _emit(self, frame: bytes) -> None:
        """Write ``frame`` now, or behind the frames the flush task still holds."""
        writer = self._frames
        if writer is None or self._buffer or self._protocol._paused:
            self._write(frame)
            return
        if writer._closing:
            return  # the socket is closing: the frame would be refused, as aiohttp does
        cork = self._cork
        if cork is not None:
            cork.write_text(frame)  # framed and masked by iii_sdk._wsframes
            return
        try:
            writer._write_websocket_frame(frame, _TEXT, 0)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("send failed, connection is going away: %s", exc)
            return
        # aiohttp's own send_frame resets this count and checks for a pause every ``_limit``
        # bytes; the pause itself is checked before every write above.
        if writer._output_size > writer._limit:
            writer._output_size = 0

    async def _flush(self) -> None:
        """Wait until every frame written so far has been handed to the transport."""
        while self._buffer:
            await self._drain()

    def _write(self, frame: bytes) -> None:
        self._buffer.append(frame)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        buffer = self._buffer
        while buffer:
            ws = self._ws
            if ws is None or ws.closed:
                buffer.clear()
                return
            # The pop and the synchronous transport write happen in one step, so concurrent
            # drains keep the frames in order.
            try:
                await ws.send_frame(buffer.popleft(), _TEXT)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("send failed, connection is going away: %s", exc)
                buffer.clear()
                return

    # --- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closed and not self._stopped:
            ws = await self._open()
            if ws is None:
                if not self._reconnect:
                    return
                await self._sleep_backoff()
                continue
            self.generation += 1
            generation = self.generation
            self._ws = ws
            self._frames = frame_writer(ws)
            self._protocol = None if self._frames is None else self._frames.protocol
            self._cork = cork = corked(ws)
            self._early = cork if cork is not None and cork.flushes_early else None
            try:
                await self._serve(ws, generation)
            finally:
                self._ws = None
                self._frames = self._protocol = self._cork = self._early = None
                self.ready = self.replaying = False
                self._buffer.clear()
                self._on_close(generation)
                if not ws.closed:
                    with contextlib.suppress(Exception):
                        await ws.close()
            if not self._reconnect or self._closed or self._stopped:
                return
            await self._sleep_backoff()

    async def _open(self) -> _Socket | None:
        assert self._session is not None
        try:
            ws = await self._session.ws_connect(
                self.url,
                headers=self._headers,
                compress=0,
                heartbeat=HEARTBEAT_S,
                max_msg_size=MAX_MESSAGE_BYTES,
                decode_text=False,
            )
            cork(ws)  # frames written in one loop pass leave in one send (see _corked)
            return ws
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if self.generation == 0 and not self._reconnect:
                self._first_error = exc
            log.warning("cannot connect to %s: %s", self.url, exc)
            return None

    async def _serve(self, ws: _Socket, generation: int) -> None:
        self.replaying = True
        try:
            opening = self._on_open(generation)
            for frame in opening.replay:
                self._write(frame)
            await self._flush()
            for frame in self._offline.release(generation):  # after the replay
                self._write(frame)
            for frame in opening.greeting:
                self._write(frame)
        except (ConnectionError, RuntimeError) as exc:
            log.warning("connection lost while replaying registrations: %s", exc)
            return
        except Exception:
            log.exception("could not replay registrations; reconnecting")
            await ws.close()
            return
        self.replaying = False
        self.ready = True
        on_frame = self._on_frame
        queue = ws._reader
        # The messages one socket read delivers wait in aiohttp's queue: after ``receive``
        # returns the first, the rest are taken straight from the queue while they are data
        # frames (a read that cannot wait), skipping ``receive``'s per-message bookkeeping.
        # Anything else (close, error, ping) goes through ``receive`` as before.
        queued = getattr(queue, "_buffer", None)
        cork = corked(ws)
        while True:
            message = await ws.receive()
            kind = message.type
            if kind is _TEXT or kind is _BINARY:
                mark = None if cork is None else cork.pending
                try:
                    on_frame(message.data, generation)
                except Exception:
                    log.exception("error handling a frame from the engine")
                handled = 1
                while queued and queued[0][0].type is _TEXT and not ws.closed:
                    message = await queue.read()
                    try:
                        on_frame(message.data, generation)
                    except Exception:
                        log.exception("error handling a frame from the engine")
                    handled += 1
                    if cork is not None and handled % ANSWER_SLICE == 0:
                        cork.flush()  # the engine starts on these answers while we go on
                if cork is not None and not cork.flush_if_last(mark):
                    # The answers of the handlers that did not wait leave now, not a pass later.
                    cork.flush()
            elif kind is aiohttp.WSMsgType.ERROR:
                log.warning("connection error: %s", ws.exception())
                return
            elif kind in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
            ):
                return

    async def _sleep_backoff(self) -> None:
        delay = self._backoff * random.uniform(0.5, 1.0)
        self._backoff = min(self._backoff * 2, BACKOFF_MAX_S)
        await asyncio.sleep(delay)
