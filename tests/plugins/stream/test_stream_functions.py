"""The ``stream::*`` functions end to end: shapes, errors, custom streams, ``stream`` triggers."""

from __future__ import annotations

import asyncio
from typing import Any

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.plugins.stream.stream_helpers import WAIT, call, call_error, item


async def test_shapes_of_every_function(client: Worker) -> None:
    assert await call(client, "stream::set", {**item("m1"), "data": {"t": "hi"}}) == {
        "old_value": None,
        "new_value": {"t": "hi"},
    }
    assert await call(client, "stream::set", {**item("m1"), "data": {"t": "yo"}}) == {
        "old_value": {"t": "hi"},
        "new_value": {"t": "yo"},
    }
    assert await call(client, "stream::get", item("m1")) == {"t": "yo"}
    assert await call(client, "stream::get", item("nope")) is None
    await call(client, "stream::set", {**item("m2"), "data": 2})
    await call(client, "stream::set", {**item("x", group="room-0"), "data": 3})
    await call(client, "stream::set", {**item("x", stream="a:b", group="c:d"), "data": 4})
    group = {"stream_name": "chat", "group_id": "room-1"}
    assert await call(client, "stream::list", group) == [{"t": "yo"}, 2]
    assert await call(client, "stream::list", {**group, "group_id": "empty"}) == []
    assert await call(client, "stream::list_groups", {"stream_name": "chat"}) == [
        "room-0",
        "room-1",
    ]
    assert await call(client, "stream::list_groups", {"stream_name": "a:b"}) == ["c:d"]
    assert await call(client, "stream::list_groups", {"stream_name": "a"}) == []
    assert await call(client, "stream::list_all", {}) == {
        "stream": [
            {"id": "a:b", "groups": ["c:d"]},
            {"id": "chat", "groups": ["room-0", "room-1"]},
        ],
        "count": 2,
    }
    assert await call(client, "stream::delete", item("m2")) == {"old_value": 2}
    assert await call(client, "stream::delete", item("m2")) == {"old_value": None}
    assert await call(client, "stream::send", {**group, "type": "typing", "data": 1}) is None


async def test_update_shares_the_state_ops(client: Worker) -> None:
    ops = [
        {"type": "merge", "path": "session-abc", "value": {"author": "alice"}},
        {"type": "merge", "path": ["session-abc"], "value": {"ts": "chunk"}},
        {"type": "increment", "path": "n", "by": 2},
        {"type": "append", "path": "log", "value": "a"},
        {"type": "set", "path": "__proto__", "value": 1},
    ]
    result = await call(client, "stream::update", {**item("u"), "ops": ops})
    assert result["old_value"] is None
    assert result["new_value"] == {
        "session-abc": {"author": "alice", "ts": "chunk"},
        "n": 2,
        "log": "a",
    }
    assert [e["code"] for e in result["errors"]] == ["set.path.proto_polluted"]
    again = await call(client, "stream::update", {**item("u"), "ops": ops[2:4]})
    assert again["new_value"]["n"] == 4 and again["new_value"]["log"] == "aa"
    assert "errors" not in again


async def test_bad_input_and_limits(
    iii_worker: Any,
) -> None:
    small = {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "memory"}}}
    small["config"]["max_item_bytes"] = 100  # type: ignore[index]
    async with start_engine(workers=[small]) as engine:
        client = await iii_worker(engine)
        error = await call_error(client, "stream::set", item("m"))
        assert error.code == "deserialization_error"
        assert "stream::set" in error.message and "data" in error.message
        error = await call_error(client, "stream::get", {"stream_name": "chat"})
        assert error.code == "deserialization_error"
        error = await call_error(client, "stream::set", {**item("m"), "data": "x" * 200})
        assert error.code == "VALUE_TOO_LARGE"
        assert "exceeds the limit of 100 bytes" in error.message
        assert await call(client, "stream::get", item("m")) is None
        await call(client, "stream::set", {**item("m"), "data": "x" * 50})
        grow = [{"type": "append", "path": "", "value": "y" * 80}]
        error = await call_error(client, "stream::update", {**item("m"), "ops": grow})
        assert error.code == "VALUE_TOO_LARGE"
        assert await call(client, "stream::get", item("m")) == "x" * 50
        send = {"stream_name": "chat", "group_id": "g", "type": "t", "data": "x" * 200}
        error = await call_error(client, "stream::send", send)
        assert error.code == "VALUE_TOO_LARGE"
        bad_op = [{"type": "increment", "path": "n", "by": 1.5}]
        error = await call_error(client, "stream::update", {**item("m"), "ops": bad_op})
        assert error.code == "deserialization_error"


async def test_custom_stream_is_routed_and_still_emits(
    stream_engine: Engine, client: Worker, iii_worker: Any
) -> None:
    items: dict[str, Any] = {}

    def custom_set(p: dict[str, Any]) -> dict[str, Any]:
        assert set(p) == {"stream_name", "group_id", "item_id", "data"}
        old = items.get(p["item_id"])
        items[p["item_id"]] = {"wrapped": p["data"]}
        return {"old_value": old, "new_value": items[p["item_id"]]}

    provider = await iii_worker(stream_engine, name="custom")
    provider.register_function("stream::set(todo)", custom_set)
    provider.register_function("stream::get(todo)", lambda p: items.get(p["item_id"]))
    provider.register_function(
        "stream::delete(todo)", lambda p: {"old_value": items.pop(p["item_id"], None)}
    )
    provider.register_function("stream::list(todo)", lambda p: list(items.values()))
    provider.register_function("stream::list_groups(todo)", lambda p: ["only"])
    provider.register_function("stream::set(broken)", lambda p: "not an object")
    await call(provider, "stream::list_all", {})
    events: asyncio.Queue[Any] = asyncio.Queue()
    client.register_function("t::on_todo", events.put)
    client.register_trigger("stream", "t::on_todo", {"stream_name": "todo"})
    await call(client, "stream::list_all", {})

    where = {"stream_name": "todo", "group_id": "g", "item_id": "a"}
    assert await call(client, "stream::set", {**where, "data": 1}) == {
        "old_value": None,
        "new_value": {"wrapped": 1},
    }
    assert await call(client, "stream::get", where) == {"wrapped": 1}
    assert await call(client, "stream::list", {"stream_name": "todo", "group_id": "g"}) == [
        {"wrapped": 1}
    ]
    assert await call(client, "stream::list_groups", {"stream_name": "todo"}) == ["only"]
    assert await call(client, "stream::delete", where) == {"old_value": {"wrapped": 1}}
    created = await asyncio.wait_for(events.get(), WAIT)
    deleted = await asyncio.wait_for(events.get(), WAIT)
    assert created["event"] == {"type": "create", "data": {"wrapped": 1}}
    assert deleted["event"] == {"type": "delete", "data": {"wrapped": 1}}
    error = await call_error(
        client, "stream::set", {"stream_name": "broken", "group_id": "g", "item_id": "a", "data": 1}
    )
    assert error.code == "JSON_ERROR"


async def test_stream_trigger_filters_order_and_wrapper(client: Worker) -> None:
    everything: asyncio.Queue[Any] = asyncio.Queue()
    one_item: asyncio.Queue[Any] = asyncio.Queue()
    client.register_function("t::all", everything.put)
    client.register_function("t::one", one_item.put)
    client.register_trigger("stream", "t::all", {"stream_name": "chat", "group_id": ""})
    client.register_trigger(
        "stream", "t::one", {"stream_name": "chat", "group_id": "room-1", "item_id": "b"}
    )
    await call(client, "stream::list_all", {})
    for i in range(20):
        await call(client, "stream::set", {**item("a"), "data": i})
    await call(client, "stream::set", {**item("b"), "data": "b"})
    await call(client, "stream::set", {**item("b", stream="other"), "data": "no"})
    await call(client, "stream::delete", item("a"))
    await call(client, "stream::delete", item("a"))  # missing: no event
    await call(
        client, "stream::send", {"stream_name": "chat", "group_id": "g", "type": "ping", "data": 7}
    )
    got = [await asyncio.wait_for(everything.get(), WAIT) for _ in range(23)]
    assert [e["event"].get("data") for e in got[:20]] == list(range(20))
    assert [e["event"]["type"] for e in got[:2]] == ["create", "update"]
    assert got[20]["id"] == "b" and got[21]["event"] == {"type": "delete", "data": 19}
    assert got[22] == {
        "type": "stream",
        "timestamp": got[22]["timestamp"],
        "streamName": "chat",
        "groupId": "g",
        "id": None,
        "event": {"type": "event", "event": {"type": "ping", "data": 7}},
    }
    only = await asyncio.wait_for(one_item.get(), WAIT)
    assert (only["id"], only["event"]["data"]) == ("b", "b")
    assert everything.empty() and one_item.empty()


async def test_trigger_without_stream_name_is_rejected(client: Worker) -> None:
    client.register_function("t::x", lambda p: None)
    handle = client.register_trigger("stream", "t::x", {"group_id": "g"})
    error = await handle.rejected()
    assert error.code == "trigger_registration_failed"
    assert "missing required field `stream_name`" in error.message


async def test_stream_trigger_condition(client: Worker) -> None:
    seen: asyncio.Queue[Any] = asyncio.Queue()
    client.register_function("t::only_even", lambda e: e["event"]["data"] % 2 == 0)
    client.register_function("t::even", seen.put)
    client.register_trigger(
        "stream", "t::even", {"stream_name": "n", "condition_function_id": "t::only_even"}
    )
    await call(client, "stream::list_all", {})
    for i in range(4):
        await call(client, "stream::set", {**item("i", stream="n"), "data": i})
    assert [(await asyncio.wait_for(seen.get(), WAIT))["event"]["data"] for _ in range(2)] == [0, 2]
    assert seen.empty()
