"""Trigger types provided by raw workers: delivery, parking, nacks, removal, failover."""

from __future__ import annotations

from typing import Any

from iii_engine.engine import Engine
from tests.raw_client import RawWorker, disconnect, is_uuid4, open_raw, raw_worker

HOOK_TYPE = {"type": "registertriggertype", "id": "webhook", "description": "Web hooks"}


def binding(binding_id: str = "b-1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "registertrigger",
        "id": binding_id,
        "trigger_type": "webhook",
        "function_id": "hooks::on_push",
        "config": {"path": "/push"},
        **extra,
    }


async def provide(provider: RawWorker) -> None:
    await provider.send(HOOK_TYPE)
    await provider.barrier()


async def test_binding_parked_until_provider_exists(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as registrant:
        await registrant.send(binding(metadata={"team": "ops"}))
        await registrant.barrier()
        assert registrant.inbox == []  # parked silently, no error
        assert "b-1" in iii_engine.triggers.parked
        async with raw_worker(iii_engine) as provider:
            await provider.send(HOOK_TYPE)
            delivered = await provider.recv("registertrigger")
            assert delivered == {
                "type": "registertrigger",
                "id": "b-1",
                "trigger_type": "webhook",
                "function_id": "hooks::on_push",
                "config": {"path": "/push"},
                "metadata": {"team": "ops"},
            }
            listed = await registrant.call_ok("engine::registered-triggers::list", {})
            assert [r["id"] for r in listed["registered_triggers"]] == ["b-1"]


async def test_delivery_to_existing_provider_has_no_ack_to_registrant(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provide(provider)
        await registrant.send(binding(config=None))
        delivered = await provider.recv("registertrigger")
        assert delivered["config"] is None
        assert "metadata" not in delivered
        assert "namespace" not in delivered
        assert "trigger_namespace" not in delivered
        await provider.send(
            {
                "type": "triggerregistrationresult",
                "id": "b-1",
                "trigger_type": "webhook",
                "function_id": "hooks::on_push",
            }
        )
        await provider.barrier()
        await registrant.barrier()
        assert registrant.inbox == []
        assert "b-1" in iii_engine.triggers.live


async def test_missing_config_is_delivered_as_null(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provide(provider)
        frame = binding()
        del frame["config"]
        await registrant.send(frame)
        delivered = await provider.recv("registertrigger")
        assert "config" in delivered
        assert delivered["config"] is None


async def test_target_namespace_is_forwarded_to_provider(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provide(provider)
        await registrant.send(binding(namespace="team-a"))
        delivered = await provider.recv("registertrigger")
        assert delivered["namespace"] == "team-a"


async def test_provider_nack_reaches_registrant_and_parks_binding(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provide(provider)
        await registrant.send(binding())
        await provider.recv("registertrigger")
        error = {"code": "trigger_registration_failed", "message": "bad path"}
        await provider.send(
            {
                "type": "triggerregistrationresult",
                "id": "b-1",
                "trigger_type": "webhook",
                "function_id": "hooks::on_push",
                "error": error,
            }
        )
        result = await registrant.recv("triggerregistrationresult")
        assert result == {
            "type": "triggerregistrationresult",
            "id": "b-1",
            "trigger_type": "webhook",
            "function_id": "hooks::on_push",
            "error": error,
        }
        assert "b-1" not in iii_engine.triggers.live
        listed = await registrant.call_ok("engine::registered-triggers::list", {})
        assert listed["registered_triggers"] == []


async def test_nack_from_a_non_provider_is_ignored(iii_engine: Engine) -> None:
    async with (
        raw_worker(iii_engine) as provider,
        raw_worker(iii_engine) as registrant,
        raw_worker(iii_engine) as spoofer,
    ):
        await provide(provider)
        await registrant.send(binding())
        await provider.recv("registertrigger")
        await spoofer.send(
            {
                "type": "triggerregistrationresult",
                "id": "b-1",
                "trigger_type": "webhook",
                "function_id": "hooks::on_push",
                "error": {"code": "x", "message": "spoofed"},
            }
        )
        await spoofer.barrier()
        await registrant.barrier()
        assert registrant.inbox == []
        assert "b-1" in iii_engine.triggers.live


async def test_unregistertrigger_delivered_to_provider(iii_engine: Engine) -> None:
    async with (
        raw_worker(iii_engine) as provider,
        raw_worker(iii_engine) as registrant,
        raw_worker(iii_engine) as other,
    ):
        await provide(provider)
        await registrant.send(binding())
        await provider.recv("registertrigger")
        await registrant.send({"type": "unregistertrigger", "id": "b-1"})
        removed = await provider.recv("unregistertrigger")
        assert removed == {"type": "unregistertrigger", "id": "b-1", "trigger_type": "webhook"}
        assert "b-1" not in iii_engine.triggers.live
        # Idempotent: unknown ids are a silent no-op.
        await other.send({"type": "unregistertrigger", "id": "b-1", "trigger_type": "webhook"})
        await other.barrier()
        await provider.barrier()
        assert provider.take("unregistertrigger") == []
        assert other.inbox == []


async def test_registrant_disconnect_unregisters_at_provider(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider:
        await provide(provider)
        registrant = await open_raw(iii_engine.worker_url)
        await registrant.send(binding())
        await provider.recv("registertrigger")
        await disconnect(iii_engine, registrant)
        removed = await provider.recv("unregistertrigger")
        assert removed == {"type": "unregistertrigger", "id": "b-1", "trigger_type": "webhook"}
        assert not iii_engine.triggers.live
        assert not iii_engine.triggers.parked


async def test_reregistering_an_id_replaces_and_redelivers(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provide(provider)
        await registrant.send(binding())
        await provider.recv("registertrigger")
        await registrant.send(binding(config={"path": "/v2"}))
        delivered = await provider.recv("registertrigger")
        assert delivered["config"] == {"path": "/v2"}
        assert iii_engine.triggers.live["b-1"].config == {"path": "/v2"}
        assert len(iii_engine.triggers.live) == 1


async def test_provider_disconnect_parks_and_new_provider_gets_replay(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as registrant:
        first = await open_raw(iii_engine.worker_url)
        await provide(first)
        await registrant.send(binding("b-1"))
        await registrant.send(binding("b-2", function_id="hooks::other"))
        await first.recv("registertrigger")
        await first.recv("registertrigger")
        await disconnect(iii_engine, first)
        assert set(iii_engine.triggers.parked) == {"b-1", "b-2"}
        listed = await registrant.call_ok("engine::registered-triggers::list", {})
        assert listed["registered_triggers"] == []
        async with raw_worker(iii_engine) as second:
            await second.send(HOOK_TYPE)
            replayed = [await second.recv("registertrigger") for _ in range(2)]
            assert {r["id"]: r["function_id"] for r in replayed} == {
                "b-1": "hooks::on_push",
                "b-2": "hooks::other",
            }
            assert set(iii_engine.triggers.live) == {"b-1", "b-2"}


async def test_second_provider_replaces_first_and_gets_bindings(iii_engine: Engine) -> None:
    async with (
        raw_worker(iii_engine) as first,
        raw_worker(iii_engine) as second,
        raw_worker(iii_engine) as registrant,
    ):
        await provide(first)
        await registrant.send(binding())
        await first.recv("registertrigger")
        await second.send(HOOK_TYPE)
        replayed = await second.recv("registertrigger")
        assert replayed["id"] == "b-1"
        assert second.take("registrationrejected") == []
        info = await registrant.call_ok("engine::triggers::info", {"id": "webhook"})
        assert info["instance_count"] == 1


async def test_unregistertriggertype_parks_bindings(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provide(provider)
        await registrant.send(binding())
        await provider.recv("registertrigger")
        await provider.send({"type": "unregistertriggertype", "id": "webhook"})
        await provider.barrier()
        assert ("default", "webhook") not in iii_engine.triggers.types
        assert "b-1" in iii_engine.triggers.parked


async def test_blank_trigger_namespace_is_invalid(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as registrant:
        for field in ("namespace", "trigger_namespace"):
            await registrant.send(binding(f"b-{field}", **{field: "  "}))
            result = await registrant.recv("triggerregistrationresult")
            assert result["id"] == f"b-{field}"
            assert result["error"]["code"] == "INVALID_NAMESPACE"
            assert field in result["error"]["message"]


async def test_explicit_trigger_namespace_is_strict(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as registrant:
        await provider.send({**HOOK_TYPE, "namespace": "edge"})
        await provider.barrier()
        await registrant.send(binding("b-default"))  # looks in default: no provider there
        await registrant.send(binding("b-edge", trigger_namespace="edge"))
        delivered = await provider.recv("registertrigger")
        assert delivered["id"] == "b-edge"
        assert delivered["trigger_namespace"] == "edge"
        await provider.barrier()
        assert provider.take("registertrigger") == []
        assert "b-default" in iii_engine.triggers.parked


async def test_engine_register_trigger_waits_for_ack(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as caller:
        await provide(provider)
        invocation_id = await caller.invoke(
            "engine::register_trigger",
            {"trigger_type": "webhook", "function_id": "hooks::on_push", "config": {"p": 1}},
        )
        delivered = await provider.recv("registertrigger")
        assert delivered["config"] == {"p": 1}
        await caller.barrier()
        assert caller.take("invocationresult") == []  # still waiting for the provider's ack
        await provider.send(
            {
                "type": "triggerregistrationresult",
                "id": delivered["id"],
                "trigger_type": "webhook",
                "function_id": "hooks::on_push",
            }
        )
        result = (await caller.result(invocation_id))["result"]
        assert result == {"id": delivered["id"]}
        assert is_uuid4(result["id"])


async def test_engine_register_trigger_nack_fails_the_call(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider, raw_worker(iii_engine) as caller:
        await provide(provider)
        invocation_id = await caller.invoke(
            "engine::register_trigger", {"trigger_type": "webhook", "function_id": "f"}
        )
        delivered = await provider.recv("registertrigger")
        assert delivered["config"] is None
        await provider.send(
            {
                "type": "triggerregistrationresult",
                "id": delivered["id"],
                "trigger_type": "webhook",
                "function_id": "f",
                "error": {"code": "bad_config", "message": "no path"},
            }
        )
        reply = await caller.result(invocation_id)
        assert reply["error"]["code"] == "trigger_registration_failed"
        assert reply["error"]["message"] == "bad_config: no path"
        listed = await caller.call_ok("engine::registered-triggers::list", {})
        assert listed["registered_triggers"] == []


async def test_engine_trigger_is_durable_and_unregisters(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider:
        caller = await open_raw(iii_engine.worker_url)
        # Unknown type: parked, still success.
        parked = await caller.call_ok(
            "engine::register_trigger", {"trigger_type": "later", "function_id": "f"}
        )
        assert is_uuid4(parked["id"])
        await provide(provider)
        invocation_id = await caller.invoke(
            "engine::register_trigger", {"trigger_type": "webhook", "function_id": "f"}
        )
        delivered = await provider.recv("registertrigger")
        await provider.send(
            {
                "type": "triggerregistrationresult",
                "id": delivered["id"],
                "trigger_type": "webhook",
                "function_id": "f",
            }
        )
        await caller.result(invocation_id)
        await disconnect(iii_engine, caller)
        # Ownerless: survives the caller's disconnect.
        await provider.barrier()
        assert provider.take("unregistertrigger") == []
        assert delivered["id"] in iii_engine.triggers.live
        out = await provider.call_ok("engine::unregister_trigger", {"id": delivered["id"]})
        assert out == {"removed": True}
        removed = await provider.recv("unregistertrigger")
        assert removed == {
            "type": "unregistertrigger",
            "id": delivered["id"],
            "trigger_type": "webhook",
        }
        assert await provider.call_ok("engine::unregister_trigger", {"id": parked["id"]}) == {
            "removed": True
        }
        assert await provider.call_ok("engine::unregister_trigger", {"id": parked["id"]}) == {
            "removed": False
        }
