"""Handshake deadlines and caps on both listeners, and pings that find frozen workers.

Every deadline here is configured small (a few hundred milliseconds) so the tests wait on the
engine closing a socket, never on a long sleep.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from iii_engine.config.plan import make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError, InvocationError
from iii_sdk.worker import Worker
from tests.raw_client import open_raw, raw_worker

WITHIN = 5.0
SHORT = {"handshake_timeout_ms": 200, "max_pending_handshakes": 3}


def manager(**config: object) -> dict[str, object]:
    return {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0, **config}}


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[manager(**SHORT)]) as running:
        yield running


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for a condition only observable by polling the engine's counters."""
    deadline = time.monotonic() + WITHIN
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.005)


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """True once the server closed the connection (EOF or reset), bounded by WITHIN."""
    async with asyncio.timeout(WITHIN):
        try:
            while await reader.read(65536):
                pass
        except ConnectionResetError:
            pass
    return True


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET / HTTP/1.1\r\nHost: x\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ids=["idle", "partial-head", "never-upgrades"],
)
async def test_worker_listener_closes_sockets_that_do_not_upgrade(
    engine: Engine, sent: bytes
) -> None:
    guard = engine.listeners[0].guard
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(engine.worker_url))
    try:
        writer.write(sent)
        started = time.monotonic()
        assert await closed_by_peer(reader)
        assert time.monotonic() - started < WITHIN
        await until(lambda: guard.timed_out >= 1, "deadline counted")
    finally:
        writer.close()


async def test_upgraded_worker_outlives_the_deadline(engine: Engine) -> None:
    guard = engine.listeners[0].guard
    async with raw_worker(engine) as worker:
        assert guard.pending == 0
        # A later idle socket's deadline passing proves the upgraded one's would have passed too.
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(engine.worker_url))
        assert await closed_by_peer(reader)
        writer.close()
        await worker.barrier()
        assert not worker.ws.closed


async def test_cap_on_sockets_in_their_handshake(engine: Engine) -> None:
    guard = engine.listeners[0].guard
    port = port_of(engine.worker_url)
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    try:
        await until(lambda: guard.pending == 3, "three sockets mid-handshake")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_by_peer(reader)  # refused at once, not at the deadline
        writer.close()
        assert guard.refused == 1
    finally:
        for _, w in idle:
            w.close()
    await until(lambda: guard.pending == 0, "idle sockets forgotten")
    async with raw_worker(engine) as worker:
        await worker.barrier()


async def test_iii_http_closes_idle_and_partial_heads() -> None:
    http_config = {"port": 0, "host": "127.0.0.1", "header_timeout_ms": 200}
    async with start_engine(workers=[{"name": "iii-http", "config": http_config}]) as running:
        http = running.builtin("iii-http")
        port = http.port  # type: ignore[attr-defined]
        for sent in (b"", b"GET /x HTTP/1.1\r\nHost: x\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(sent)
            assert await closed_by_peer(reader)
            writer.close()
        # A complete request is served as usual (404: no route).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(WITHIN):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 404")
        writer.close()
        assert http._server.guard.timed_out >= 2  # type: ignore[attr-defined]


PINGS = {"ping_interval_ms": 200, "ping_timeout_ms": 300}


async def test_worker_that_stops_answering_pings_is_dropped_and_calls_stop() -> None:
    async with start_engine(workers=[manager(**PINGS)]) as running:
        sdk = Worker(running.worker_url)  # answers pings: it stays
        sdk.register_function("alive::fn", lambda payload: "alive")
        await sdk.connect()
        try:
            frozen = await open_raw(running.worker_url)  # never answers pings: "frozen"
            await frozen.register_function("frozen::fn")
            conn = running.workers.connections[frozen.worker_id]
            with pytest.raises(InvocationError) as caught:
                await sdk.trigger({"function_id": "frozen::fn", "payload": {}})
            assert caught.value.code == "invocation_stopped"
            assert conn.cleaned.done()
            assert running.functions.get("default", "frozen::fn") is None
            # The worker that answers pings was kept through many intervals.
            assert await sdk.trigger({"function_id": "alive::fn", "payload": {}}) == "alive"
            await frozen.close()
        finally:
            await sdk.close()


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    from iii_sdk import Worker

    worker = Worker(sys.argv[1])
    worker.register_function("frozen::fn", lambda payload: "never")
    worker.run_forever()
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
async def test_sigstopped_worker_process_is_found_by_pings(tmp_path: Path) -> None:
    script = tmp_path / "frozen_worker.py"
    script.write_text(WORKER_SCRIPT)
    async with start_engine(workers=[manager(**PINGS)]) as running:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(script), running.worker_url, env={**os.environ}
        )
        try:
            await until(
                lambda: running.functions.get("default", "frozen::fn") is not None,
                "worker process registered",
            )
            os.kill(process.pid, signal.SIGSTOP)
            async with Worker(running.worker_url) as caller:
                with pytest.raises(InvocationError) as caught:
                    await caller.trigger({"function_id": "frozen::fn", "payload": {}})
                assert caught.value.code == "invocation_stopped"
        finally:
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    "bad", [{"handshake_timeout_ms": -1}, {"max_pending_handshakes": -5}, {"ping_timeout_ms": 0}]
)
def test_listener_limits_are_validated(bad: dict[str, int]) -> None:
    key = next(iter(bad))
    yaml_text = f"workers:\n  - name: iii-worker-manager\n    config: {{{key}: {bad[key]}}}\n"
    with pytest.raises(ConfigError, match=rf"workers\[0\]\.config: {key} must be"):
        make_plan(parse_config(yaml_text), PluginManager())
