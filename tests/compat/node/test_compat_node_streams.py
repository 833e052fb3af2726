"""The official Node SDK against iii-stream: function shapes, createStream, triggers, bridge."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine

pytestmark = pytest.mark.compat

STREAM = {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "memory"}}}


@pytest.fixture
async def stream_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[STREAM]) as running:
        yield running


async def test_stream_calls_from_node(stream_engine: Engine, node: Any, iii_worker: Any) -> None:
    await node(stream_engine, "streams.mjs")
    ours = await iii_worker(stream_engine, name="ours")
    out = await ours.trigger("node::stream_ops", {"stream_name": "node-ops"})

    first = {"n": 1, "tags": ["x"], "text": "hi"}
    second = {"n": 2, "tags": ["x"], "text": "hi"}
    assert out["set_new"] == {"old_value": None, "new_value": first}
    assert out["set_again"] == {"old_value": first, "new_value": second}
    assert out["get"] == second
    assert out["get_missing"] is None
    updated = {
        "n": 7,
        "tags": ["x", "y"],
        "text": "hi!",
        "session-abc": {"author": "alice"},
        "nested": {"deeper": {"ts": "chunk"}},
    }
    assert out["update"]["old_value"] == second
    assert out["update"]["new_value"] == updated
    assert not out["update"].get("errors")
    assert out["list"] == [updated]
    assert out["list_groups"] == ["g1", "g2"]
    assert out["delete"] == {"old_value": updated}
    assert out["delete_missing"] == {"old_value": None}


async def test_node_custom_stream_is_routed_to_it(
    stream_engine: Engine, node: Any, iii_worker: Any
) -> None:
    await node(stream_engine, "streams.mjs")
    ours = await iii_worker(stream_engine, name="ours")
    where = {"stream_name": "node-custom", "group_id": "g", "item_id": "i"}
    assert await ours.trigger("stream::set", {**where, "data": 3}) == {
        "old_value": None,
        "new_value": {"node": 3},
    }
    assert await ours.trigger("stream::get", where) == {"node": 3}
    group = {"stream_name": "node-custom", "group_id": "g"}
    assert await ours.trigger("stream::list", group) == [{"node": 3}]
    assert await ours.trigger("stream::list_groups", {"stream_name": "node-custom"}) == ["g"]
    assert await ours.trigger("stream::delete", where) == {"old_value": {"node": 3}}
    # No update override in the SDK: the engine's own store applies the ops.
    ops = [{"type": "set", "path": "", "value": 9}]
    assert (await ours.trigger("stream::update", {**where, "ops": ops}))["new_value"] == 9


async def test_stream_trigger_reaches_node(
    stream_engine: Engine, node: Any, iii_worker: Any
) -> None:
    proc = await node(stream_engine, "streams.mjs")
    ours = await iii_worker(stream_engine, name="ours")
    where = {"stream_name": "node-watch", "group_id": "g", "item_id": "i"}
    await ours.trigger("stream::set", {**where, "data": {"v": 1}})
    event = json.loads(await proc.expect("STREAM "))
    assert (event["type"], event["streamName"], event["groupId"], event["id"]) == (
        "stream",
        "node-watch",
        "g",
        "i",
    )
    assert event["event"] == {"type": "create", "data": {"v": 1}}


async def test_node_on_a_bridged_engine_writes_to_the_backend(node: Any, iii_worker: Any) -> None:
    backend_workers = [
        {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "kv"}}},
        {"name": "iii-state", "config": {"adapter": {"name": "kv"}}},
        {"name": "iii-pubsub"},
    ]
    async with start_engine(workers=backend_workers) as backend:
        bridge = {"name": "bridge", "config": {"bridge_url": backend.worker_url}}
        front_workers = [
            {"name": "iii-stream", "config": {"port": 0, "adapter": bridge}},
            {"name": "iii-state", "config": {"adapter": bridge}},
        ]
        async with start_engine(workers=front_workers) as front:
            await node(front, "streams.mjs")
            ours = await iii_worker(front, name="ours")
            out = await ours.trigger("node::stream_ops", {"stream_name": "bridged"})
            assert out["list_groups"] == ["g1", "g2"]
            at_back = await iii_worker(backend, name="back")
            group = {"stream_name": "bridged", "group_id": "g2"}
            assert await at_back.trigger("stream::list", group) == ["other group"]
