"""The worker WebSocket listener (one per ``iii-worker-manager`` entry).

Routes: ``/`` (the worker protocol), ``/otel`` (telemetry frames, accepted and drained) and
``/ws/channels/{channel_id}`` (data channels, served by ``channel_route``). Every listener
admits workers into the same :class:`WorkerTable` and hands their frames to the same
:class:`FrameHandler`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from iii_engine.access.exposure import ListenerExposure
from iii_engine.access.limits import LimitedWebSocket
from iii_engine.access.listener_access import ListenerAccess
from iii_engine.config.schema import WorkerManagerConfig
from iii_engine.core.workers import WorkerTable
from iii_engine.server.connections import FrameHandler, WorkerConnection
from iii_engine.server.corked import CorkedWriter
from iii_engine.server.heartbeat import heartbeat, set_pong_timeout
from iii_engine.server.sockets import set_nodelay
from iii_sdk.serving import HandshakeGuard

__all__ = ["MAX_MESSAGE_BYTES", "Listener"]

log = logging.getLogger("iii.engine")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest HTTP request body (the WebSocket limit is the listener's ``max_frame_bytes``)."""


class Listener:
    """An aiohttp server accepting worker sockets for one worker-manager entry."""

    def __init__(
        self,
        config: WorkerManagerConfig,
        instance_id: str,
        *,
        workers: WorkerTable,
        frames: FrameHandler,
        channel_route: Callable[[web.Request], Awaitable[web.StreamResponse]],
        access: ListenerAccess | None = None,
    ) -> None:
        self.workers = workers
        self.frames = frames
        self.channel_route = channel_route
        self.config = config
        self.instance_id = instance_id
        self.port = config.port
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.guard = HandshakeGuard(
            timeout_s=config.handshake_timeout_ms / 1000,
            max_pending=config.max_pending_handshakes,
            name=f"{instance_id} on port {config.port}",
        )
        """Closes sockets that do not upgrade in time (``handshake_timeout_ms``)."""
        self.access = access
        """Authentication and RBAC of this listener (None: no ``rbac`` nor middleware)."""

    @property
    def url(self) -> str:
        """``ws://host:port`` of this listener (loopback when bound to every interface)."""
        host = self.config.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        return f"ws://{host}:{self.port}"

    @property
    def exposure(self) -> ListenerExposure:
        """Where this listener is bound and whether it authenticates (the banner's warning)."""
        access = self.access
        authenticated = access is not None and access.auth_function_id is not None
        return ListenerExposure(self.config.host, self.port, authenticated)

    async def start(self) -> None:
        """Bind and start serving."""
        app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_get("/", self._worker_socket)
        app.router.add_get("/otel", self._otel_socket)
        app.router.add_get("/ws/channels/{channel_id}", self._channel_socket)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        assert self._runner.server is not None
        self.guard.install(self._runner.server)
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
            compress=False,
            max_msg_size=self.config.max_frame_bytes,
            decode_text=False,
            heartbeat=heartbeat(self.config),
        )
        set_pong_timeout(ws, self.config)
        await ws.prepare(request)
        self.guard.passed(request.protocol)
        set_nodelay(request)
        access = self.access
        session = None
        if access is not None:
            session = await access.open_session(request, ws)
            if session is None:
                return ws
        self._sockets.add(ws)
        transport = request.transport
        writer = None if transport is None else CorkedWriter(transport, request.protocol)
        conn = WorkerConnection(
            ws,
            request.remote,
            self.frames,
            writer,
            session=session,
            allowed=None if session is None else session.allowed,
            max_pending=self.config.max_pending_invocations,
        )
        if access is not None and session is not None:
            access.admitted(conn, session)
        try:
            await self.workers.admit(conn)
            await conn.read_loop()
        except Exception:
            log.exception("worker %s: read loop failed", conn.worker_id)
        finally:
            self._sockets.discard(ws)
            await asyncio.shield(self._finish(conn))
        return ws

    async def _finish(self, conn: WorkerConnection) -> None:
        await self.workers.cleanup(conn)
        await conn.close()

    async def _channel_socket(self, request: web.Request) -> web.StreamResponse:
        self.guard.passed(request.protocol)  # the channel end answers or upgrades at once
        return await self.channel_route(request)

    async def _otel_socket(self, request: web.Request) -> web.StreamResponse:
        ws = LimitedWebSocket(compress=False, max_msg_size=self.config.max_frame_bytes)
        await ws.prepare(request)
        self.guard.passed(request.protocol)
        set_nodelay(request)
        if self.access is not None and await self.access.open_session(request, ws) is None:
            return ws
        self._sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.BINARY:
                    self.frames.telemetry(None, msg.data)
        finally:
            self._sockets.discard(ws)
        return ws
