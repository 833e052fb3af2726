"""``state::*`` driven end to end by an SDK worker: exact result shapes and error codes."""

from __future__ import annotations

from typing import Any

import pytest

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.plugins.state.state_helpers import call, call_error


async def test_set_returns_old_and_new_value(client: Worker) -> None:
    data = {"name": "alice", "n": 1, "tags": ["a"], "nested": {"x": None}}
    assert await call(client, "state::set", {"scope": "users", "key": "u1", "value": data}) == {
        "old_value": None,
        "new_value": data,
    }
    assert await call(client, "state::set", {"scope": "users", "key": "u1", "value": 2}) == {
        "old_value": data,
        "new_value": 2,
    }


async def test_set_accepts_data_as_alias_of_value(client: Worker) -> None:
    result = await call(client, "state::set", {"scope": "s", "key": "k", "data": [1, 2]})
    assert result == {"old_value": None, "new_value": [1, 2]}
    assert await call(client, "state::get", {"scope": "s", "key": "k"}) == [1, 2]


async def test_set_null_value_is_stored(client: Worker) -> None:
    assert await call(client, "state::set", {"scope": "s", "key": "k", "value": None}) == {
        "old_value": None,
        "new_value": None,
    }
    assert await call(client, "state::list", {"scope": "s"}) == [None]


async def test_get_returns_the_raw_value_or_null(client: Worker) -> None:
    assert await call(client, "state::get", {"scope": "s", "key": "missing"}) is None
    await call(client, "state::set", {"scope": "s", "key": "k", "value": {"v": 1}})
    assert await call(client, "state::get", {"scope": "s", "key": "k"}) == {"v": 1}
    assert await call(client, "state::get", {"scope": "other", "key": "k"}) is None


async def test_delete_returns_the_raw_deleted_value_or_null(client: Worker) -> None:
    await call(client, "state::set", {"scope": "s", "key": "k", "value": "v"})
    assert await call(client, "state::delete", {"scope": "s", "key": "k"}) == "v"
    assert await call(client, "state::delete", {"scope": "s", "key": "k"}) is None
    assert await call(client, "state::get", {"scope": "s", "key": "k"}) is None


async def test_list_returns_values_in_insertion_order(client: Worker) -> None:
    assert await call(client, "state::list", {"scope": "empty"}) == []
    for key in ["c", "a", "b"]:
        await call(client, "state::set", {"scope": "s", "key": key, "value": {"id": key}})
    await call(client, "state::set", {"scope": "s", "key": "a", "value": {"id": "A"}})
    assert await call(client, "state::list", {"scope": "s"}) == [
        {"id": "c"},
        {"id": "A"},
        {"id": "b"},
    ]


async def test_list_groups_is_sorted_and_deduplicated(client: Worker) -> None:
    assert await call(client, "state::list_groups", {}) == {"groups": []}
    for scope in ["b", "a", "b", "c"]:
        await call(client, "state::set", {"scope": scope, "key": "k", "value": 1})
    await call(client, "state::delete", {"scope": "c", "key": "k"})
    assert await call(client, "state::list_groups", {}) == {"groups": ["a", "b"]}
    assert await call(client, "state::list_groups", None) == {"groups": ["a", "b"]}


async def test_update_set_keeps_other_fields(client: Worker) -> None:
    await call(client, "state::set", {"scope": "s", "key": "k", "value": {"a": 1, "count": 0}})
    ops = [{"type": "set", "path": "count", "value": 5}]
    assert await call(client, "state::update", {"scope": "s", "key": "k", "ops": ops}) == {
        "old_value": {"a": 1, "count": 0},
        "new_value": {"a": 1, "count": 5},
    }
    assert await call(client, "state::get", {"scope": "s", "key": "k"}) == {"a": 1, "count": 5}


async def test_update_creates_a_missing_key(client: Worker) -> None:
    ops = [{"type": "increment", "path": "n", "by": 3}]
    assert await call(client, "state::update", {"scope": "s", "key": "new", "ops": ops}) == {
        "old_value": None,
        "new_value": {"n": 3},
    }
    result = await call(client, "state::update", {"scope": "s", "key": "empty", "ops": []})
    assert result == {"old_value": None, "new_value": {}}


async def test_update_append_pushes_to_arrays_and_concatenates_strings(client: Worker) -> None:
    value = {"items": ["a"], "text": "he"}
    await call(client, "state::set", {"scope": "s", "key": "k", "value": value})
    ops = [
        {"type": "append", "path": "items", "value": "b"},
        {"type": "append", "path": "text", "value": "llo"},
    ]
    result = await call(client, "state::update", {"scope": "s", "key": "k", "ops": ops})
    assert result["new_value"] == {"items": ["a", "b"], "text": "hello"}
    assert "errors" not in result


async def test_update_reports_failed_ops_and_still_writes_the_others(client: Worker) -> None:
    await call(client, "state::set", {"scope": "s", "key": "k", "value": {"name": "x"}})
    ops = [
        {"type": "increment", "path": "name", "by": 1},
        {"type": "set", "path": "ok", "value": True},
        {"type": "set", "path": "__proto__", "value": 1},
    ]
    result = await call(client, "state::update", {"scope": "s", "key": "k", "ops": ops})
    assert result["old_value"] == {"name": "x"}
    assert result["new_value"] == {"name": "x", "ok": True}
    assert [(e["op_index"], e["code"]) for e in result["errors"]] == [
        (0, "increment.not_number"),
        (2, "set.path.proto_polluted"),
    ]
    assert result["errors"][0]["doc_url"] == "https://iii.dev/docs/workers/iii-state#error-codes"
    assert await call(client, "state::get", {"scope": "s", "key": "k"}) == result["new_value"]


@pytest.mark.parametrize(
    ("function_id", "payload"),
    [
        ("state::set", {"scope": "s", "key": "k"}),
        ("state::set", {"scope": 1, "key": "k", "value": 1}),
        ("state::get", {"scope": "s"}),
        ("state::get", None),
        ("state::delete", {"key": "k"}),
        ("state::list", {}),
        ("state::update", {"scope": "s", "key": "k"}),
        ("state::update", {"scope": "s", "key": "k", "ops": [{"type": "bogus"}]}),
        (
            "state::update",
            {"scope": "s", "key": "k", "ops": [{"type": "increment", "path": "n", "by": 1.5}]},
        ),
    ],
)
async def test_bad_input_is_a_deserialization_error(
    client: Worker, function_id: str, payload: Any
) -> None:
    error = await call_error(client, function_id, payload)
    assert error.code == "deserialization_error"
    assert error.message.startswith(f"Failed to deserialize input for {function_id}: ")


async def test_value_too_large_is_rejected_and_nothing_is_stored(
    iii_worker: Any,
) -> None:
    entry = {"name": "iii-state", "config": {"adapter": {"name": "memory"}, "max_value_bytes": 10}}
    async with start_engine(workers=[entry]) as engine:
        client = await iii_worker(engine)
        # Compact JSON of "12345678" is 10 bytes: allowed.
        await call(client, "state::set", {"scope": "s", "key": "ok", "value": "12345678"})
        error = await call_error(client, "state::set", {"scope": "s", "key": "k", "value": "x" * 9})
        assert error.code == "VALUE_TOO_LARGE"
        assert await call(client, "state::get", {"scope": "s", "key": "k"}) is None
        # The limit applies to state::set only.
        ops = [{"type": "set", "path": "", "value": "x" * 50}]
        await call(client, "state::update", {"scope": "s", "key": "u", "ops": ops})
        assert await call(client, "state::get", {"scope": "s", "key": "u"}) == "x" * 50


async def test_functions_are_listed_by_the_engine(client: Worker) -> None:
    listed = await call(client, "engine::functions::list", {})
    ids = {row["function_id"] for row in listed["functions"]}
    assert {
        "state::set",
        "state::get",
        "state::delete",
        "state::update",
        "state::list",
        "state::list_groups",
    } <= ids


async def test_unknown_input_keys_are_ignored(client: Worker) -> None:
    payload = {"scope": "s", "key": "k", "value": 1, "_caller_worker_id": "w", "extra": [1]}
    assert await call(client, "state::set", payload) == {"old_value": None, "new_value": 1}
    assert await call(client, "state::get", {"scope": "s", "key": "k", "x": 1}) == 1


async def test_value_wins_over_data_when_both_are_given(client: Worker) -> None:
    payload = {"scope": "s", "key": "k", "value": "v", "data": "d"}
    assert await call(client, "state::set", payload) == {"old_value": None, "new_value": "v"}


async def test_functions_advertise_their_request_schema(client: Worker) -> None:
    info = await call(client, "engine::functions::info", {"function_id": "state::update"})
    assert info["description"]
    schema = info["request_schema"]
    body = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    assert set(body["required"]) == {"scope", "key", "ops"}
