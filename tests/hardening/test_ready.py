"""Ready means ready: the worker port opens only once every built-in has registered."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import BuiltinWorker, WorkerContext, WorkerRegistry, WorkerSpec
from tests.cli.clirun import free_port
from tests.raw_client import raw_worker


class SlowStart(BuiltinWorker):
    """A built-in whose start (think: loading a large state file) waits for the test."""

    entered: asyncio.Event
    release: asyncio.Event

    def __init__(self, config: Any) -> None:
        pass

    async def start(self, ctx: WorkerContext) -> None:
        SlowStart.entered.set()
        await SlowStart.release.wait()
        ctx.register_function("slow::ready", lambda payload: "ready")

    async def stop(self) -> None:
        pass


class SlowPlugin:
    @hookimpl
    def iii_register_workers(self, registry: WorkerRegistry) -> None:
        registry.add(WorkerSpec(name="test-slow", factory=SlowStart))


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def test_port_opens_after_builtins_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("III_DISABLE_PLUGINS", "1")
    SlowStart.entered, SlowStart.release = asyncio.Event(), asyncio.Event()
    plugins = PluginManager()
    plugins.register_module("test-slow", SlowPlugin())
    port = free_port()
    config = parse_config(
        "workers:\n"
        "  - name: iii-worker-manager\n"
        f"    config: {{host: 127.0.0.1, port: {port}}}\n"
        "  - name: test-slow\n"
    )
    engine = Engine(config, plugins=plugins)
    starting = asyncio.ensure_future(engine.start())
    try:
        await asyncio.wait_for(SlowStart.entered.wait(), 5)
        assert refused(port)  # the built-in is still loading: nobody can connect yet
        SlowStart.release.set()
        await asyncio.wait_for(starting, 5)
        async with raw_worker(engine) as worker:
            # The first call after the port opened finds the function.
            assert await worker.call_ok("slow::ready", {}) == "ready"
    finally:
        SlowStart.release.set()
        await starting
        await engine.stop()
