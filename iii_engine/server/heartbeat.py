"""WebSocket pings that find workers which stopped answering (a process frozen by SIGSTOP).

aiohttp's heartbeat does the work: a worker socket silent for ``ping_interval_ms`` is sent a
ping, and one that then stays silent for ``ping_timeout_ms`` is closed (code 1006). Any frame
the worker sends counts as a sign of life. The read loop then ends and the usual disconnect
cleanup fails the worker's in-flight calls with ``invocation_stopped``.
"""

from __future__ import annotations

from aiohttp import web

from iii_engine.config.schema import WorkerManagerConfig

__all__ = ["heartbeat", "set_pong_timeout"]


def heartbeat(config: WorkerManagerConfig) -> float | None:
    """The ``heartbeat`` argument of :class:`aiohttp.web.WebSocketResponse` (None: no pings)."""
    if config.ping_interval_ms <= 0:
        return None
    return config.ping_interval_ms / 1000


def set_pong_timeout(ws: web.WebSocketResponse, config: WorkerManagerConfig) -> None:
    """Use ``ping_timeout_ms`` for the pong wait (aiohttp defaults to half the interval).

    aiohttp has no public argument for it; its attribute is checked so a future rename only
    falls back to aiohttp's own default.
    """
    if (
        config.ping_interval_ms > 0
        and config.ping_timeout_ms > 0
        and hasattr(ws, "_pong_heartbeat")
    ):
        ws._pong_heartbeat = config.ping_timeout_ms / 1000
