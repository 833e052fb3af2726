"""iii-stream driven by the official Python SDK."""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from iii.helpers import create_stream
from iii.stream import IStream
from iii_helpers.stream import (
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.compat.support import (
    WAIT,
    Inbox,
    OfficialFactory,
    official_call,
    wait_for_binding,
    wait_for_functions,
)

pytestmark = [pytest.mark.compat]

STREAM = {
    "name": "iii-stream",
    "config": {"host": "127.0.0.1", "port": 0, "adapter": {"name": "memory"}},
}


@pytest.fixture
async def stream_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[STREAM]) as running:
        yield running


def item(item_id: str, group: str = "room-1", stream: str = "chat") -> dict[str, str]:
    return {"stream_name": stream, "group_id": group, "item_id": item_id}


async def test_stream_function_shapes(stream_engine: Engine, official: OfficialFactory) -> None:
    client = await official(stream_engine, "official-streams")
    message = {"text": "hi", "from": "ada"}

    created = await official_call(client, "stream::set", {**item("m1"), "data": message})
    assert created == {"old_value": None, "new_value": message}
    assert StreamSetResult[Any](**created).new_value == message
    assert await official_call(client, "stream::get", item("m1")) == message
    assert await official_call(client, "stream::get", item("missing")) is None

    await official_call(client, "stream::set", {**item("m2"), "data": {"text": "yo"}})
    listed = await official_call(
        client, "stream::list", {"stream_name": "chat", "group_id": "room-1"}
    )
    assert sorted(m["text"] for m in listed) == ["hi", "yo"]
    await official_call(client, "stream::set", {**item("x", group="room-2"), "data": 1})
    groups = await official_call(client, "stream::list_groups", {"stream_name": "chat"})
    assert sorted(groups) == ["room-1", "room-2"]

    updated = await official_call(
        client,
        "stream::update",
        {**item("m1"), "ops": [{"type": "append", "path": "text", "value": "!"}]},
    )
    assert updated["new_value"] == {"text": "hi!", "from": "ada"}
    assert not updated.get("errors")

    deleted = await official_call(client, "stream::delete", item("m2"))
    assert deleted == {"old_value": {"text": "yo"}}
    assert await official_call(client, "stream::delete", item("m2")) == {"old_value": None}


async def test_stream_trigger_delivers_the_event_wrapper(
    stream_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(stream_engine, "official-stream-watch")
    events = Inbox()
    client.register_function("offpy::on_chat", events.put)
    client.register_trigger(
        {
            "type": "stream",
            "function_id": "offpy::on_chat",
            "config": {"stream_name": "chat", "group_id": "room-1"},
        }
    )
    await wait_for_binding(stream_engine, "offpy::on_chat")

    await official_call(client, "stream::set", {**item("m1", group="room-2"), "data": "elsewhere"})
    await official_call(client, "stream::set", {**item("m1"), "data": {"v": 1}})
    await official_call(client, "stream::set", {**item("m1"), "data": {"v": 2}})
    await official_call(client, "stream::delete", item("m1"))

    kinds = []
    for _ in range(3):
        event = await events.get()
        assert (event["type"], event["streamName"], event["groupId"]) == (
            "stream",
            "chat",
            "room-1",
        )
        assert event["id"] == "m1"
        assert isinstance(event["timestamp"], int)
        kinds.append((event["event"]["type"], event["event"]["data"]))
    # Each emission fans out in its own background task: no order across emissions.
    expected = [("create", {"v": 1}), ("update", {"v": 2}), ("delete", {"v": 2})]
    assert sorted(kinds, key=str) == sorted(expected, key=str)
    assert events.empty()


class MemoryStream(IStream[Any]):  # type: ignore[misc]
    """A custom stream implemented in the official SDK (``create_stream``)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}

    async def get(self, input: StreamGetInput) -> Any:
        return self.items.get((input.group_id, input.item_id))

    async def set(self, input: StreamSetInput) -> StreamSetResult[Any]:
        old = self.items.get((input.group_id, input.item_id))
        self.items[(input.group_id, input.item_id)] = {"custom": input.data}
        return StreamSetResult[Any](old_value=old, new_value={"custom": input.data})

    async def delete(self, input: StreamDeleteInput) -> StreamDeleteResult:
        return StreamDeleteResult(old_value=self.items.pop((input.group_id, input.item_id), None))

    async def list(self, input: StreamListInput) -> list[Any]:
        return [v for (g, _), v in self.items.items() if g == input.group_id]

    async def list_groups(self, input: StreamListGroupsInput) -> builtins.list[str]:
        return sorted({g for g, _ in self.items})

    async def update(self, input: StreamUpdateInput) -> StreamUpdateResult[Any] | None:
        return None


async def test_custom_stream_from_the_official_sdk_is_routed_to_it(
    stream_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(stream_engine, "official-custom-stream")
    custom = MemoryStream()
    create_stream(client, "custom", custom)
    await wait_for_functions(stream_engine, "stream::get(custom)", "stream::set(custom)")
    ours = await iii_worker(stream_engine, name="ours")

    where = {"stream_name": "custom", "group_id": "g", "item_id": "i"}
    created = await ours.trigger("stream::set", {**where, "data": 5})
    assert created == {"old_value": None, "new_value": {"custom": 5}}
    assert custom.items == {("g", "i"): {"custom": 5}}
    assert await ours.trigger("stream::get", where) == {"custom": 5}
    assert await ours.trigger("stream::list", {"stream_name": "custom", "group_id": "g"}) == [
        {"custom": 5}
    ]
    assert await ours.trigger("stream::list_groups", {"stream_name": "custom"}) == ["g"]
    assert await ours.trigger("stream::delete", where) == {"old_value": {"custom": 5}}


async def test_websocket_subscriber_sees_official_writes(
    stream_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(stream_engine, "official-stream-writer")
    await official_call(client, "stream::set", {**item("m0"), "data": {"n": 0}})
    port = stream_engine.builtin("iii-stream").port  # type: ignore[attr-defined]

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{port}/") as ws,
    ):
        join = {"subscriptionId": "s1", "streamName": "chat", "groupId": "room-1"}
        await ws.send_str(json.dumps({"type": "join", "data": join}))
        sync = json.loads(await ws.receive_str(timeout=WAIT))
        assert sync["event"] == {"type": "sync", "data": [{"n": 0}]}
        assert sync["id"] is None

        await official_call(client, "stream::set", {**item("m1"), "data": {"n": 1}})
        update = json.loads(await ws.receive_str(timeout=WAIT))
        assert (update["streamName"], update["groupId"], update["id"]) == ("chat", "room-1", "m1")
        assert update["event"] == {"type": "create", "data": {"n": 1}}


async def test_official_client_on_a_bridged_engine(official: OfficialFactory) -> None:
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
            client = await official(front, "official-bridged")
            created = await official_call(client, "stream::set", {**item("b1"), "data": 1})
            assert created == {"old_value": None, "new_value": 1}
            assert await backend.invoke("stream::get", item("b1")) == 1
            stored = await official_call(
                client, "state::set", {"scope": "s", "key": "k", "value": {"n": 1}}
            )
            assert stored == {"old_value": None, "new_value": {"n": 1}}
            assert await backend.invoke("state::get", {"scope": "s", "key": "k"}) == {"n": 1}
            ops = [{"type": "set", "path": "n", "value": 2}]
            updated = await official_call(
                client, "state::update", {"scope": "s", "key": "k", "ops": ops}
            )
            assert updated["new_value"] == {"n": 2}
