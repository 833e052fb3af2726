"""Inbound limits of a worker listener (documented in docs/configuration.md).

* ``max_frame_bytes``: a larger WebSocket message is refused before its payload is buffered;
  the socket is closed with 1009 and a reason naming the limit. Other connections are
  unaffected.
* ``handshake_timeout_ms``: a TCP connection that has not sent its HTTP upgrade request within
  this time is closed (aiohttp's idle timeout of a fresh connection).
* ``max_pending_invocations``: invocations a connection may have waiting for a result at once;
  the next one is answered ``LIMIT_EXCEEDED`` at once.
"""

from __future__ import annotations

from typing import Final

from aiohttp import WSCloseCode, web

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_MAX_PENDING_INVOCATIONS",
    "LimitedWebSocket",
    "too_big_reason",
]

DEFAULT_MAX_FRAME_BYTES: Final = 16 * 1024 * 1024
"""16 MiB: upstream's frame limit; whole messages up to it are accepted."""
DEFAULT_MAX_PENDING_INVOCATIONS: Final = 10_000


def too_big_reason(limit: int) -> bytes:
    """The Close reason for an oversized frame (a Close reason holds at most 123 bytes)."""
    return f"frame exceeds max_frame_bytes ({limit} bytes)".encode()[:123]


class LimitedWebSocket(web.WebSocketResponse):
    """A server socket whose 1009 close (message too big) carries a reason."""

    def __init__(self, *, max_msg_size: int, **kwargs: object) -> None:
        super().__init__(max_msg_size=max_msg_size, **kwargs)  # type: ignore[arg-type]
        self._limit = max_msg_size

    async def close(
        self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True
    ) -> bool:
        """Close; aiohttp's own 1009 close gets a reason naming the limit."""
        if code == WSCloseCode.MESSAGE_TOO_BIG and not message:
            message = too_big_reason(self._limit)
        return await super().close(code=code, message=message, drain=drain)
