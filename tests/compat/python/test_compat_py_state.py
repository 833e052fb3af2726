"""iii-state driven by the official Python SDK: result shapes, update ops, state triggers."""

from __future__ import annotations

from typing import Any

import pytest
from iii import InvocationError as OfficialInvocationError
from iii.state import StateEventData, StateEventType, StateSetResult
from iii_helpers.stream import UpdateAppend, UpdateIncrement, UpdateMerge, UpdateSet

from iii_engine.engine import Engine
from tests.compat.support import (
    Inbox,
    OfficialFactory,
    official_call,
    wait_for_binding,
    wait_for_functions,
)

pytestmark = pytest.mark.compat


async def test_set_get_overwrite_delete_shapes(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-state")
    user = {"name": "ada", "tags": ["x"], "nested": {"none": None}}

    created = await official_call(
        client, "state::set", {"scope": "users", "key": "u1", "value": user}
    )
    assert created == {"old_value": None, "new_value": user}
    assert StateSetResult[Any](**created).new_value == user

    assert await official_call(client, "state::get", {"scope": "users", "key": "u1"}) == user
    assert await official_call(client, "state::get", {"scope": "users", "key": "nope"}) is None

    replaced = await official_call(
        client, "state::set", {"scope": "users", "key": "u1", "value": {"name": "bob"}}
    )
    assert replaced == {"old_value": user, "new_value": {"name": "bob"}}

    deleted = await official_call(client, "state::delete", {"scope": "users", "key": "u1"})
    assert deleted == {"name": "bob"}
    assert await official_call(client, "state::get", {"scope": "users", "key": "u1"}) is None
    # Deleting a missing key does not raise.
    assert await official_call(client, "state::delete", {"scope": "users", "key": "u1"}) is None


async def test_scalar_values_round_trip(builtin_engine: Engine, official: OfficialFactory) -> None:
    client = await official(builtin_engine, "official-scalars")
    for key, value in {"n": 42, "f": 1.5, "s": "text", "b": False, "l": [1, [2]]}.items():
        await official_call(client, "state::set", {"scope": "scalars", "key": key, "value": value})
        assert await official_call(client, "state::get", {"scope": "scalars", "key": key}) == value


async def test_list_and_list_groups(builtin_engine: Engine, official: OfficialFactory) -> None:
    client = await official(builtin_engine, "official-lists")
    for key, value in [("a", {"v": 1}), ("b", {"v": 2}), ("c", {"v": 3})]:
        await official_call(client, "state::set", {"scope": "letters", "key": key, "value": value})
    await official_call(client, "state::set", {"scope": "digits", "key": "1", "value": 1})

    values = await official_call(client, "state::list", {"scope": "letters"})
    assert sorted(v["v"] for v in values) == [1, 2, 3]
    assert await official_call(client, "state::list", {"scope": "no-such-scope"}) == []

    groups = await official_call(client, "state::list_groups", {})
    assert set(groups) == {"groups"}
    assert {"letters", "digits"} <= set(groups["groups"])
    assert groups["groups"] == sorted(groups["groups"])


async def test_update_ops_set_append_merge(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-update")
    scope_key = {"scope": "counters", "key": "c1"}
    await official_call(
        client,
        "state::set",
        {**scope_key, "value": {"count": 1, "items": ["a"], "title": "Hi"}},
    )

    ops = [
        UpdateSet(path="count", value=5),
        UpdateAppend(path="items", value="b"),
        UpdateAppend(path="title", value=" there"),
        UpdateMerge(value={"extra": {"deep": True}}),
        UpdateIncrement(path="count", by=2),
    ]
    result = await official_call(client, "state::update", {**scope_key, "ops": ops})
    expected = {"count": 7, "items": ["a", "b"], "title": "Hi there", "extra": {"deep": True}}
    assert result["old_value"] == {"count": 1, "items": ["a"], "title": "Hi"}
    assert result["new_value"] == expected
    assert not result.get("errors")
    assert await official_call(client, "state::get", scope_key) == expected


async def test_update_creates_missing_key_and_reports_op_errors(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-update-errors")
    scope_key = {"scope": "counters", "key": "fresh"}
    ops = [
        {"type": "set", "path": "name", "value": "new"},
        {"type": "increment", "path": "name", "by": 1},
        {"type": "merge", "path": "session-abc", "value": {"author": "alice"}},
    ]
    result = await official_call(client, "state::update", {**scope_key, "ops": ops})
    assert result["old_value"] is None
    assert result["new_value"] == {"name": "new", "session-abc": {"author": "alice"}}
    [error] = result["errors"]
    assert error["op_index"] == 1
    assert error["code"] == "increment.not_number"
    assert set(error) >= {"op_index", "code", "message"}


async def test_bad_input_is_a_deserialization_error(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-bad-input")
    with pytest.raises(OfficialInvocationError) as caught:
        await official_call(client, "state::get", {"scope": "only-scope"})
    assert caught.value.code == "deserialization_error"


async def test_state_trigger_on_scope_and_key_fires_updated(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-state-watch")
    events = Inbox()
    client.register_function("offpy::on_state", events.put)
    client.register_trigger(
        {
            "type": "state",
            "function_id": "offpy::on_state",
            "config": {"scope": "watched", "key": "k"},
        }
    )
    await wait_for_functions(builtin_engine, "offpy::on_state")
    await wait_for_binding(builtin_engine, "offpy::on_state")

    first, second = {"v": 1}, {"v": 2}
    await official_call(client, "state::set", {"scope": "watched", "key": "other", "value": 0})
    await official_call(client, "state::set", {"scope": "watched", "key": "k", "value": first})
    await official_call(client, "state::set", {"scope": "watched", "key": "k", "value": second})

    # The official SDK runs each sync handler call on its own thread: compare without order.
    received = [StateEventData[Any](**await events.get()) for _ in range(2)]
    by_type = {event.event_type: event for event in received}
    created, updated = by_type[StateEventType.CREATED], by_type[StateEventType.UPDATED]
    assert created.type == updated.type == "state"
    assert (created.scope, created.key) == ("watched", "k")
    assert (created.old_value, created.new_value) == (None, first)
    assert (updated.old_value, updated.new_value) == (first, second)

    await official_call(client, "state::delete", {"scope": "watched", "key": "k"})
    deleted = StateEventData[Any](**await events.get())
    assert deleted.event_type == StateEventType.DELETED
    assert (deleted.old_value, deleted.new_value) == (second, None)
    assert events.empty()


async def test_state_trigger_delivers_binding_metadata(
    builtin_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(builtin_engine, "official-state-meta")
    events = Inbox()

    def on_state(data: Any, metadata: Any = None) -> None:
        events.put((data["key"], metadata))

    client.register_function("offpy::on_state_meta", on_state)
    client.register_trigger(
        {
            "type": "state",
            "function_id": "offpy::on_state_meta",
            "config": {"scope": "meta"},
            "metadata": {"reason": "audit"},
        }
    )
    await wait_for_binding(builtin_engine, "offpy::on_state_meta")
    await official_call(client, "state::set", {"scope": "meta", "key": "any", "value": 1})
    assert await events.get() == ("any", {"reason": "audit"})
