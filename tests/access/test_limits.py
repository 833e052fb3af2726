"""Listener limits: frame size, handshake timeout, pending invocations; loopback by default."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from iii_engine.access.exposure import open_listener_warnings
from iii_engine.config.plan import make_plan
from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import default_config
from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError
from tests.raw_client import open_raw, raw_worker


def manager(**config: Any) -> dict[str, Any]:
    return {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0, **config}}


async def test_oversized_frame_is_closed_with_1009_and_a_reason() -> None:
    async with (
        start_engine(workers=[manager(max_frame_bytes=4096)]) as engine,
        raw_worker(engine) as bystander,
    ):
        async with aiohttp.ClientSession() as http, http.ws_connect(engine.worker_url) as ws:
            await ws.receive_json(timeout=5)  # workerregistered
            await ws.send_str("x" * 5000)
            closing = await ws.receive(timeout=5)
            assert closing.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 1009
            assert closing.extra == "frame exceeds max_frame_bytes (4096 bytes)"
        # a frame just under the limit is fine, and the other worker never noticed
        assert await bystander.call_ok("engine::log::info", {"message": "y" * 3000}) is None


async def test_handshake_timeout_closes_a_silent_connection() -> None:
    async with (
        start_engine(workers=[manager(handshake_timeout_ms=100)]) as engine,
        raw_worker(engine) as worker,  # connected before: lives past the timeout below
    ):
        port = engine.listeners[0].port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            await writer.drain()
            async with asyncio.timeout(5):
                assert await reader.read() == b""  # closed by the engine
        finally:
            writer.close()
        # the open socket outlived a whole handshake timeout and is not affected
        await worker.barrier()
        assert worker.close_code is None


async def test_pending_invocations_are_capped_per_connection() -> None:
    async with (
        start_engine(workers=[manager(max_pending_invocations=2)]) as engine,
        raw_worker(engine) as executor,
    ):
        await executor.register_function("slow::fn")
        caller = await open_raw(engine.worker_url)
        try:
            first = await caller.invoke("slow::fn", {})
            await caller.invoke("slow::fn", {})
            third = await caller.invoke("slow::fn", {})
            refused = await caller.result(third)
            assert refused["error"] == {
                "code": "LIMIT_EXCEEDED",
                "message": "too many pending invocations on this connection "
                "(max_pending_invocations is 2)",
            }
            invocation = await executor.invocation("slow::fn")
            assert invocation["invocation_id"] == first
            await executor.reply(invocation, "done")
            assert (await caller.result(first))["result"] == "done"
            fourth = await caller.invoke("slow::fn", {})
            assert (await executor.invocation("slow::fn"))["invocation_id"] != fourth
            assert (await executor.invocation("slow::fn"))["invocation_id"] == fourth
        finally:
            await caller.close()


def test_embedded_default_listens_on_loopback() -> None:
    plan = make_plan(default_config(), PluginManager())
    [config] = plan.managers.values()
    assert config.host == "127.0.0.1"


async def test_banner_warns_about_an_unauthenticated_listener_beyond_loopback() -> None:
    open_entry = {"name": "iii-worker-manager", "config": {"host": "0.0.0.0", "port": 0}}
    async with start_engine(workers=[manager(), open_entry]) as engine:
        [warning] = open_listener_warnings([x.exposure for x in engine.listeners])
        assert "0.0.0.0" in warning and "without authentication" in warning
    guarded = {**open_entry, "config": {**open_entry["config"], "rbac": {"auth_function_id": "a"}}}
    async with start_engine(workers=[guarded]) as engine:
        assert open_listener_warnings([x.exposure for x in engine.listeners]) == []


async def test_in_process_calls_count_against_the_cap() -> None:
    release = asyncio.Event()

    async def slow(payload: Any) -> str:
        await release.wait()
        return "done"

    async with start_engine(workers=[manager(max_pending_invocations=1)]) as engine:
        engine.core_context.register_function("slow::local", slow)
        caller = await open_raw(engine.worker_url)
        try:
            first = await caller.invoke("slow::local", {})
            second = await caller.invoke("slow::local", {})
            assert (await caller.result(second))["error"]["code"] == "LIMIT_EXCEEDED"
            release.set()
            assert (await caller.result(first))["result"] == "done"
            third = await caller.invoke("engine::log::info", {"message": "again"})
            assert "error" not in await caller.result(third)
        finally:
            await caller.close()


@pytest.mark.parametrize(
    ("key", "value"),
    [("max_frame_bytes", 0), ("max_pending_invocations", 0), ("handshake_timeout_ms", -1)],
)
async def test_limits_must_be_positive(key: str, value: int) -> None:
    with pytest.raises(ConfigError) as caught:
        async with start_engine(workers=[manager(**{key: value})]):
            pass
    # handshake_timeout_ms is checked by the config schema (0 means no limit there)
    assert caught.value.path in (f"workers[0].config.{key}", "workers[0].config")
    assert key in str(caught.value)
