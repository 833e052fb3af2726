"""The console's HTTP server: the single-page app's static files and the ``/ws`` bridge.

Static files ship inside the package (``plugins/console/static``): no build step, no CDN. The
WebSocket refuses cross-origin upgrades (an ``Origin`` whose host differs from ``Host``), so a web
page on another site cannot drive the console through the user's browser; bound to loopback, the
console also refuses requests whose ``Host`` is not a loopback name (DNS rebinding: a hostile
name resolved to 127.0.0.1 would otherwise be "same origin").
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from plugins.console.bridge import ConsoleBridge, Page

__all__ = ["STATIC_DIR", "ConsoleServer"]

log = logging.getLogger("iii.console")

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
MAX_FRAME: Final = 4 * 1024 * 1024
SHUTDOWN_GRACE: Final = 1.0


LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})


def loopback_host(request: web.BaseRequest) -> bool:
    """True when the ``Host`` header names this machine (``localhost``, ``127.0.0.1``, ``::1``)."""
    host = urlsplit(f"//{request.host}").hostname or ""
    return host.lower() in LOOPBACK_NAMES


def same_origin(request: web.BaseRequest) -> bool:
    """True when the upgrade has no ``Origin`` or one naming this very host and port."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.host.lower()


class ConsoleServer:
    """Serves the app on ``host:port``; ``port`` holds the bound port after :meth:`start`."""

    def __init__(self, host: str, port: int, bridge: ConsoleBridge) -> None:
        self.host = host
        self.port = port
        self.bridge = bridge
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        """The console's address for a browser."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = "[::1]" if host == "::" else host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Listen."""
        app = web.Application(middlewares=[self._check_host] if self._loopback() else [])
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets: list[socket.socket] = list(getattr(site._server, "sockets", ()) or ())
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the pages' sockets and the listener."""
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"console stopping")
        for task in list(self._tasks):
            task.cancel()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _loopback(self) -> bool:
        return self.host.lower() in LOOPBACK_NAMES

    @web.middleware
    async def _check_host(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not loopback_host(request):
            return web.Response(status=403, text="the console answers to localhost only")
        response: web.StreamResponse = await handler(request)
        return response

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            return web.Response(status=403, text="cross-origin console connections are refused")
        ws = web.WebSocketResponse(autoping=True, heartbeat=30, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        self._sockets.add(ws)

        def send(frame: bytes) -> None:
            if not ws.closed:
                self._spawn(ws.send_str(frame.decode()))

        page = Page(send)
        self.bridge.open(page)
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._spawn(self.bridge.handle(page, message.data))
        finally:
            self._sockets.discard(ws)
            await self.bridge.close_page(page)
        return ws

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConnectionError):
            log.warning("iii-console: %s", exc)
