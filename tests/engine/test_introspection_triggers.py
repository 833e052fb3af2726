"""``engine::triggers::*`` and ``engine::registered-triggers::*``: exact output keys."""

from __future__ import annotations

import json
from typing import Any

from iii_engine.engine import Engine
from tests.raw_client import RawWorker, raw_worker

SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}}
CALL_SCHEMA = {"type": "object", "properties": {"body": {}}}


async def provide_webhook(provider: RawWorker) -> None:
    await provider.send(
        {
            "type": "registertriggertype",
            "id": "webhook",
            "description": "Web hooks",
            "trigger_request_format": SCHEMA,
            "call_request_format": CALL_SCHEMA,
        }
    )
    await provider.barrier()


async def bind(w: RawWorker, binding_id: str, config: Any, **extra: Any) -> None:
    await w.send(
        {
            "type": "registertrigger",
            "id": binding_id,
            "trigger_type": "webhook",
            "function_id": "hooks::on_push",
            "config": config,
            **extra,
        }
    )


async def test_triggers_list(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "hooksvc") as provider, raw_worker(iii_engine) as anon:
        await provide_webhook(provider)
        await anon.send({"type": "registertriggertype", "id": "acme::tick", "description": "t"})
        await anon.barrier()
        rows = (await anon.call_ok("engine::triggers::list", {}))["triggers"]
        rows = [r for r in rows if r["worker_name"] != "iii-observability"]  # log, trace
        assert rows == [
            {"id": "acme::tick", "namespace": "default", "worker_name": "acme", "description": "t"},
            {
                "id": "webhook",
                "namespace": "default",
                "worker_name": "hooksvc",
                "description": "Web hooks",
            },
        ]
        internal = (await anon.call_ok("engine::triggers::list", {"include_internal": True}))[
            "triggers"
        ]
        ids = [r["id"] for r in internal]
        assert ids == sorted(ids)
        assert {"engine::workers-available", "engine::functions-available"} <= set(ids)
        discovery = next(r for r in internal if r["id"] == "engine::workers-available")
        assert set(discovery) == {"id", "namespace", "worker_name", "description"}
        only = (await anon.call_ok("engine::triggers::list", {"worker": "hooksvc"}))["triggers"]
        assert [r["id"] for r in only] == ["webhook"]
        by_prefix = (await anon.call_ok("engine::triggers::list", {"prefix": "acme"}))["triggers"]
        assert [r["id"] for r in by_prefix] == ["acme::tick"]
        by_search = (await anon.call_ok("engine::triggers::list", {"search": "HOOK"}))["triggers"]
        assert [r["id"] for r in by_search] == ["webhook"]


async def test_triggers_info(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "hooksvc") as provider:
        await provide_webhook(provider)
        await bind(provider, "b-1", {"path": "/a"})
        await provider.recv("registertrigger")
        info = await provider.call_ok("engine::triggers::info", {"id": "webhook"})
        assert info == {
            "id": "webhook",
            "namespace": "default",
            "worker_name": "hooksvc",
            "description": "Web hooks",
            "configuration_schema": SCHEMA,
            "request_schema": CALL_SCHEMA,
            "instance_count": 1,
        }
        missing = await provider.call("engine::triggers::info", {"id": "nope", "namespace": "x"})
        assert missing["error"] == {
            "code": "NOT_FOUND",
            "message": "Trigger type 'nope' is not registered in namespace 'x'.",
        }


async def test_triggers_info_minimal_provider(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as provider:
        await provider.send({"type": "registertriggertype", "id": "plain", "description": ""})
        info = await provider.call_ok("engine::triggers::info", {"id": "plain"})
        assert info == {
            "id": "plain",
            "namespace": "default",
            "worker_name": "plain",
            "description": "",
            "instance_count": 0,
        }


async def test_registered_triggers_list(iii_engine: Engine) -> None:
    long_config = {"path": "/" + "x" * 100}
    async with raw_worker(iii_engine, "hooksvc") as provider, raw_worker(iii_engine, "app") as app:
        await provide_webhook(provider)
        await bind(app, "b-2", long_config)
        await bind(app, "b-1", {"path": "/a"})
        await app.send(
            {
                "type": "registertrigger",
                "id": "b-internal",
                "trigger_type": "engine::workers-available",
                "function_id": "engine::functions::list",
                "config": {},
            }
        )
        await bind(app, "b-parked", {}, trigger_type="missing-type")
        for _ in range(2):
            await provider.recv("registertrigger")
        rows = (await app.call_ok("engine::registered-triggers::list", {}))["registered_triggers"]
        assert [r["id"] for r in rows] == ["b-1", "b-2"]  # sorted, live only, no engine:: targets
        assert rows[0] == {
            "id": "b-1",
            "trigger_type": "webhook",
            "function_id": "hooks::on_push",
            "worker_name": "app",
            "config": {"path": "/a"},
            "config_summary": '{"path":"/a"}',
        }
        compact = json.dumps(long_config, separators=(",", ":"))
        assert rows[1]["config_summary"] == compact[:80] + "…"
        internal = await app.call_ok(
            "engine::registered-triggers::list", {"include_internal": True}
        )
        assert "b-internal" in [r["id"] for r in internal["registered_triggers"]]

        async def ids(query: dict[str, Any]) -> list[str]:
            out = await app.call_ok("engine::registered-triggers::list", query)
            return [r["id"] for r in out["registered_triggers"]]

        assert await ids({"trigger_type": "webhook"}) == ["b-1", "b-2"]
        assert await ids({"function_id": "hooks::nothing"}) == []
        assert await ids({"search": "B-2"}) == ["b-2"]
        assert await ids({"worker": "app"}) == ["b-1", "b-2"]
        assert await ids({"worker": "hooksvc"}) == []


async def test_registered_triggers_info(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine, "hooksvc") as provider, raw_worker(iii_engine, "app") as app:
        await provide_webhook(provider)
        await app.register_function("hooks::on_push", description="on push")
        await bind(app, "b-1", {"path": "/a"}, metadata={"team": "ops"})
        await provider.recv("registertrigger")
        info = await app.call_ok("engine::registered-triggers::info", {"id": "b-1"})
        assert set(info) == {
            "id",
            "trigger_type",
            "function_id",
            "worker_name",
            "config",
            "metadata",
            "trigger",
            "function",
        }
        assert info["metadata"] == {"team": "ops"}
        assert info["config"] == {"path": "/a"}
        assert info["trigger"]["id"] == "webhook"
        assert info["trigger"]["instance_count"] == 1
        assert info["function"]["function_id"] == "hooks::on_push"
        assert info["function"]["registered_triggers"] == [
            {"id": "b-1", "trigger_type": "webhook", "config": {"path": "/a"}}
        ]
        await bind(app, "b-nofn", None, function_id="hooks::absent")
        await provider.recv("registertrigger")
        bare = await app.call_ok("engine::registered-triggers::info", {"id": "b-nofn"})
        assert bare["function"] is None
        assert "metadata" not in bare
        assert bare["config"] is None
        missing = await app.call("engine::registered-triggers::info", {"id": "ghost"})
        assert missing["error"] == {
            "code": "NOT_FOUND",
            "message": "Registered trigger 'ghost' was not found.",
        }


async def test_info_functions_without_id_are_deserialization_errors(iii_engine: Engine) -> None:
    # docs/protocol.md 5: "a missing required field gives deserialization_error".
    async with raw_worker(iii_engine) as w:
        for function_id in ("engine::triggers::info", "engine::registered-triggers::info"):
            frame = await w.call(function_id, {})
            assert frame["error"]["code"] == "deserialization_error", frame
