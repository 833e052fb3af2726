"""The iii-console built-in worker: a bridge to the engine plus the web server."""

from __future__ import annotations

from iii_sdk.plugin import BuiltinWorker, WorkerContext
from plugins.console.backend import INTERNAL, Backend, LocalBackend, WorkerBackend
from plugins.console.bridge import ConsoleBridge
from plugins.console.config import ConsoleConfig
from plugins.console.server import LOOPBACK_NAMES, ConsoleServer

__all__ = ["INFO_FUNCTION", "ConsoleWorker"]

INFO_FUNCTION = "console::info"


class ConsoleWorker(BuiltinWorker):
    """Serves the console; after :meth:`start`, ``port`` and ``url`` are the bound ones."""

    def __init__(self, config: ConsoleConfig | None = None) -> None:
        self.config = config or ConsoleConfig()
        self.port: int | None = None
        self.url: str | None = None
        self.bridge: ConsoleBridge | None = None
        self._server: ConsoleServer | None = None

    async def start(self, ctx: WorkerContext) -> None:
        """Connect the bridge, then listen."""
        config = self.config
        backend: Backend
        if config.engine_url:
            backend = WorkerBackend(config.engine_url, config.headers, config.worker_name)
        else:
            backend = LocalBackend(ctx)
        bridge = ConsoleBridge(backend, config.worker_name)
        await bridge.start()
        self.bridge = bridge
        server = ConsoleServer(config.host, config.port, bridge)
        try:
            await server.start()
        except BaseException:
            await bridge.close()
            raise
        self._server = server
        self.port, self.url = server.port, server.url
        ctx.register_function(
            INFO_FUNCTION,
            self._info,
            description="The console's URL (for `iii console`)",
            metadata=INTERNAL,
        )
        ctx.logger.info("listening on %s", server.url)
        if config.host.lower() not in LOOPBACK_NAMES:
            ctx.logger.warning(
                "iii-console on %s:%s: whoever reaches it may call %s; "
                "put it behind authentication (docs/console.md#security)",
                config.host,
                server.port,
                "what its worker session allows" if config.engine_url else "every function",
            )

    async def _info(self, payload: object) -> dict[str, object]:
        return {"url": self.url, "mode": self.bridge.backend.mode if self.bridge else None}

    def urls(self) -> dict[str, str]:
        """For the engine's banner: ``{"console": "http://host:port"}`` once listening."""
        if self.port is None:
            return {}
        return {"console": f"http://{self.config.host}:{self.port}"}

    async def stop(self) -> None:
        """Stop serving and drop the bridge's bindings."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            await bridge.close()
