"""Channel ends: the reader and the writer a worker streams through (see :mod:`iii_sdk.channels`).

Each end opens its data socket to the engine on first use; the public names are re-exported by
:mod:`iii_sdk.channels`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import msgspec

from iii_sdk.errors import IIIError
from iii_sdk.protocol import StreamChannelRef

__all__ = ["MAX_FRAME_SIZE", "ChannelError", "ChannelReader", "ChannelWriter", "channel_url"]

MAX_FRAME_SIZE: Final = 64 * 1024
"""Binary writes are split into frames of at most this many bytes."""

_MAX_INBOUND_MESSAGE: Final = 16 * 1024 * 1024
_CLOSE_TIMEOUT: Final = 60.0


class ChannelError(IIIError):
    """A channel could not be opened (unknown id, wrong key) or its other side is gone."""


@functools.lru_cache(maxsize=32)
def _channels_base(engine_url: str) -> str:
    parts = urlsplit(engine_url)
    # Only the listener's address matters: drop any query (auth tokens) and fragment.
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def channel_url(engine_url: str, ref: StreamChannelRef) -> str:
    """The data-socket URL of ``ref`` on the engine listening at ``engine_url``."""
    key = quote(ref.access_key, safe="")
    channel_id = quote(ref.channel_id, safe="")
    return f"{_channels_base(engine_url)}/ws/channels/{channel_id}?key={key}&dir={ref.direction}"


class _ChannelEnd:
    """Shared lazy-connection logic of readers and writers."""

    _direction: Literal["read", "write"]

    def __init__(
        self,
        ref: StreamChannelRef | dict[str, Any],
        engine_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if isinstance(ref, dict):
            ref = StreamChannelRef(ref["channel_id"], ref["access_key"], self._direction)
        self.ref = ref
        """The ref this end was built from (send it to hand the channel on)."""
        self._engine_url = engine_url
        self._url: str | None = None
        self._session = session
        self._owns_session = session is None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._lock: asyncio.Lock | None = None
        """Made when the socket is first needed: most ends an HTTP handler gets are never
        opened (a handler that ignores the request body), and are made for every request."""
        self._closed = False
        self._closed_here = False
        """:meth:`close` was called (as opposed to the stream ending or failing)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channel_id={self.ref.channel_id!r})"

    @property
    def url(self) -> str:
        """The data-socket URL this end connects to (see :func:`channel_url`)."""
        url = self._url
        if url is None:
            url = self._url = channel_url(self._engine_url, self.ref)
        return url

    async def _socket(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is not None:
            return self._ws
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._ws is None:
                if self._closed:
                    raise ChannelError(f"channel {self.ref.channel_id} is closed")
                self._ws = await self._connect()
                self._on_open(self._ws)
            return self._ws

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            return await self._session.ws_connect(
                self.url,
                autoclose=True,
                autoping=True,
                max_msg_size=_MAX_INBOUND_MESSAGE,
                timeout=aiohttp.ClientWSTimeout(ws_close=_CLOSE_TIMEOUT),
            )
        except aiohttp.WSServerHandshakeError as exc:
            await self._release()
            raise ChannelError(
                f"cannot open channel {self.ref.channel_id} ({self._direction}): HTTP {exc.status}"
            ) from exc
        except BaseException:
            await self._release()
            raise

    def _on_open(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Hook for subclasses, called once the socket is open."""

    async def _release(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def close(self) -> None:
        """Close this end (idempotent)."""
        self._closed_here = True
        await self._release()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class ChannelWriter(_ChannelEnd):
    """The write side of a channel: binary data frames and text (control) frames, in order.

    Closing it ends the stream for the reader. Writing after the reader has gone raises
    :class:`ChannelError`.
    """

    _direction = "write"

    def __init__(
        self,
        ref: StreamChannelRef | dict[str, Any],
        engine_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(ref, engine_url, session=session)
        self._watcher: asyncio.Task[None] | None = None
        self._peer_gone = False

    def _on_open(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # The engine only ever sends Close on a writer's socket (when the reader left).
        self._watcher = asyncio.create_task(self._watch(ws))

    async def _watch(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _ in ws:
            pass
        self._peer_gone = True

    @property
    def closed(self) -> bool:
        """Whether the stream is over: closed here, or dropped because the reader left."""
        return self._closed or self._peer_gone

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self._socket()
        if self._peer_gone or ws.closed:
            raise ChannelError(f"channel {self.ref.channel_id}: the reader is gone")
        return ws

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` as binary frames of at most 64 KiB (one empty frame for no data)."""
        ws = await self._open()
        payload = data if isinstance(data, bytes) else bytes(data)
        try:
            if len(payload) <= MAX_FRAME_SIZE:
                await ws.send_bytes(payload)
                return
            for start in range(0, len(payload), MAX_FRAME_SIZE):
                await ws.send_bytes(payload[start : start + MAX_FRAME_SIZE])
        except ConnectionError as exc:
            raise ChannelError(f"channel {self.ref.channel_id}: {exc}") from exc

    async def send_text(self, text: str) -> None:
        """Send one text frame."""
        ws = await self._open()
        try:
            await ws.send_str(text)
        except ConnectionError as exc:
            raise ChannelError(f"channel {self.ref.channel_id}: {exc}") from exc

    async def send_message(self, message: Any) -> None:
        """Send ``message`` (e.g. ``{"type": "set_status", "status_code": 201}``) as JSON text."""
        await self.send_text(msgspec.json.encode(message).decode())

    async def close(self) -> None:
        """End the stream: the reader gets every frame sent so far, then end-of-stream.

        A writer that never sent anything opens its socket just to close it, so the reader
        still sees the (empty) stream end.
        """
        if self._ws is None and not self._closed:
            with contextlib.suppress(ChannelError, aiohttp.ClientError, OSError):
                await self._socket()
        await self._release()
        if self._watcher is not None:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._watcher


class ChannelReader(_ChannelEnd):
    """The read side of a channel.

    :meth:`read` returns ``bytes`` (binary frame), ``str`` (text frame) or ``None`` at the end;
    ``async for frame in reader`` iterates until the end; :meth:`read_all` concatenates the
    binary frames. The socket closes by itself at the end of the stream. A stream cut short
    (the channel deleted, the side already open elsewhere) raises :class:`ChannelError`.
    """

    _direction = "read"

    async def read(self) -> bytes | str | None:
        """The next frame, or ``None`` once the writer has closed the stream."""
        if self._closed:
            return None
        try:
            ws = await self._socket()
        except (aiohttp.ClientError, ChannelError):
            if self._closed_here:
                return None  # closed here while its socket was still connecting: the end
            raise
        msg = await ws.receive()
        if msg.type is aiohttp.WSMsgType.BINARY:
            data: bytes = msg.data
            return data
        if msg.type is aiohttp.WSMsgType.TEXT:
            text: str = msg.data
            return text
        await self._release()
        if msg.type is aiohttp.WSMsgType.ERROR:
            raise ChannelError(f"channel {self.ref.channel_id}: {msg.data}")
        if msg.type is aiohttp.WSMsgType.CLOSE and msg.data != aiohttp.WSCloseCode.OK:
            # The engine closes a finished stream with 1000; anything else cut it short.
            raise ChannelError(
                f"channel {self.ref.channel_id} ended abnormally (close code {msg.data})"
            )
        return None

    async def __aiter__(self) -> AsyncIterator[bytes | str]:
        while (frame := await self.read()) is not None:
            yield frame

    async def read_all(self) -> bytes:
        """Every remaining binary frame, concatenated (text frames are skipped)."""
        chunks = [frame async for frame in self if isinstance(frame, bytes)]
        return b"".join(chunks)

    async def read_text(self, encoding: str = "utf-8") -> str:
        """:meth:`read_all` decoded as text."""
        return (await self.read_all()).decode(encoding)
