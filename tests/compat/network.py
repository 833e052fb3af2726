"""Network helpers: a TCP proxy that makes half-open links, fixed ports for engine restarts."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import yaml

from iii_engine.engine import Engine


class HalfOpenProxy:
    """Forwards TCP connections to the engine's worker listener.

    :meth:`cut_clients` aborts the client side of every current link but keeps the engine side
    open and silent, as a broken network path does: the SDK reconnects while the engine still
    sees its old connection alive.
    """

    def __init__(self, engine: Engine) -> None:
        self.target = engine.worker_url.removeprefix("ws://").split(":")
        self._server: asyncio.Server | None = None
        self._clients: list[asyncio.StreamWriter] = []
        self._upstreams: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def __aenter__(self) -> HalfOpenProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._clients + self._upstreams:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.target
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._clients.append(writer)
        self._upstreams.append(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65536):
                if dst.is_closing():
                    continue
                dst.write(data)
                await dst.drain()

    def cut_clients(self) -> None:
        """Abort the SDK side of every link; the engine side stays open, and gets nothing more."""
        for writer in self._clients:
            writer.transport.abort()
        self._clients.clear()


def free_port() -> int:
    """A TCP port that was free a moment ago (for an engine restarted on the same port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fixed_port_listener(port: int) -> str:
    """A config whose worker listener is on ``127.0.0.1:port``."""
    entry = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": port}}
    return yaml.safe_dump({"workers": [entry]})
