"""In-process ends of a data channel (what ``WorkerContext.create_channel`` hands out)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, Protocol

import msgspec

from iii_engine.channels.pipe import MAX_FRAME_SIZE, ChannelClosedError, Frame, _Channel
from iii_sdk.protocol import StreamChannelRef

__all__ = ["ChannelSides", "LocalChannel"]


class ChannelSides(Protocol):
    """What an in-process end tells the channel manager (it implements this)."""

    def writer_finished(self, channel: _Channel) -> None:
        """The writer closed: the reader gets the rest, then end-of-stream."""
        ...

    def reader_finished(self, channel: _Channel) -> None:
        """The reader left: the writer is dropped and the channel deleted."""
        ...

    def discard_channel(self, channel: _Channel) -> None:
        """Delete a channel neither side will claim."""
        ...


class _LocalWriter:
    """The write side claimed in process; frames go straight into the pipe."""

    def __init__(self, manager: ChannelSides, channel: _Channel) -> None:
        self._manager = manager
        self._channel = channel
        self._closed = False

    async def _put(self, frame: Frame) -> None:
        if self._closed or not await self._channel.pipe.put(frame):
            raise ChannelClosedError(f"channel {self._channel.id} is closed")

    async def write(self, data: bytes) -> None:
        """Send ``data`` as binary frames of at most 64 KiB."""
        view = memoryview(data)
        if not view:
            await self._put(b"")
        for start in range(0, len(view), MAX_FRAME_SIZE):
            await self._put(bytes(view[start : start + MAX_FRAME_SIZE]))

    async def send_text(self, text: str) -> None:
        """Send one text frame."""
        await self._put(text)

    async def send_message(self, message: Any) -> None:
        """Send ``message`` as one JSON text frame."""
        await self._put(msgspec.json.encode(message).decode())

    async def close(self) -> None:
        """End the stream (idempotent)."""
        if not self._closed:
            self._closed = True
            self._manager.writer_finished(self._channel)


class _LocalReader:
    """The read side claimed in process."""

    def __init__(self, manager: ChannelSides, channel: _Channel) -> None:
        self._manager = manager
        self._channel = channel
        self._closed = False

    async def read(self) -> bytes | str | None:
        """The next frame, or ``None`` at the end of the stream."""
        if self._closed:
            return None
        frame = await self._channel.pipe.get()
        if frame is None:
            await self.close()
        return frame

    async def __aiter__(self) -> AsyncIterator[bytes | str]:
        while (frame := await self.read()) is not None:
            yield frame

    async def read_all(self) -> bytes:
        """Every remaining binary frame, concatenated (text frames are skipped)."""
        chunks = [frame async for frame in self if isinstance(frame, bytes)]
        return b"".join(chunks)

    async def close(self) -> None:
        """Stop reading: the writer is dropped and the channel deleted (idempotent)."""
        if not self._closed:
            self._closed = True
            self._manager.reader_finished(self._channel)


class LocalChannel:
    """In-process handle of a channel, implementing :class:`iii_sdk.plugin.Channel`.

    Hand :attr:`reader_ref` / :attr:`writer_ref` to a remote party inside a payload and claim
    the other side here with :meth:`writer` / :meth:`reader`. :meth:`discard` deletes the channel
    at once (for example when the HTTP request it served is over). iii-http makes two per
    request, so the handle is a plain slotted class (the protocol is matched structurally) and
    its hot methods do their small work themselves.
    """

    __slots__ = ("_channel", "_manager")

    def __init__(self, manager: ChannelSides, channel: _Channel) -> None:
        self._manager = manager
        self._channel = channel

    @property
    def reader_ref(self) -> StreamChannelRef:
        """The ref a remote party claims the read side with."""
        channel = self._channel
        return StreamChannelRef(channel.id, channel.access_key, "read")

    @property
    def writer_ref(self) -> StreamChannelRef:
        """The ref a remote party claims the write side with."""
        channel = self._channel
        return StreamChannelRef(channel.id, channel.access_key, "write")

    @property
    def channel_id(self) -> str:
        """The channel's id."""
        return self._channel.id

    async def writer(self) -> _LocalWriter:
        """Claim the write side; ``RuntimeError`` if it is already claimed."""
        channel = self._channel
        if channel.writer_claimed:
            raise RuntimeError(f"the write side of channel {channel.id} is already open")
        channel.claim("write")
        return _LocalWriter(self._manager, channel)

    async def reader(self) -> _LocalReader:
        """Claim the read side; ``RuntimeError`` if it is already claimed."""
        channel = self._channel
        if channel.reader_claimed:
            raise RuntimeError(f"the read side of channel {channel.id} is already open")
        channel.claim("read")
        return _LocalReader(self._manager, channel)

    def when_opened(
        self, direction: Literal["read", "write"], callback: Callable[[], None]
    ) -> None:
        """Call ``callback`` once side ``direction`` (``"read"``/``"write"``) is claimed.

        Claimed locally or by a socket; called at once if the side already is, never if the
        channel is deleted first. Lets an owner skip work for sides nobody opens.
        """
        channel = self._channel
        if direction == "write":
            if channel.writer_claimed:
                callback()
            else:
                channel.on_write = callback
        elif channel.reader_claimed:
            callback()
        else:
            channel.on_read = callback

    def discard(self) -> None:
        """Delete the channel now (idempotent)."""
        self._manager.discard_channel(self._channel)
