"""Edge cases of the engine core: shutdown, many workers, id collisions, timeouts, cleanup."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from iii_engine.core import remote
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, disconnect, open_raw, raw_worker


async def test_engine_stop_closes_workers_and_does_not_hang() -> None:
    async with start_engine() as engine:
        executor = await open_raw(engine.worker_url)
        caller = await open_raw(engine.worker_url)
        await executor.register_function("hang::fn")
        await caller.invoke("hang::fn", {})
        await executor.invocation("hang::fn")
    try:
        # The engine has stopped: both sockets were closed with 1012 (service restart), so SDKs
        # reconnect when it comes back.
        assert await executor.closed() == 1012
        assert await caller.closed() == 1012
        assert not engine.workers.connections
        assert not engine.router.pending
    finally:
        await executor.close()
        await caller.close()


async def test_many_workers_connect_register_and_leave(iii_engine: Engine) -> None:
    workers: list[RawWorker] = await asyncio.gather(
        *(open_raw(iii_engine.worker_url) for _ in range(40))
    )
    try:
        for n, w in enumerate(workers):
            await w.send({"type": "registerfunction", "id": f"svc{n}::fn"})
        for w in workers:
            await w.barrier()
        async with raw_worker(iii_engine) as caller:
            listed = await caller.call_ok("engine::functions::list", {"prefix": "svc"})
            assert len(listed["functions"]) == 40
    finally:
        for w in workers:
            await disconnect(iii_engine, w)
    assert not iii_engine.workers.connections
    assert not [e for e in iii_engine.functions.all() if e.owner is not None]


async def test_two_callers_with_the_same_invocation_id(iii_engine: Engine) -> None:
    shared = str(uuid.uuid4())
    async with (
        raw_worker(iii_engine) as executor,
        raw_worker(iii_engine) as a,
        raw_worker(iii_engine) as b,
    ):
        await executor.register_function("id::echo")
        for caller in (a, b):
            await caller.send(
                {
                    "type": "invokefunction",
                    "invocation_id": shared,
                    "function_id": "id::echo",
                    "data": {"who": caller.worker_id},
                }
            )
        first = await executor.invocation("id::echo")
        second = await executor.invocation("id::echo")
        assert first["invocation_id"] != second["invocation_id"]
        for invocation in (second, first):
            await executor.reply(invocation, invocation["data"]["who"])
        assert (await a.result(shared))["result"] == a.worker_id
        assert (await b.result(shared))["result"] == b.worker_id


async def test_void_call_to_in_process_function_gets_no_reply(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        await caller.send(
            {
                "type": "invokefunction",
                "invocation_id": str(uuid.uuid4()),
                "function_id": "engine::functions::list",
                "data": {},
                "action": {"type": "void"},
            }
        )
        await caller.barrier()
        # The in-process call runs on a task: a sync call after it is a second barrier.
        await caller.call_ok("engine::functions::list", {})
        assert caller.inbox == []


async def test_enqueue_provider_error_is_enqueue_error(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as queue, raw_worker(iii_engine) as caller:
        await queue.register_function("engine::queue::enqueue")
        invocation_id = await caller.invoke(
            "jobs::run", 1, action={"type": "enqueue", "queue": "full"}
        )
        request = await queue.invocation("engine::queue::enqueue")
        assert "_caller_worker_id" not in request["data"]
        await queue.reply(request, error={"code": "queue_full", "message": "no room"})
        reply = await caller.result(invocation_id)
        assert reply["error"]["code"] == "enqueue_error"
        assert "no room" in reply["error"]["message"]


async def test_reattach_stops_calls_the_old_connection_was_executing(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        old = await open_raw(iii_engine.worker_url)
        try:
            await old.register_function("svc::fn")
            invocation_id = await caller.invoke("svc::fn", {})
            await old.invocation("svc::fn")
            async with raw_worker(iii_engine) as new:
                await new.send(
                    {
                        "type": "reattach",
                        "previous_worker_id": old.worker_id,
                        "reattach_token": old.reattach_token,
                    }
                )
                reply = await caller.result(invocation_id)
                assert reply["error"]["code"] == "invocation_stopped"
        finally:
            await old.close()


async def test_registrant_leaving_drops_its_parked_bindings(iii_engine: Engine) -> None:
    registrant = await open_raw(iii_engine.worker_url)
    await registrant.send(
        {
            "type": "registertrigger",
            "id": "orphan",
            "trigger_type": "later-type",
            "function_id": "f",
            "config": {},
        }
    )
    await registrant.barrier()
    assert "orphan" in iii_engine.triggers.parked
    await disconnect(iii_engine, registrant)
    assert "orphan" not in iii_engine.triggers.parked
    async with raw_worker(iii_engine) as provider:
        await provider.send({"type": "registertriggertype", "id": "later-type", "description": ""})
        await provider.barrier()
        assert provider.take("registertrigger") == []


async def test_engine_register_trigger_without_ack_succeeds_after_timeout(
    iii_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "ACK_TIMEOUT_S", 0.05)
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as caller:
        await provider.send({"type": "registertriggertype", "id": "silent", "description": ""})
        await provider.barrier()
        out = await caller.call_ok(
            "engine::register_trigger", {"trigger_type": "silent", "function_id": "f"}
        )
        delivered = await provider.recv("registertrigger")
        assert delivered["id"] == out["id"]
        assert out["id"] in iii_engine.triggers.live


async def test_engine_register_trigger_succeeds_when_provider_leaves(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        provider = await open_raw(iii_engine.worker_url)
        await provider.send({"type": "registertriggertype", "id": "flaky", "description": ""})
        await provider.barrier()
        invocation_id = await caller.invoke(
            "engine::register_trigger", {"trigger_type": "flaky", "function_id": "f"}
        )
        await provider.recv("registertrigger")
        await disconnect(iii_engine, provider)
        reply = await caller.result(invocation_id)
        assert "error" not in reply
        binding_id = reply["result"]["id"]
        assert binding_id in iii_engine.triggers.parked  # waits for the type to come back


async def test_registerservice_is_bookkeeping_only(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.send({"type": "registerservice", "id": "billing", "name": "Billing"})
        await w.barrier()
        assert w.inbox == []
        assert ("default", "billing") in iii_engine.workers.services


async def test_large_payload_forwarded_verbatim(iii_engine: Engine) -> None:
    blob = "x" * 2_000_000
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("big::echo")
        invocation_id = await caller.invoke("big::echo", {"blob": blob})
        invocation = await executor.invocation("big::echo")
        assert invocation["data"]["blob"] == blob
        await executor.reply(invocation, [blob])
        assert (await caller.result(invocation_id))["result"] == [blob]


async def test_self_call(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.register_function("self::fn")
        invocation_id = await w.invoke("self::fn", {"n": 1})
        invocation = await w.invocation("self::fn")
        assert invocation["data"]["_caller_worker_id"] == w.worker_id
        await w.reply(invocation, "me")
        assert (await w.result(invocation_id))["result"] == "me"


async def test_null_optional_fields_are_not_forwarded(iii_engine: Engine) -> None:
    # docs/protocol.md 1.3: null == absent on input; optional fields are omitted on output.
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("opt::fn")
        await caller.invoke("opt::fn", 1, metadata=None, traceparent=None, baggage=None)
        invocation = await executor.invocation("opt::fn")
        # traceparent is the engine's own span (iii-observability traces by default).
        assert set(invocation) - {"traceparent"} == {"type", "invocation_id", "function_id", "data"}


async def test_engine_only_frames_from_a_worker_are_ignored(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.send({"type": "workerregistered", "worker_id": str(uuid.uuid4())})
        await w.send(
            {
                "type": "registrationrejected",
                "code": "WORKER_NAMESPACE_CONFLICT",
                "namespace": "default",
                "owner_worker_id": "",
            }
        )
        await w.send({"type": "error", "error": {"code": "AUTH_ERROR", "message": "x"}})
        await w.barrier()
        assert w.inbox == []
        assert w.worker_id in iii_engine.workers.connections


async def test_reattach_then_reclaim_worker_name(iii_engine: Engine) -> None:
    old = await open_raw(iii_engine.worker_url)
    try:
        assert (await old.register_worker("svc"))["result"] == {"success": True}
        await old.register_function("svc::fn")
        async with raw_worker(iii_engine) as new:
            await new.send(
                {
                    "type": "reattach",
                    "previous_worker_id": old.worker_id,
                    "reattach_token": old.reattach_token,
                }
            )
            await new.register_function("svc::fn")
            assert (await new.register_worker("svc"))["result"] == {"success": True}
            assert new.take("registrationrejected") == []
            info = await new.call_ok("engine::workers::info", {"name": "svc"})
            assert info["worker"]["id"] == new.worker_id
            assert [f["function_id"] for f in info["functions"]] == ["svc::fn"]
    finally:
        await old.close()


async def test_channels_create_and_data_sockets_on_the_worker_listener(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        refs = await w.call_ok("engine::channels::create", {"buffer_size": 4})
        assert set(refs) == {"writer", "reader"}
        writer, reader = refs["writer"], refs["reader"]
        assert set(writer) == set(reader) == {"channel_id", "access_key", "direction"}
        assert (writer["direction"], reader["direction"]) == ("write", "read")
        assert writer["channel_id"] == reader["channel_id"]
        assert writer["access_key"] == reader["access_key"]
        base = (
            f"{iii_engine.worker_url}/ws/channels/{writer['channel_id']}?key={writer['access_key']}"
        )
        out = await open_raw(base, path="&dir=write")
        inp = await open_raw(base, path="&dir=read")
        try:
            await out.send({"hello": 1})
            assert await inp.recv() == {"hello": 1}
        finally:
            await out.close()
            await inp.close()
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await open_raw(f"{iii_engine.worker_url}/ws/channels/nope", path="?key=x&dir=read")
        assert info.value.status == 404


async def test_abrupt_executor_drop_stops_invocation(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as caller:
        executor = await open_raw(iii_engine.worker_url)
        conn = iii_engine.workers.connections[executor.worker_id]
        await executor.register_function("drop::fn")
        invocation_id = await caller.invoke("drop::fn", {})
        await executor.invocation("drop::fn")
        # Close the TCP connection without a WebSocket close frame.
        await executor.session.close()
        reply = await caller.result(invocation_id)
        assert reply["error"]["code"] == "invocation_stopped"
        async with asyncio.timeout(5):
            await asyncio.shield(conn.cleaned)
        assert iii_engine.functions.get("default", "drop::fn") is None


async def test_workers_register_cannot_spoof_another_connection(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "victim") as victim, raw_worker(iii_engine) as attacker:
        frame = await attacker.call(
            "engine::workers::register",
            {"_caller_worker_id": victim.worker_id, "name": "evil", "pid": 1},
        )
        assert frame["result"] == {"success": True}
        info = await attacker.call_ok("engine::workers::info", {"name": "evil"})
        assert info["worker"]["id"] == attacker.worker_id
        still = await attacker.call_ok("engine::workers::info", {"name": "victim"})
        assert still["worker"]["id"] == victim.worker_id


async def test_result_carries_the_function_id_the_caller_asked_for(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("real::fn")
        invocation_id = await caller.invoke("real::fn", None)
        invocation = await executor.invocation("real::fn")
        await executor.send(
            {
                "type": "invocationresult",
                "invocation_id": invocation["invocation_id"],
                "function_id": "something::else",
                "result": 1,
            }
        )
        assert (await caller.result(invocation_id))["function_id"] == "real::fn"


async def test_unregistering_does_not_cancel_a_call_in_flight(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as executor, raw_worker(iii_engine) as caller:
        await executor.register_function("going::away")
        invocation_id = await caller.invoke("going::away", {})
        invocation = await executor.invocation("going::away")
        await executor.send({"type": "unregisterfunction", "id": "going::away"})
        await executor.reply(invocation, "finished anyway")
        assert (await caller.result(invocation_id))["result"] == "finished anyway"
