"""Provider replacement and replay order; worker-name sanitizing edge cases."""

from __future__ import annotations

from typing import Any

from iii_engine.engine import Engine
from tests.raw_client import RawWorker, disconnect, open_raw, raw_worker

HOOK_TYPE = {"type": "registertriggertype", "id": "webhook", "description": "Web hooks"}


async def bind(w: RawWorker, binding_id: str) -> None:
    await w.send(
        {
            "type": "registertrigger",
            "id": binding_id,
            "trigger_type": "webhook",
            "function_id": "hooks::fn",
            "config": {},
        }
    )


async def nack(provider: RawWorker, delivered: dict[str, Any]) -> None:
    await provider.send(
        {
            "type": "triggerregistrationresult",
            "id": delivered["id"],
            "trigger_type": delivered["trigger_type"],
            "function_id": delivered["function_id"],
            "error": {"code": "nope", "message": "not now"},
        }
    )


async def test_replay_order_live_then_parked(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as first, raw_worker(iii_engine) as registrant:
        await first.send(HOOK_TYPE)
        await bind(registrant, "b-live")
        await bind(registrant, "b-rejected")
        assert (await first.recv("registertrigger"))["id"] == "b-live"
        await nack(first, await first.recv("registertrigger"))
        await registrant.recv("triggerregistrationresult")
        async with raw_worker(iii_engine) as second:
            await second.send(HOOK_TYPE)
            order = [(await second.recv("registertrigger"))["id"] for _ in range(2)]
            assert order == ["b-live", "b-rejected"]


async def test_replaced_provider_leaving_keeps_bindings_with_new_one(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as second, raw_worker(iii_engine) as registrant:
        first = await open_raw(iii_engine.worker_url)
        await first.send(HOOK_TYPE)
        await bind(registrant, "b-1")
        await first.recv("registertrigger")
        await second.send(HOOK_TYPE)
        await second.recv("registertrigger")
        await disconnect(iii_engine, first)
        await second.barrier()
        assert second.take("unregistertrigger") == []
        assert second.take("registertrigger") == []
        assert "b-1" in iii_engine.triggers.live
        assert ("default", "webhook") in iii_engine.triggers.types
        await registrant.send({"type": "unregistertrigger", "id": "b-1"})
        removed = await second.recv("unregistertrigger")
        assert removed["id"] == "b-1"


async def test_same_provider_reregistering_gets_rejected_binding_again(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provider.send(HOOK_TYPE)
        await bind(registrant, "b-1")
        await nack(provider, await provider.recv("registertrigger"))
        await registrant.recv("triggerregistrationresult")
        await provider.send(HOOK_TYPE)
        again = await provider.recv("registertrigger")
        assert again["id"] == "b-1"
        assert "b-1" in iii_engine.triggers.live


async def test_nameless_workers_skip_the_lease(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as a, raw_worker(iii_engine) as b:
        for w in (a, b):
            frame = await w.call("engine::workers::register", {"name": " \u200e\t ", "pid": 1})
            assert frame["result"] == {"success": True}
        await a.barrier()
        assert a.take("registrationrejected") == b.take("registrationrejected") == []
        assert not a.ws.closed and not b.ws.closed


async def test_worker_name_and_description_truncated_to_280(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.register_worker("n" * 300, description="line1\u2028" + "d" * 400)
        rows = (await w.call_ok("engine::workers::list", {"runtime": "python"}))["workers"]
        mine = next(r for r in rows if r["id"] == w.worker_id)
        assert mine["name"] == "n" * 280
        assert mine["description"] == ("line1" + "d" * 400)[:280]


async def test_failed_engine_register_trigger_leaves_no_binding(iii_engine: Engine) -> None:
    # The caller got an error and never learned the id: a parked leftover could never be
    # unregistered and would be replayed to the next provider of the type.
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as caller:
        await provider.send(HOOK_TYPE)
        await provider.barrier()
        invocation_id = await caller.invoke(
            "engine::register_trigger", {"trigger_type": "webhook", "function_id": "hooks::fn"}
        )
        await nack(provider, await provider.recv("registertrigger"))
        reply = await caller.result(invocation_id)
        assert reply["error"]["code"] == "trigger_registration_failed"
        assert not iii_engine.triggers.live
        assert not iii_engine.triggers.parked
        await provider.send(HOOK_TYPE)
        await provider.barrier()
        assert provider.take("registertrigger") == []


async def test_provider_sees_register_unregister_in_order(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provider.send(HOOK_TYPE)
        await provider.barrier()
        for _ in range(25):
            await bind(registrant, "b-1")
            await registrant.send({"type": "unregistertrigger", "id": "b-1"})
        await registrant.barrier()
        await provider.barrier()
        kinds = [
            f["type"]
            for f in provider.inbox
            if f["type"] in ("registertrigger", "unregistertrigger")
        ]
        assert kinds == ["registertrigger", "unregistertrigger"] * 25
        assert not iii_engine.triggers.live


async def test_fired_events_and_results_keep_order_per_connection(iii_engine: Engine) -> None:
    # Frames the engine originates (discovery fires) and routed results share one socket:
    # each worker still sees its frames in the order the engine produced them.
    async with raw_worker(iii_engine) as watcher:
        await watcher.register_function("watch::w")
        await watcher.send(
            {
                "type": "registertrigger",
                "id": "w",
                "trigger_type": "engine::workers-available",
                "function_id": "watch::w",
                "config": {},
            }
        )
        await watcher.barrier()
        others = [await open_raw(iii_engine.worker_url) for _ in range(10)]
        for other in others:
            await disconnect(iii_engine, other)
        events = []
        for _ in range(20):
            invocation = await watcher.invocation("watch::w")
            events.append((invocation["data"]["event"], invocation["data"]["worker_id"]))
        for other in others:
            connected = events.index(("worker_connected", other.worker_id))
            gone = events.index(("worker_disconnected", other.worker_id))
            assert connected < gone


async def test_binding_held_by_another_registrant_is_refused_until_it_leaves(
    iii_engine: Engine,
) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as second:
        first = await open_raw(iii_engine.worker_url)
        await provider.send(HOOK_TYPE)
        await bind(first, "shared-id")
        await provider.recv("registertrigger")
        await bind(second, "shared-id")
        refused = await second.recv("triggerregistrationresult")
        assert refused["error"]["code"] == "trigger_registration_failed"
        await provider.barrier()
        assert provider.take("registertrigger") == []
        await disconnect(iii_engine, first)
        await provider.recv("unregistertrigger")
        await bind(second, "shared-id")
        await provider.recv("registertrigger")
        binding = iii_engine.triggers.live["shared-id"]
        assert binding.owner is iii_engine.workers.connections[second.worker_id]
