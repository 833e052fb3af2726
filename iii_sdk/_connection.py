"""The worker's WebSocket: connect, reconnect with backoff, ordered sends, offline queue.

The connection knows nothing about iii messages beyond bytes. The worker gives it three
callbacks: ``on_open`` (send the replay on a fresh socket, before anything else goes out),
``on_frame`` (one inbound frame, called inline on the read task) and ``on_close``.

Sends are ordered: every frame is written in the order its ``send*`` call was made, whether it
came from synchronous code (``register_function``) or a coroutine (``trigger``). With
compression off, aiohttp writes a frame to the transport synchronously, so a frame is written
either at once or by the single flush task that drains the ordered buffer.

States: *offline* (no socket), *replaying* (socket open, ``on_open`` running) and *ready*.
Outside *ready*, invocations wait in a bounded offline queue (oldest dropped) that is flushed
right after the replay; registration frames are not queued while offline because the replay
re-sends every registration anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Literal

import aiohttp

__all__ = ["Connection", "ConnectionClosed"]

log = logging.getLogger("iii.sdk")

OFFLINE_QUEUE_MAX: Final = 1000
BACKOFF_INITIAL_S: Final = 0.1
BACKOFF_MAX_S: Final = 5.0
HEARTBEAT_S: Final = 20.0
HANDSHAKE_TIMEOUT_S: Final = 15.0
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
_Socket = aiohttp.ClientWebSocketResponse[Literal[False]]
_TEXT: Final = aiohttp.WSMsgType.TEXT
_BINARY: Final = aiohttp.WSMsgType.BINARY


class ConnectionClosed(ConnectionError):
    """The worker was closed, or stopped reconnecting after a fatal error."""


class Connection:
    """One logical connection to the engine, surviving socket drops when ``reconnect``."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        reconnect: bool,
        on_open: Callable[[int], Awaitable[None]],
        on_frame: Callable[[bytes, int], None],
        on_close: Callable[[int], None],
        on_flushed: Callable[[str, int], bool],
        on_dropped: Callable[[str], None],
    ) -> None:
        self.url = url
        self._headers = dict(headers or {})
        self._reconnect = reconnect
        self._on_open = on_open
        self._on_frame = on_frame
        self._on_close = on_close
        self._on_flushed = on_flushed
        self._on_dropped = on_dropped
        self._session: aiohttp.ClientSession | None = None
        self._ws: _Socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._buffer: deque[bytes] = deque()
        self._offline: deque[tuple[bytes, str | None]] = deque()
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

    def send(self, frame: bytes, invocation_id: str | None = None) -> bool:
        """Send a frame now, or park it in the offline queue; True if it went to the socket."""
        if self.ready:
            self._write(frame)
            return True
        self._park(frame, invocation_id)
        return False

    async def send_async(self, frame: bytes, invocation_id: str | None = None) -> bool:
        """Like :meth:`send`, writing inline (no task hop) when nothing is queued before it."""
        ws = self._ws
        if self.ready and not self._buffer and ws is not None:
            try:
                await ws.send_frame(frame, _TEXT)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("send failed, connection is going away: %s", exc)
            return True
        return self.send(frame, invocation_id)

    def send_registration(self, frame: bytes) -> None:
        """Send a (un)registration frame; while offline it is dropped (the replay covers it)."""
        if self.ready:
            self._write(frame)
        elif self.replaying:
            self._park(frame, None)

    async def send_on(self, generation: int, frame: bytes) -> None:
        """Send only if socket ``generation`` is still the open one (invocation results)."""
        ws = self._ws
        if generation != self.generation or ws is None:
            return
        if self._buffer:
            self._write(frame)
            return
        try:
            await ws.send_frame(frame, _TEXT)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("result not sent, connection is going away: %s", exc)

    def send_direct(self, frame: bytes) -> None:
        """Write during ``on_open`` (replay), bypassing the *ready* check."""
        self._write(frame)

    async def flush(self) -> None:
        """Wait until every frame written so far has been handed to the transport."""
        while self._buffer:
            await self._drain()

    def _park(self, frame: bytes, invocation_id: str | None) -> None:
        if len(self._offline) >= OFFLINE_QUEUE_MAX:
            _, dropped_id = self._offline.popleft()
            if dropped_id is not None:
                self._on_dropped(dropped_id)
        self._offline.append((frame, invocation_id))

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

    def flush_offline(self) -> None:
        """Write the frames parked while offline, after the replay (called by ``on_open``)."""
        generation = self.generation
        while self._offline:
            frame, invocation_id = self._offline.popleft()
            if invocation_id is not None and not self._on_flushed(invocation_id, generation):
                continue  # the caller already timed out: do not run a stale call
            self._write(frame)

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
            try:
                await self._serve(ws, generation)
            finally:
                self._ws = None
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
            return await self._session.ws_connect(
                self.url,
                headers=self._headers,
                compress=0,
                heartbeat=HEARTBEAT_S,
                max_msg_size=MAX_MESSAGE_BYTES,
                decode_text=False,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if self.generation == 0 and not self._reconnect:
                self._first_error = exc
            log.warning("cannot connect to %s: %s", self.url, exc)
            return None

    async def _serve(self, ws: _Socket, generation: int) -> None:
        self.replaying = True
        try:
            await self._on_open(generation)
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
        while True:
            message = await ws.receive()
            kind = message.type
            if kind is _TEXT or kind is _BINARY:
                try:
                    on_frame(message.data, generation)
                except Exception:
                    log.exception("error handling a frame from the engine")
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
