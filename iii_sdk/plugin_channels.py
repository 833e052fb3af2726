"""The data-channel part of the plugin API: what :meth:`WorkerContext.create_channel
<iii_sdk.plugin.WorkerContext.create_channel>` returns and the two sides it opens.

Re-exported by :mod:`iii_sdk.plugin`; import them from there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Literal, Protocol

from iii_sdk.protocol import StreamChannelRef

__all__ = ["Channel", "ChannelReadSide", "ChannelWriteSide"]


class ChannelWriteSide(Protocol):
    """The write side of a data channel; frames keep their type (text/binary) and order."""

    async def write(self, data: bytes) -> None:
        """Send one binary frame."""
        ...

    async def send_text(self, text: str) -> None:
        """Send one text frame (used for control messages)."""
        ...

    async def close(self) -> None:
        """End the stream; the reader gets the remaining frames then end-of-stream."""
        ...


class ChannelReadSide(Protocol):
    """The read side of a data channel."""

    async def read(self) -> bytes | str | None:
        """The next frame (``bytes`` for binary, ``str`` for text), or ``None`` at the end."""
        ...

    def __aiter__(self) -> AsyncIterator[bytes | str]:
        """Iterate frames until the writer closes."""
        ...

    async def read_all(self) -> bytes:
        """Every remaining binary frame, concatenated."""
        ...

    async def close(self) -> None:
        """Stop reading; the writer's side is dropped."""
        ...


class Channel(Protocol):
    """A data channel created for streaming bodies between a worker and a handler.

    Hand ``reader_ref`` / ``writer_ref`` to the other party inside a payload; claim the side you
    use yourself with :meth:`writer` or :meth:`reader` (each side opens once). Implementations
    subclass this protocol to inherit the default :meth:`when_opened`.
    """

    @property
    def reader_ref(self) -> StreamChannelRef:
        """The ref that claims the read side (from another worker)."""
        ...

    @property
    def writer_ref(self) -> StreamChannelRef:
        """The ref that claims the write side (from another worker)."""
        ...

    async def writer(self) -> ChannelWriteSide:
        """Claim the write side locally."""
        ...

    async def reader(self) -> ChannelReadSide:
        """Claim the read side locally."""
        ...

    def discard(self) -> None:
        """Delete the channel now (both sides end); for channels whose use is over."""
        ...

    def when_opened(
        self, direction: Literal["read", "write"], callback: Callable[[], None]
    ) -> None:
        """Call ``callback`` once side ``direction`` is claimed (by anyone, here or remotely).

        Lets the channel's creator skip work for a side nobody opens. The default, for channels
        that cannot tell, calls ``callback`` at once.
        """
        callback()
