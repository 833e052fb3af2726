"""Function ownership, worker-name leases and ``reattach`` over raw sockets."""

from __future__ import annotations

from iii_engine.engine import Engine
from tests.raw_client import disconnect, open_raw, raw_worker


async def test_second_live_owner_is_rejected_and_first_keeps_serving(iii_engine: Engine) -> None:
    async with (
        raw_worker(iii_engine) as first,
        raw_worker(iii_engine) as second,
        raw_worker(iii_engine) as caller,
    ):
        await first.register_function("math::add", description="first")
        await second.send({"type": "registerfunction", "id": "math::add", "description": "second"})
        rejected = await second.recv("registrationrejected")
        assert rejected == {
            "type": "registrationrejected",
            "code": "FUNCTION_NAMESPACE_CONFLICT",
            "namespace": "default",
            "function_id": "math::add",
            "owner_worker_id": first.worker_id,
        }
        # The loser's connection stays open and usable.
        await second.barrier()
        assert not second.ws.closed
        # The first owner keeps serving, with its own description.
        invocation_id = await caller.invoke("math::add", {"a": 1})
        invocation = await first.invocation("math::add")
        await first.reply(invocation, 1)
        assert (await caller.result(invocation_id))["result"] == 1
        info = await caller.call_ok("engine::functions::info", {"function_id": "math::add"})
        assert info["description"] == "first"
        # A re-registration by the owner itself is not a conflict.
        await first.register_function("math::add", description="updated")
        assert first.take("registrationrejected") == []
        info = await caller.call_ok("engine::functions::info", {"function_id": "math::add"})
        assert info["description"] == "updated"


async def test_takeover_after_owner_disconnects(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as second, raw_worker(iii_engine) as caller:
        first = await open_raw(iii_engine.worker_url)
        await first.register_function("svc::fn")
        await disconnect(iii_engine, first)
        await second.register_function("svc::fn")
        assert second.take("registrationrejected") == []
        invocation_id = await caller.invoke("svc::fn", None)
        invocation = await second.invocation("svc::fn")
        await second.reply(invocation, "second")
        assert (await caller.result(invocation_id))["result"] == "second"


async def test_unregister_by_non_owner_is_a_no_op(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as owner, raw_worker(iii_engine) as other:
        await owner.register_function("svc::fn")
        await other.send({"type": "unregisterfunction", "id": "svc::fn"})
        await other.barrier()
        assert other.inbox == []
        assert iii_engine.functions.get("default", "svc::fn") is not None
        await owner.send({"type": "unregisterfunction", "id": "svc::fn"})
        await owner.barrier()
        assert iii_engine.functions.get("default", "svc::fn") is None
        # Unknown ids are a silent no-op too.
        await owner.send({"type": "unregisterfunction", "id": "svc::fn"})
        await owner.barrier()
        assert owner.inbox == []


async def test_unregistered_function_can_be_claimed_by_another(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as owner, raw_worker(iii_engine) as other:
        await owner.register_function("svc::fn")
        await owner.send({"type": "unregisterfunction", "id": "svc::fn"})
        await owner.barrier()
        await other.register_function("svc::fn")
        assert other.take("registrationrejected") == []
        assert iii_engine.functions.get("default", "svc::fn").owner.worker_id == other.worker_id  # type: ignore[union-attr]


async def test_http_invoked_function_without_http_functions_worker_is_ignored(
    iii_engine: Engine,
) -> None:
    async with raw_worker(iii_engine) as w:
        await w.register_function("remote::fn", invocation={"url": "https://example.com/fn"})
        assert w.inbox == []
        assert iii_engine.functions.get("default", "remote::fn") is None


async def test_worker_name_conflict_rejects_and_closes(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "billing") as holder:
        second = await open_raw(iii_engine.worker_url)
        try:
            await second.invoke(
                "engine::workers::register", {"name": "billing", "pid": 1, "runtime": "python"}
            )
            rejected = await second.recv("registrationrejected")
            assert rejected == {
                "type": "registrationrejected",
                "code": "WORKER_NAMESPACE_CONFLICT",
                "namespace": "default",
                "worker_name": "billing",
                "owner_worker_id": holder.worker_id,
            }
            assert await second.closed() is not None
        finally:
            await second.close()
        # No metadata stored for the loser; the holder keeps the name.
        listed = await holder.call_ok("engine::workers::list", {"search": "billing"})
        assert [w["id"] for w in listed["workers"]] == [holder.worker_id]


async def test_worker_name_reclaim_is_idempotent_and_freed_on_disconnect(
    iii_engine: Engine,
) -> None:
    first = await open_raw(iii_engine.worker_url)
    try:
        assert (await first.register_worker("svc"))["result"] == {"success": True}
        assert (await first.register_worker("svc"))["result"] == {"success": True}
        assert first.take("registrationrejected") == []
    finally:
        await disconnect(iii_engine, first)
    async with raw_worker(iii_engine) as second:
        assert (await second.register_worker("svc"))["result"] == {"success": True}


async def test_worker_name_is_sanitized_before_the_lease(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await w.register_worker("  svc\u202e\x07 ")
        info = await w.call_ok("engine::workers::info", {"name": "svc"})
        assert info["worker"]["id"] == w.worker_id
        async with raw_worker(iii_engine) as rival:
            await rival.invoke("engine::workers::register", {"name": "svc"})
            rejected = await rival.recv("registrationrejected")
            assert rejected["worker_name"] == "svc"


async def test_reattach_evicts_previous_connection(iii_engine: Engine) -> None:
    old = await open_raw(iii_engine.worker_url)
    try:
        await old.register_function("svc::fn")
        await old.send(
            {
                "type": "registertrigger",
                "id": "t-1",
                "trigger_type": "engine::workers-available",
                "function_id": "svc::fn",
                "config": {},
            }
        )
        await old.barrier()
        async with raw_worker(iii_engine) as new:
            await new.send(
                {
                    "type": "reattach",
                    "previous_worker_id": old.worker_id,
                    "reattach_token": old.reattach_token,
                }
            )
            # The engine finishes the eviction before reading our next frame.
            await new.barrier()
            assert old.worker_id not in iii_engine.workers.connections
            assert iii_engine.functions.get("default", "svc::fn") is None
            assert "t-1" not in iii_engine.triggers.live
            assert await old.closed() is not None
            # The replayed registration lands on a clean slate.
            await new.register_function("svc::fn")
            assert new.take("registrationrejected") == []
            assert new.worker_id != old.worker_id
    finally:
        await old.close()


async def test_reattach_with_wrong_token_is_ignored(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as old, raw_worker(iii_engine) as new:
        await old.register_function("svc::fn")
        for frame in (
            {"previous_worker_id": old.worker_id, "reattach_token": new.reattach_token},
            {"previous_worker_id": old.worker_id},
            {"previous_worker_id": old.worker_id, "reattach_token": None},
            {"previous_worker_id": "not-a-uuid", "reattach_token": old.reattach_token},
            {"previous_worker_id": new.worker_id, "reattach_token": new.reattach_token},
        ):
            await new.send({"type": "reattach", **frame})
        await new.barrier()
        assert new.inbox == []
        await old.barrier()
        assert old.worker_id in iii_engine.workers.connections
        assert new.worker_id in iii_engine.workers.connections
        assert iii_engine.functions.get("default", "svc::fn") is not None


async def test_renaming_releases_the_old_name(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "before") as w, raw_worker(iii_engine) as other:
        assert (await w.register_worker("after"))["result"] == {"success": True}
        assert (await other.register_worker("before"))["result"] == {"success": True}
        rows = (await other.call_ok("engine::workers::list", {"runtime": "python"}))["workers"]
        assert {r["name"]: r["id"] for r in rows} == {
            "after": w.worker_id,
            "before": other.worker_id,
        }
