"""Socket options every engine socket gets."""

from __future__ import annotations

import socket

from aiohttp import web

__all__ = ["set_nodelay"]


def set_nodelay(request: web.Request) -> None:
    """Disable Nagle's algorithm on the request's TCP socket: small frames must not wait for
    the peer's ACK (docs/benchmarks.md)."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
