"""What the SDK puts on the wire (protocol section 2.2), checked against a recording server."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from typing import Any

import pytest

from iii_sdk import IIIError, InvocationError, Worker
from iii_sdk.plugin import Trigger, TriggerType
from iii_sdk.protocol import HttpInvocationRef
from tests.sdk.rawserver import RawConnection, raw_server


class NullType(TriggerType):
    id = "webhook"
    description = "test provider"
    trigger_request_format = {"type": "object"}

    async def register_trigger(self, trigger: Trigger) -> None:
        pass

    async def unregister_trigger(self, trigger: Trigger) -> None:
        pass


def _registered(worker: Worker) -> tuple[Any, Any]:
    worker.register_trigger_type(NullType())
    worker.register_function("math::add", lambda p: p["a"] + p["b"], description="adds")
    handle = worker.register_trigger("http", "math::add", None, metadata={"team": "ops"})
    return handle, handle.id


async def _expect_replay(conn: RawConnection, trigger_id: str) -> dict[str, Any]:
    trigger_type, function, trigger, register = await conn.take(4)
    assert trigger_type == {
        "type": "registertriggertype",
        "id": "webhook",
        "description": "test provider",
        "trigger_request_format": {"type": "object"},
    }
    assert function == {"type": "registerfunction", "id": "math::add", "description": "adds"}
    # config is always present (null) so upstream engines do not drop the frame
    assert trigger == {
        "type": "registertrigger",
        "id": trigger_id,
        "trigger_type": "http",
        "function_id": "math::add",
        "config": None,
        "metadata": {"team": "ops"},
    }
    assert register["type"] == "invokefunction"
    assert register["function_id"] == "engine::workers::register"
    assert register["action"] == {"type": "void"}
    assert "invocation_id" not in register
    return register


async def test_first_connection_sends_registrations_then_worker_metadata() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="recorder", description="records")
        _, trigger_id = _registered(worker)
        await worker.connect()
        conn = await server.accept()
        register = await _expect_replay(conn, trigger_id)
        data = register["data"]
        assert data["runtime"] == "python"
        assert data["name"] == "recorder"
        assert data["description"] == "records"
        assert data["pid"] == os.getpid()
        assert data["namespace"] is None
        assert data["telemetry"]["framework"] == "iii-py"
        assert set(data) >= {"version", "os", "isolation", "telemetry"}
        assert worker.worker_id == conn.worker_id
        await worker.close()
        assert conn.text_only


async def test_reconnect_sends_reattach_and_replays_same_ids() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="again")
        _, trigger_id = _registered(worker)
        reconnected = asyncio.get_running_loop().create_future()
        states: list[str] = []

        def on_state(state: str) -> None:
            states.append(state)
            if states[-2:] == ["disconnected", "connected"] and not reconnected.done():
                reconnected.set_result(None)

        worker.add_connection_listener(on_state)
        await worker.connect()
        first = await server.accept()
        await _expect_replay(first, trigger_id)
        await first.close()
        second = await server.accept()
        assert await second.next() == {
            "type": "reattach",
            "previous_worker_id": first.worker_id,
            "reattach_token": first.token,
        }
        await _expect_replay(second, trigger_id)
        await reconnected
        assert worker.worker_id == second.worker_id
        await worker.close()
        assert states[-1] == "closed"


async def test_offline_invocation_is_sent_after_replay_and_before_metadata() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        worker.register_function("a::b", lambda p: None)
        call = asyncio.create_task(worker.trigger("svc::slow", {"n": 1}, timeout_ms=5000))
        conn = await server.accept()
        registerfunction, invoke, register = await conn.take(3)
        assert registerfunction["type"] == "registerfunction"
        assert invoke["type"] == "invokefunction"
        assert invoke["function_id"] == "svc::slow"
        assert invoke["data"] == {"n": 1}
        assert uuid.UUID(invoke["invocation_id"]).version == 4
        assert str(uuid.UUID(invoke["invocation_id"])) == invoke["invocation_id"]
        assert register["function_id"] == "engine::workers::register"
        await conn.send(
            {
                "type": "invocationresult",
                "invocation_id": invoke["invocation_id"],
                "function_id": "svc::slow",
                "result": {"ok": True},
            }
        )
        assert await call == {"ok": True}
        await worker.close()


async def test_call_on_dropped_socket_fails_with_invocation_stopped() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        await worker.connect()
        conn = await server.accept()
        await conn.next()  # engine::workers::register
        call = asyncio.create_task(worker.trigger("svc::never", {}, timeout_ms=10_000))
        assert (await conn.next())["function_id"] == "svc::never"
        await conn.close()
        with pytest.raises(InvocationError) as info:
            await call
        assert info.value.code == "invocation_stopped"
        await worker.close()


async def test_sdk_answers_unknown_local_function_and_metadata_sidecar() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        seen: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def handler(payload: Any, metadata: Any) -> Any:
            seen.set_result((payload, metadata))
            return {"echo": payload}

        worker.register_function("svc::echo", handler)
        await worker.connect()
        conn = await server.accept()
        await conn.take(2)
        missing = str(uuid.uuid4())
        gone = {"invocation_id": missing, "function_id": "svc::gone", "data": 1}
        await conn.send({"type": "invokefunction", **gone})
        assert await conn.next() == {
            "type": "invocationresult",
            "invocation_id": missing,
            "function_id": "svc::gone",
            "error": {"code": "function_not_found", "message": "Function 'svc::gone' not found"},
        }
        call = str(uuid.uuid4())
        await conn.send(
            {
                "type": "invokefunction",
                "invocation_id": call,
                "function_id": "svc::echo",
                "data": {"x": 1, "_caller_worker_id": "w"},
                "metadata": {"trace": "t"},
            }
        )
        assert await seen == ({"x": 1, "_caller_worker_id": "w"}, {"trace": "t"})
        assert await conn.next() == {
            "type": "invocationresult",
            "invocation_id": call,
            "function_id": "svc::echo",
            "result": {"echo": {"x": 1, "_caller_worker_id": "w"}},
        }
        await worker.close()


async def test_json_ping_is_answered_and_garbage_is_ignored() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        await worker.connect()
        conn = await server.accept()
        await conn.next()
        await conn.ws.send_str("{not json")
        await conn.send({"type": "nonsense"})
        await conn.send({"type": "ping"})
        assert await conn.next() == {"type": "pong"}
        assert worker.connected
        await worker.close()


async def test_iii_url_and_worker_name_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    async with raw_server() as server:
        monkeypatch.setenv("III_URL", server.url)
        monkeypatch.setenv("III_WORKER_NAME", "from-env")
        monkeypatch.setenv("III_NAMESPACE", "team-a")
        worker = Worker()
        assert worker.url == server.url
        await worker.connect()
        conn = await server.accept()
        register = await conn.next()
        assert register["data"]["name"] == "from-env"
        assert register["data"]["namespace"] == "team-a"
        call = asyncio.create_task(worker.trigger("svc::x", {}, timeout_ms=5000))
        invoke = await conn.next()
        # calls inherit the worker's namespace; engine:: builtins resolve in default
        assert invoke["namespace"] == "team-a"
        assert register["namespace"] == "default"
        call.cancel()
        await worker.close()


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("III_URL", raising=False)
    monkeypatch.delenv("III_WORKER_NAME", raising=False)
    monkeypatch.setenv("III_NAMESPACE", "  ")
    worker = Worker()
    assert worker.url == "ws://127.0.0.1:49134"
    assert re.search(rf":{os.getpid()}(-\d+)?$", worker.name)
    # one live worker per name: unnamed workers of one process must not collide
    assert Worker().name != worker.name
    assert worker.namespace is None
    with pytest.raises(ValueError, match="namespace is empty"):
        Worker(namespace=" ")


async def test_connect_without_reconnect_raises_when_refused() -> None:
    async with raw_server() as server:
        url = server.url
    worker = Worker(url, reconnect=False)
    with pytest.raises(ConnectionError):
        await worker.connect()
    await worker.close()


async def test_offline_call_that_timed_out_is_not_sent_later() -> None:
    async with raw_server() as server:
        url = server.url
    worker = Worker(url)  # nothing listens there yet: the call waits in the offline queue
    try:
        with pytest.raises(InvocationError) as info:
            await worker.trigger("svc::stale", {}, timeout_ms=1)
        assert info.value.code == "TIMEOUT"
        fresh = asyncio.create_task(worker.trigger("svc::fresh", {}, timeout_ms=5000))
        async with raw_server(int(url.rsplit(":", 1)[1])) as server:
            conn = await server.accept()
            invoke, register = await conn.take(2)
            assert invoke["function_id"] == "svc::fresh"
            assert register["function_id"] == "engine::workers::register"
            fresh.cancel()
    finally:
        await worker.close()


async def test_http_invoked_function_registration_and_local_refusal() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        ref = HttpInvocationRef(url="https://example.com/hook", method="PUT", timeout_ms=500)
        worker.register_function("hooks::remote", ref, description="over http")
        await worker.connect()
        conn = await server.accept()
        registration, _ = await conn.take(2)
        assert registration == {
            "type": "registerfunction",
            "id": "hooks::remote",
            "description": "over http",
            "invocation": {"url": "https://example.com/hook", "method": "PUT", "timeout_ms": 500},
        }
        call = str(uuid.uuid4())
        await conn.send(
            {"type": "invokefunction", "invocation_id": call, "function_id": "hooks::remote"}
        )
        answer = await conn.next()
        assert answer["error"]["code"] == "function_not_invokable"
        await worker.close()


async def test_auth_error_frame_fails_connect() -> None:
    async with raw_server() as server:
        server.refuse = "bad token"
        worker = Worker(server.url, headers={"Authorization": "Bearer nope"})
        with pytest.raises(IIIError, match="AUTH_ERROR: bad token"):
            await worker.connect()
        await worker.close()


async def test_client_socket_has_nodelay_and_no_compression() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        await worker.connect()
        ws = worker._session.connection._ws  # the SDK's own socket: checked, not faked
        assert ws is not None
        sock = ws.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert ws.compress == 0
        await worker.close()


async def test_sync_sends_keep_call_order_with_awaited_ones() -> None:
    async with raw_server() as server:
        worker = Worker(server.url)
        await worker.connect()
        conn = await server.accept()
        await conn.next()
        worker.register_function("order::a", lambda p: None)  # sync, queued first
        worker.trigger_void("order::b", {"n": 1})
        await worker.trigger("order::c", {"n": 2}, action={"type": "void"})
        frames = await conn.take(3)
        assert [f.get("id") or f["function_id"] for f in frames] == [
            "order::a",
            "order::b",
            "order::c",
        ]
        assert all("invocation_id" not in f for f in frames[1:])
        await worker.close()
