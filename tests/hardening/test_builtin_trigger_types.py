"""Trigger types provided by a built-in worker cannot be taken over by a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.plugin import Trigger, TriggerType
from iii_sdk.worker import Worker
from tests.raw_client import disconnect, open_raw, raw_worker

BUILTINS = [
    {"name": "iii-http", "config": {"port": 0, "host": "127.0.0.1"}},
    {"name": "iii-state", "config": {"adapter": {"name": "memory"}}},
    {"name": "iii-pubsub"},
]


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=BUILTINS) as running:
        yield running


def http_route(path: str, binding_id: str) -> dict[str, object]:
    return {
        "type": "registertrigger",
        "id": binding_id,
        "trigger_type": "http",
        "function_id": "site::page",
        "config": {"api_path": path, "http_method": "GET"},
    }


@pytest.mark.parametrize(
    ("type_id", "owner"),
    [("http", "iii-http"), ("state", "iii-state"), ("subscribe", "iii-pubsub")],
)
async def test_registertriggertype_of_a_builtin_is_rejected(
    engine: Engine, type_id: str, owner: str
) -> None:
    before = engine.triggers.types[("default", type_id)]
    async with raw_worker(engine) as intruder:
        await intruder.send({"type": "registertriggertype", "id": type_id, "description": "mine"})
        rejected = await intruder.recv("registrationrejected")
        assert rejected == {
            "type": "registrationrejected",
            "code": "FUNCTION_NAMESPACE_CONFLICT",
            "namespace": "default",
            "function_id": type_id,
            "owner_worker_id": owner,
        }
        await intruder.barrier()
        assert not intruder.ws.closed
    assert engine.triggers.types[("default", type_id)] is before


async def test_rejected_http_intruder_sees_no_routes_and_leaves_http_working(
    engine: Engine,
) -> None:
    http = engine.builtin("iii-http")
    async with raw_worker(engine) as site:
        await site.register_function("site::page")
        await site.send(http_route("/before", "r-before"))
        await site.barrier()
        intruder = await open_raw(engine.worker_url)
        await intruder.send({"type": "registertriggertype", "id": "http", "description": "x"})
        await intruder.recv("registrationrejected")
        await site.send(http_route("/during", "r-during"))
        await site.barrier()
        await intruder.barrier()
        assert intruder.take("registertrigger") == []
        await intruder.send({"type": "unregistertriggertype", "id": "http"})
        await disconnect(engine, intruder)
        # Routes registered after the intruder left still activate.
        await site.send(http_route("/after", "r-after"))
        await site.barrier()
        assert site.take("triggerregistrationresult") == []
        for path in ("/before", "/during", "/after"):
            assert http.routes.lookup("GET", path) is not None  # type: ignore[attr-defined]
        assert set(engine.triggers.live) == {"r-before", "r-during", "r-after"}


async def test_worker_trigger_types_can_still_be_replaced_by_workers(engine: Engine) -> None:
    # Upstream's rule for worker-provided types is unchanged: the newest provider serves.
    async with raw_worker(engine) as first, raw_worker(engine) as second:
        await first.send({"type": "registertriggertype", "id": "webhook", "description": "1"})
        await first.barrier()
        await second.send({"type": "registertriggertype", "id": "webhook", "description": "2"})
        await second.barrier()
        assert second.take("registrationrejected") == []
        assert engine.triggers.types[("default", "webhook")].owner is not None


class FakeHttp(TriggerType):
    id = "http"
    description = "not really"

    async def register_trigger(self, trigger: Trigger) -> None:
        raise AssertionError("a refused provider never receives bindings")

    async def unregister_trigger(self, trigger: Trigger) -> None:
        pass


async def test_sdk_handle_carries_the_refusal(engine: Engine) -> None:
    worker = Worker(engine.worker_url)
    handle = worker.register_trigger_type(FakeHttp())
    async with worker:
        # Frames arrive in order: once this call answers, the refusal has been read.
        await worker.trigger("engine::functions::list", {})
        assert handle.error is not None
        assert handle.error.code == "FUNCTION_NAMESPACE_CONFLICT"
        assert handle.error.owner_worker_id == "iii-http"
