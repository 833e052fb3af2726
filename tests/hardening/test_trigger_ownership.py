"""Triggers belong to the connection that registered them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.raw_client import disconnect, open_raw, raw_worker

HTTP = [{"name": "iii-http", "config": {"port": 0, "host": "127.0.0.1"}}]


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=HTTP) as running:
        yield running


def route(function_id: str, binding_id: str = "route-1") -> dict[str, Any]:
    return {
        "type": "registertrigger",
        "id": binding_id,
        "trigger_type": "http",
        "function_id": function_id,
        "config": {"api_path": "/hello", "http_method": "GET"},
    }


async def serve_get(engine: Engine) -> tuple[int, Any]:
    """GET /hello through iii-http."""
    port = engine.builtin("iii-http").port  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as session:
        request = session.get(f"http://127.0.0.1:{port}/hello")
        async with request as response:
            return response.status, await response.json()


async def test_intruder_cannot_replace_or_remove_a_route(engine: Engine) -> None:
    async with raw_worker(engine) as owner, raw_worker(engine) as intruder:
        await owner.register_function("site::hello")
        await owner.send(route("site::hello"))
        await owner.barrier()
        assert owner.take("triggerregistrationresult") == []
        await intruder.register_function("evil::hello")

        await intruder.send(route("evil::hello"))
        refused = await intruder.recv("triggerregistrationresult")
        assert refused["id"] == "route-1"
        assert refused["error"]["code"] == "trigger_registration_failed"
        assert "belongs to another worker" in refused["error"]["message"]

        await intruder.send({"type": "unregistertrigger", "id": "route-1"})
        refused = await intruder.recv("triggerregistrationresult")
        assert refused["error"]["code"] == "trigger_registration_failed"
        assert refused["trigger_type"] == "http"

        # engine::unregister_trigger from another worker is refused too.
        answer = await intruder.call("engine::unregister_trigger", {"id": "route-1"})
        assert answer["error"]["code"] == "unregister_failed"

        # Discovery still shows the id: it is not a secret, it grants nothing.
        listed = await intruder.call_ok("engine::registered-triggers::list", {})
        assert [t["id"] for t in listed["registered_triggers"]] == ["route-1"]

        binding = engine.triggers.live["route-1"]
        assert binding.function_id == "site::hello"
        assert binding.owner is engine.workers.connections[owner.worker_id]

        # The route still answers from its owner.
        get = asyncio.ensure_future(serve_get(engine))
        invocation = await owner.invocation("site::hello")
        await owner.reply(invocation, {"status_code": 200, "body": {"from": "owner"}})
        assert await get == (200, {"from": "owner"})
        await intruder.barrier()
        assert intruder.take("invokefunction") == []


async def test_owner_replaces_and_unregisters_its_own_trigger(engine: Engine) -> None:
    async with raw_worker(engine) as owner:
        await owner.register_function("site::hello")
        await owner.register_function("site::hello2")
        await owner.send(route("site::hello"))
        await owner.send(route("site::hello2"))
        await owner.barrier()
        assert owner.take("triggerregistrationresult") == []
        assert engine.triggers.live["route-1"].function_id == "site::hello2"
        await owner.send({"type": "unregistertrigger", "id": "route-1"})
        await owner.barrier()
        assert owner.take("triggerregistrationresult") == []
        assert "route-1" not in engine.triggers.live


async def test_id_is_free_again_once_the_owner_left(engine: Engine) -> None:
    async with raw_worker(engine) as second:
        first = await open_raw(engine.worker_url)
        await first.register_function("a::hello")
        await first.send(route("a::hello"))
        await first.barrier()
        await disconnect(engine, first)
        await second.register_function("b::hello")
        await second.send(route("b::hello"))
        await second.barrier()
        assert second.take("triggerregistrationresult") == []
        assert engine.triggers.live["route-1"].function_id == "b::hello"


async def test_engine_owned_binding_is_refused_to_workers(engine: Engine) -> None:
    async with raw_worker(engine) as worker:
        await worker.register_function("site::hello")
        made = await worker.call_ok(
            "engine::register_trigger",
            {
                "trigger_type": "http",
                "function_id": "site::hello",
                "config": {"api_path": "/durable", "http_method": "GET"},
            },
        )
        await worker.send(route("site::hello", made["id"]))
        refused = await worker.recv("triggerregistrationresult")
        assert "belongs to the engine" in refused["error"]["message"]
        # Ownerless bindings stay removable through engine::unregister_trigger.
        assert await worker.call_ok("engine::unregister_trigger", {"id": made["id"]}) == {
            "removed": True
        }
