"""The ``iii-http`` built-in worker: the ``http`` trigger type plus its HTTP server."""

from __future__ import annotations

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins.http.config import HttpConfig
from plugins.http.routes import RouteTable
from plugins.http.server import HttpServer
from plugins.http.trigger import HttpTriggerType

__all__ = ["HttpWorker"]


class HttpWorker(BuiltinWorker):
    """Serves ``http`` triggers on ``config.host:config.port``.

    After :meth:`start`, ``port`` is the bound port (the ephemeral one for ``port: 0``).
    """

    def __init__(self, config: HttpConfig | None = None) -> None:
        self.config = config if config is not None else HttpConfig()
        self.routes = RouteTable()
        self.port: int | None = None
        self._server: HttpServer | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Open the listener, then become the ``http`` trigger provider."""
        server = HttpServer(self.config, ctx, self.routes)
        await server.start()
        self._server = server
        self.port = server.port
        ctx.register_trigger_type(HttpTriggerType(self.routes))

    async def stop(self) -> None:
        """Close the listener; the engine drops the trigger type registration."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    def urls(self) -> dict[str, str]:
        """Where the worker listens, for the engine's banner."""
        port = self.port if self.port is not None else self.config.port
        return {"http": f"http://{self.config.host}:{port}"}
