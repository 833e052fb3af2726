"""The worker socket itself: greeting, liveness, frame kinds, routes and size limits."""

from __future__ import annotations

import json
import socket

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.raw_client import is_uuid4, open_raw, raw_worker


async def test_workerregistered_is_first_with_uuid4_ids(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as a, raw_worker(iii_engine) as b:
        for w in (a, b):
            assert set(w.registered) == {"type", "worker_id", "reattach_token"}
            assert w.registered["type"] == "workerregistered"
            assert is_uuid4(w.worker_id)
            assert is_uuid4(w.reattach_token)
            assert w.worker_id != w.reattach_token
        assert a.worker_id != b.worker_id
        assert a.reattach_token != b.reattach_token


async def test_json_ping_gets_pong(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.send({"type": "ping"})
        assert await w.recv() == {"type": "pong"}
        # An inbound pong is ignored (no reply, connection fine).
        await w.send({"type": "pong"})
        await w.send({"type": "ping"})
        assert await w.recv() == {"type": "pong"}


async def test_ws_level_ping_answered_with_same_payload(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.ws.ping(b"are-you-there")
        msg = await w.ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.PONG
        assert bytes(msg.data) == b"are-you-there"


async def test_otel_socket_accepts_and_drains_binary_telemetry(iii_engine: Engine) -> None:
    before = iii_engine.telemetry_frames
    async with raw_worker(iii_engine, path="/otel") as otel:
        assert otel.registered == {}  # /otel never greets or registers a worker
        for prefix in (b"OTLP", b"MTRC", b"LOGS"):
            await otel.send_bytes(prefix + b'{"resourceSpans":[]}')
        await otel.send_text('{"type":"ping"}')  # text is ignored there, no pong
        await otel.ws.ping(b"x")
        pong = await otel.ws.receive(timeout=5)
        assert pong.type is aiohttp.WSMsgType.PONG
        assert not otel.ws.closed
    assert iii_engine.telemetry_frames - before == 3


async def test_otel_connection_is_not_a_worker(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, path="/otel"), raw_worker(iii_engine) as w:
        await w.barrier()
        assert len(iii_engine.workers.connections) == 1
        assert w.worker_id in iii_engine.workers.connections


async def test_telemetry_frames_on_worker_socket_are_ignored(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        before = iii_engine.telemetry_frames
        for prefix in (b"OTLP", b"MTRC", b"LOGS"):
            await w.send_bytes(prefix + b"{not even json")
        await w.barrier()
        assert iii_engine.telemetry_frames - before == 3
        assert w.inbox == []
        assert not w.ws.closed


async def test_binary_json_frames_are_protocol_messages(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.send_bytes(b'{"type":"ping"}')
        assert await w.recv() == {"type": "pong"}
        await w.send_bytes(json.dumps({"type": "registerfunction", "id": "bin::fn"}).encode())
        await w.barrier()
        assert iii_engine.functions.get("default", "bin::fn") is not None


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   \n",
        "not json",
        "[1, 2, 3]",
        '"just a string"',
        "{}",
        '{"type": "nosuchmessage"}',
        '{"type": "PING"}',
        '{"type": "registerfunction"}',
        '{"type": "registerfunction", "id": 42}',
        '{"type": "invocationresult", "invocation_id": 7, "function_id": "x"}',
        '{"type": "unregistertriggertype"}',
        '{"type": "ping"',
        b"\xff\xfe\x00 binary garbage",
    ],
)
async def test_garbage_is_ignored_and_connection_stays_usable(
    iii_engine: Engine, garbage: str | bytes
) -> None:
    async with raw_worker(iii_engine) as w:
        if isinstance(garbage, bytes):
            await w.send_bytes(garbage)
        else:
            await w.send_text(garbage)
        await w.barrier()
        assert w.inbox == []
        result = await w.call_ok("engine::functions::list", {})
        assert "functions" in result


async def test_non_uuid_invocation_id_makes_frame_undecodable(iii_engine: Engine) -> None:
    # docs/protocol.md 1.3: a non-UUID invocation_id makes the whole frame undecodable (dropped).
    async with raw_worker(iii_engine) as w:
        await w.send(
            {"type": "invokefunction", "invocation_id": "not-a-uuid", "function_id": "a", "data": 1}
        )
        await w.barrier()
        assert w.inbox == []


@pytest.mark.parametrize("path", ["/nope", "/ws", "/otel/extra", "/ws/channels"])
async def test_unknown_path_is_404(iii_engine: Engine, path: str) -> None:
    http_url = iii_engine.worker_url.replace("ws://", "http://")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(iii_engine.worker_url + path)
        assert info.value.status == 404
        async with session.get(http_url + path) as response:
            assert response.status == 404


async def test_oversized_frame_closes_with_1009_and_others_unaffected() -> None:
    manager = {
        "name": "iii-worker-manager",
        "config": {"host": "127.0.0.1", "port": 0, "max_frame_bytes": 64 * 1024},
    }
    async with start_engine(workers=[manager]) as engine, raw_worker(engine) as bystander:
        big = await open_raw(engine.worker_url)
        try:
            await big.send(
                {"type": "registerfunction", "id": "big::fn", "description": "x" * 100_000}
            )
            assert await big.closed() == 1009
        finally:
            await big.close()
        assert engine.functions.get("default", "big::fn") is None
        # The engine and other workers keep going; the big worker was cleaned up.
        await bystander.barrier()
        assert big.worker_id not in engine.workers.connections
        result = await bystander.call_ok("engine::functions::list", {"include_internal": True})
        assert result["functions"]
        async with raw_worker(engine) as fresh:
            await fresh.barrier()


@pytest.mark.parametrize("path", ["/", "/otel"])
async def test_plain_http_on_socket_routes_is_a_client_error(iii_engine: Engine, path: str) -> None:
    http_url = iii_engine.worker_url.replace("ws://", "http://")
    async with aiohttp.ClientSession() as session, session.get(http_url + path) as response:
        assert 400 <= response.status < 500
    async with raw_worker(iii_engine) as w:
        await w.barrier()
        assert list(iii_engine.workers.connections) == [w.worker_id]


async def test_two_listeners_share_one_registry() -> None:
    manager = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}
    async with start_engine(workers=[manager, manager]) as engine:
        assert len(engine.worker_urls) == 2
        assert engine.worker_urls[0] != engine.worker_urls[1]
        executor = await open_raw(engine.worker_urls[0])
        caller = await open_raw(engine.worker_urls[1])
        try:
            await executor.register_function("shared::fn")
            invocation_id = await caller.invoke("shared::fn", {})
            await executor.reply(await executor.invocation("shared::fn"), "across")
            assert (await caller.result(invocation_id))["result"] == "across"
        finally:
            await executor.close()
            await caller.close()


async def test_accepted_worker_sockets_have_tcp_nodelay(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        server_ws = iii_engine.workers.connections[w.worker_id].ws
        sock = server_ws.get_extra_info("socket")
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_query_string_on_worker_path_is_allowed(iii_engine: Engine) -> None:
    w = await open_raw(iii_engine.worker_url, path="/?token=abc&x=1")
    try:
        assert w.registered == {}  # open_raw only reads the greeting for the bare "/" path
        greeting = await w.recv("workerregistered")
        assert greeting["worker_id"] in iii_engine.workers.connections
        await w.barrier()
    finally:
        await w.close()
