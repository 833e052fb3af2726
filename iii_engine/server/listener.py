"""The worker WebSocket listener (one per ``iii-worker-manager`` entry).

Routes: ``/`` (the worker protocol), ``/otel`` (telemetry frames, accepted and drained) and
``/ws/channels/{channel_id}`` (data channels). Every listener shares the engine's registries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from iii_engine.access.limits import LimitedWebSocket
from iii_engine.access.listener_access import listener_access, manager_path
from iii_engine.access.namespaces import hold_registrations
from iii_engine.config.schema import WorkerManagerConfig
from iii_engine.server.connections import WorkerConnection
from iii_engine.server.corked import CorkedWriter
from iii_engine.server.sockets import set_nodelay

if TYPE_CHECKING:
    from iii_engine.engine import Engine

__all__ = ["MAX_MESSAGE_BYTES", "Listener"]

log = logging.getLogger("iii.engine")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest HTTP request body (the WebSocket limit is the listener's ``max_frame_bytes``)."""


class Listener:
    """An aiohttp server accepting worker sockets for one worker-manager entry."""

    def __init__(self, engine: Engine, config: WorkerManagerConfig, instance_id: str) -> None:
        self.engine = engine
        self.config = config
        self.instance_id = instance_id
        self.port = config.port
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.access = listener_access(engine, config, manager_path(engine.config, instance_id))

    @property
    def url(self) -> str:
        """``ws://host:port`` of this listener (loopback when bound to every interface)."""
        host = self.config.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        return f"ws://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and start serving."""
        app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_get("/", self._worker_socket)
        app.router.add_get("/otel", self._otel_socket)
        app.router.add_get("/ws/channels/{channel_id}", self.engine.channels.handle)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            # a fresh connection must send its upgrade request within the handshake timeout
            keepalive_timeout=self.config.handshake_timeout_ms / 1000,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every socket and stop serving."""
        # 1012 (service restart), not 1001: the official Python SDK treats a normal close as
        # final and would never reconnect to the engine when it comes back.
        for ws in list(self._sockets):
            await ws.close(code=1012, message=b"engine restarting")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _worker_socket(self, request: web.Request) -> web.StreamResponse:
        ws = LimitedWebSocket(
            compress=False, max_msg_size=self.config.max_frame_bytes, decode_text=False
        )
        await ws.prepare(request)
        set_nodelay(request)
        session = None
        if self.access is not None:
            session = await self.access.open_session(request, ws)
            if session is None:
                return ws
        self._sockets.add(ws)
        transport = request.transport
        writer = None if transport is None else CorkedWriter(transport, request.protocol)
        conn = WorkerConnection(self.engine, ws, request.remote, writer)
        conn.max_pending = self.config.max_pending_invocations
        if session is not None:
            conn.session, conn.allowed = session, session.allowed
            if session.rbac is not None:
                hold_registrations(self.engine, conn)
        try:
            await self.engine.workers.admit(conn)
            await conn.read_loop()
        except Exception:
            log.exception("worker %s: read loop failed", conn.worker_id)
        finally:
            self._sockets.discard(ws)
            await asyncio.shield(self._finish(conn))
        return ws

    async def _finish(self, conn: WorkerConnection) -> None:
        await self.engine.workers.cleanup(conn)
        await conn.close()

    async def _otel_socket(self, request: web.Request) -> web.StreamResponse:
        ws = LimitedWebSocket(compress=False, max_msg_size=self.config.max_frame_bytes)
        await ws.prepare(request)
        set_nodelay(request)
        if self.access is not None and await self.access.open_session(request, ws) is None:
            return ws
        self._sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.BINARY:
                    self.engine.on_telemetry(None, msg.data)
        finally:
            self._sockets.discard(ws)
        return ws
