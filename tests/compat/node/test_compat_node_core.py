"""The official Node SDK (iii-sdk@0.22.1) against our engine, with our SDK on the other side."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from tests.compat.network import HalfOpenProxy, fixed_port_listener, free_port
from tests.compat.support import (
    WAIT,
    Inbox,
    OfficialFactory,
    eventually,
    official_call,
    wait_for_functions,
    wait_for_functions_gone,
)

pytestmark = pytest.mark.compat


async def test_node_function_calls_back_our_python_function(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="py-doubler")
    ours.register_function("py::double", lambda p: {"value": p["n"] * 2})
    await node(iii_engine, "combine.mjs")

    result = await ours.trigger("node::combine", {"n": 21, "label": "answer"})
    assert result == {"label": "answer", "n": 21, "doubled": 42, "sum": 63}


async def test_official_python_calls_node_which_calls_ours(
    iii_engine: Engine, node: Any, iii_worker: Any, official: OfficialFactory
) -> None:
    ours = await iii_worker(iii_engine, name="py-doubler")
    ours.register_function("py::double", lambda p: {"value": p["n"] * 2})
    await node(iii_engine, "combine.mjs")
    client = await official(iii_engine, "official-py")

    result = await official_call(client, "node::combine", {"n": 5, "label": "chain"})
    assert result == {"label": "chain", "n": 5, "doubled": 10, "sum": 15}


async def test_node_handler_error_reaches_our_caller(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="ours")
    with pytest.raises(InvocationError) as caught:
        await ours.trigger("node::fail", {})
    assert caught.value.code == "invocation_failed"
    assert caught.value.message == "node says no"


async def test_node_sees_function_not_found_and_our_error_codes(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")

    def refuse(payload: Any) -> Any:
        raise InvocationError("NOT_ALLOWED", "python says no")

    ours.register_function("py::refuse", refuse)
    await node(iii_engine, "combine.mjs")

    missing = await ours.trigger("node::probe", {"target": "nobody::here", "payload": {}})
    assert missing["error"]["code"] == "function_not_found"
    refused = await ours.trigger("node::probe", {"target": "py::refuse", "payload": {}})
    # The Node SDK's InvocationError prefixes its message with the code.
    assert refused["error"] == {"code": "NOT_ALLOWED", "message": "NOT_ALLOWED: python says no"}


async def test_node_void_call_reaches_our_function(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")
    received: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ours.register_function("py::sink", received.set_result)
    await node(iii_engine, "combine.mjs")

    probe = {"target": "py::sink", "payload": {"fire": "forget"}, "void": True}
    assert await ours.trigger("node::probe", probe) == {"result": None}
    payload = await asyncio.wait_for(received, WAIT)
    assert payload["fire"] == "forget"


async def test_node_worker_is_listed_with_its_runtime(iii_engine: Engine, node: Any) -> None:
    await node(iii_engine, "combine.mjs")
    workers = await iii_engine.invoke("engine::workers::list", {"runtime": "node"})
    [row] = workers["workers"]
    assert (row["name"], row["runtime"], row["version"]) == ("node-combiner", "node", "0.22.1")
    assert row["status"] == "connected"
    assert row["function_count"] == 8


async def test_node_worker_killed_mid_call_stops_our_invocation(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="ours")
    call = asyncio.create_task(ours.trigger("node::hang", {"job": 9}, timeout_ms=20000))
    assert json.loads(await worker.expect("INVOKED"))["job"] == 9
    await worker.kill()

    with pytest.raises(InvocationError) as caught:
        await asyncio.wait_for(call, WAIT)
    assert caught.value.code == "invocation_stopped"
    await wait_for_functions_gone(iii_engine, "node::combine", "node::hang")


async def test_node_trigger_provider_receives_and_fires_our_binding(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="ours")
    calls = Inbox()

    def on_tick(payload: Any, metadata: Any) -> None:
        calls.put((payload, metadata))

    ours.register_function("py::on_tick", on_tick)
    handle = ours.register_trigger(
        "node-ticker", "py::on_tick", {"every": "second"}, metadata={"owner": "py"}
    )
    binding = json.loads(await worker.expect("BINDING"))
    assert binding["id"] == handle.id
    assert binding["function_id"] == "py::on_tick"
    assert binding["config"] == {"every": "second"}
    assert binding["metadata"] == {"owner": "py"}

    await wait_for_functions(iii_engine, "py::on_tick")
    assert await ours.trigger("node::tick", {"tick": 1}) == {"fired": 1}
    payload, metadata = await calls.get()
    assert payload["tick"] == 1
    assert payload["config"] == {"every": "second"}
    assert metadata == {"owner": "py"}

    handle.unregister()
    assert json.loads(await worker.expect("UNBINDING"))["id"] == handle.id
    assert await ours.trigger("node::tick", {"tick": 2}) == {"fired": 0}


async def test_node_trigger_provider_rejection_reaches_our_registrant(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("py::never", lambda p: None)
    handle = ours.register_trigger("node-ticker", "py::never", {"reject": "bad config"})
    error = await asyncio.wait_for(handle.rejected(), WAIT)
    assert error.code == "trigger_registration_failed"
    assert error.message == "rejected: bad config"


async def test_node_telemetry_socket_is_accepted(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    """The Node SDK's OpenTelemetry exporter connects to ``<url>/otel`` by default."""
    worker = await node(iii_engine, "combine.mjs")
    assert any("/otel" in line and "Connected" in line for line in worker.lines)


async def test_node_worker_reconnects_and_replays_after_the_engine_drops_it(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="py-doubler")
    ours.register_function("py::double", lambda p: {"value": p["n"] * 2})
    handle = ours.register_trigger("node-ticker", "py::double", {"every": "minute"})
    assert json.loads(await worker.expect("BINDING"))["id"] == handle.id

    [row] = (await iii_engine.invoke("engine::workers::list", {"runtime": "node"}))["workers"]
    old_id = row["id"]
    # An abnormal close from the engine side, as when a network path breaks.
    await iii_engine.workers.connections[old_id].ws.close(code=aiohttp.WSCloseCode.INTERNAL_ERROR)

    # The SDK reconnects (1 s backoff), replays its trigger type: the binding comes back.
    rebound = json.loads(await worker.expect("BINDING"))
    assert (rebound["id"], rebound["config"]) == (handle.id, {"every": "minute"})

    async def one_new_row() -> bool:
        rows = (await iii_engine.invoke("engine::workers::list", {"runtime": "node"}))["workers"]
        return [r["name"] for r in rows] == ["node-combiner"] and rows[0]["id"] != old_id

    await eventually(one_new_row, "the Node worker to be listed once under a new id")
    result = await ours.trigger("node::combine", {"n": 1, "label": "again"})
    assert result == {"label": "again", "n": 1, "doubled": 2, "sum": 3}


async def test_node_channel_streams_to_our_reader(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    ours = await iii_worker(iii_engine, name="ours")

    async def consume(payload: Any) -> Any:
        frames = [frame async for frame in payload["reader"]]
        data = b"".join(f for f in frames if isinstance(f, bytes))
        texts = [json.loads(f) for f in frames if isinstance(f, str)]
        return {
            "size": len(data),
            "ok": data == bytes(i % 256 for i in range(len(data))),
            "texts": texts,
        }

    ours.register_function("py::consume", consume)
    await node(iii_engine, "combine.mjs")
    result = await ours.trigger("node::pipe", {"size": 300_000})
    assert result == {"size": 300_000, "ok": True, "texts": [{"type": "meta", "size": 300_000}]}


async def test_node_call_without_payload_reaches_our_function(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    """``payload: undefined`` makes the Node SDK omit ``data``; it must read as null."""
    ours = await iii_worker(iii_engine, name="ours")
    seen = Inbox()

    def record(payload: Any) -> Any:
        seen.put(payload)
        return "ok"

    ours.register_function("py::no_payload", record)
    await node(iii_engine, "combine.mjs")
    assert await ours.trigger("node::probe", {"target": "py::no_payload"}) == {"result": "ok"}
    assert await seen.get() is None


async def test_node_reattaches_over_a_half_open_link(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    async with HalfOpenProxy(iii_engine) as proxy:
        ours = await iii_worker(iii_engine, name="py-doubler")
        ours.register_function("py::double", lambda p: {"value": p["n"] * 2})
        await node(iii_engine, "combine.mjs", env={"III_URL": proxy.url})
        [row] = (await iii_engine.invoke("engine::workers::list", {"runtime": "node"}))["workers"]
        old_id = row["id"]

        proxy.cut_clients()

        async def reattached() -> bool:
            rows = (await iii_engine.invoke("engine::workers::list", {"runtime": "node"}))[
                "workers"
            ]
            return len(rows) == 1 and rows[0]["id"] != old_id

        await eventually(reattached, "the Node worker to reattach under a new id")

        async def answers() -> Any:
            try:
                return await ours.trigger(
                    "node::combine", {"n": 2, "label": "back"}, timeout_ms=2000
                )
            except Exception:
                return None

        result = await eventually(answers, "node::combine to be served again")
        assert result == {"label": "back", "n": 2, "doubled": 4, "sum": 6}


async def test_node_replays_to_a_restarted_engine(node: Any) -> None:
    port = free_port()
    async with start_engine(fixed_port_listener(port)) as first:
        await node(first, "combine.mjs")
    async with start_engine(fixed_port_listener(port)) as second:
        await wait_for_functions(second, "node::combine", "node::tick")

        async def listed() -> bool:
            rows = (await second.invoke("engine::workers::list", {"runtime": "node"}))["workers"]
            return [r["name"] for r in rows] == ["node-combiner"]

        await eventually(listed, "the Node worker to be listed by the new engine")


async def test_invocation_metadata_reaches_a_node_handler(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="ours")
    result = await ours.trigger("node::meta", {"x": 1}, metadata={"tenant": "acme"})
    assert result["metadata"] == {"tenant": "acme"}
    assert result["data"] == {"x": 1, "_caller_worker_id": ours.worker_id}
    assert (await ours.trigger("node::meta", {"x": 2}))["metadata"] is None


async def test_node_shutdown_removes_its_registrations(
    iii_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(iii_engine, "combine.mjs")
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("py::on_tick", lambda p: None)
    ours.register_trigger("node-ticker", "py::on_tick", {})
    await worker.expect("BINDING")

    assert await ours.trigger("node::quit", {}) == "bye"
    await worker.expect("SHUTDOWN")
    await wait_for_functions_gone(iii_engine, "node::combine", "node::quit")

    async def cleaned() -> bool:
        workers = await iii_engine.invoke("engine::workers::list", {"runtime": "node"})
        types = await iii_engine.invoke("engine::triggers::list", {})
        return not workers["workers"] and all(t["id"] != "node-ticker" for t in types["triggers"])

    await eventually(cleaned, "the Node worker and its trigger type to be removed")
