"""Bounds for aiohttp servers run by the engine and by built-in workers.

:class:`HandshakeGuard` closes a connection that has not finished its handshake (its HTTP
request head, or for a WebSocket listener its upgrade) within a deadline, and refuses new
connections while too many are still in that state, so idle or half-sent sockets (slowloris)
cannot pile up. Install it on an :class:`aiohttp.web.Server` before the site starts, then call
:meth:`HandshakeGuard.passed` with the request's protocol once the handshake is complete::

    guard = HandshakeGuard(timeout_s=10, max_pending=1024)
    guard.install(runner.server)
    ...
    guard.passed(request.protocol)  # in the handler, or after ws.prepare()
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

__all__ = ["HandshakeGuard"]

log = logging.getLogger("iii.serving")


class HandshakeGuard:
    """Deadline and cap for connections still in their handshake."""

    def __init__(self, *, timeout_s: float, max_pending: int, name: str = "server") -> None:
        self.timeout_s = timeout_s
        """Seconds a connection may take to pass its handshake; 0 disables the deadline."""
        self.max_pending = max_pending
        """Connections allowed in their handshake at once; 0 means no cap."""
        self.name = name
        self.timed_out = 0
        """Connections closed at the deadline so far."""
        self.refused = 0
        """Connections refused because the cap was reached."""
        self._pending: dict[Any, asyncio.TimerHandle | None] = {}

    @property
    def pending(self) -> int:
        """Connections currently in their handshake."""
        return len(self._pending)

    def install(self, server: web.Server) -> None:
        """Track every connection ``server`` accepts from now on."""
        made = server.connection_made
        lost = server.connection_lost

        def connection_made(handler: web.RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            self._admit(handler, transport)

        def connection_lost(handler: web.RequestHandler, exc: BaseException | None = None) -> None:
            self._forget(handler)
            lost(handler, exc)

        # aiohttp's request handlers call these on the server instance they were made by.
        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

    def passed(self, protocol: Any) -> None:
        """The connection behind ``protocol`` finished its handshake: no deadline any more."""
        if self._pending:
            self._forget(protocol)

    # --- internals -------------------------------------------------------------------------------

    def _admit(self, handler: Any, transport: asyncio.Transport) -> None:
        if self.max_pending and len(self._pending) >= self.max_pending:
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning(
                    "%s: %d connections still in their handshake; refusing new ones (%d so far)",
                    self.name,
                    len(self._pending),
                    self.refused,
                )
            transport.abort()
            return
        timer = None
        if self.timeout_s > 0:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(self.timeout_s, self._expire, handler, transport)
        self._pending[handler] = timer

    def _expire(self, handler: Any, transport: asyncio.Transport) -> None:
        if handler in self._pending:
            del self._pending[handler]
            self.timed_out += 1
            log.info("%s: closing a connection idle in its handshake", self.name)
            transport.abort()

    def _forget(self, handler: Any) -> None:
        timer = self._pending.pop(handler, None)
        if timer is not None:
            timer.cancel()
