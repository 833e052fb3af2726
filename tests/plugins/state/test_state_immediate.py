"""``state::get`` / ``state::set`` as immediate handlers answer exactly as the task path does.

The memory store runs both immediately; the file store runs ``state::set`` on the task path
(it answers once committed). The same calls on both engines must get the same answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from iii_sdk.plugin import decode_input, decode_json_input
from plugins.state.functions import KeyInput, SetInput
from tests.raw_client import RawWorker, raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"

PAYLOADS: list[Any] = [
    None,
    [],
    "text",
    {},
    {"scope": "s"},
    {"scope": 1, "key": "k"},
    {"scope": "s", "key": ["k"]},
    {"scope": "s", "key": "k", "value": 1, "_caller_worker_id": "w"},
    {"scope": "s", "key": "k", "value": {"nested": [1, 2.5, None, "é"]}},
    {"scope": "s", "key": "k", "data": True},
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("input_type", [KeyInput, SetInput])
def test_decoding_json_fails_with_the_same_text(payload: Any, input_type: type[Any]) -> None:
    def outcome(decode: Any, value: Any) -> Any:
        try:
            return decode(value, input_type, "state::x")
        except InvocationError as exc:
            return (exc.code, str(exc))

    raw = msgspec.Raw(msgspec.json.encode(payload))
    assert outcome(decode_json_input, raw) == outcome(decode_input, payload)


CALLS: list[tuple[str, Any]] = [
    ("state::get", {"scope": "s", "key": "k"}),
    ("state::set", {"scope": "s", "key": "k", "value": {"a": [1, "é", None]}}),
    ("state::get", {"scope": "s", "key": "k"}),
    ("state::set", {"scope": "s", "key": "k", "data": 2.5}),
    ("state::set", {"scope": "s", "key": "k", "value": None}),
    ("state::get", {"scope": "s", "key": "k"}),
    ("state::set", {"scope": "s", "key": "big", "value": "x" * 64}),
    ("state::set", {"scope": "s", "key": "k"}),
    ("state::set", {"scope": "s"}),
    ("state::get", {"scope": "s"}),
    ("state::get", None),
    ("state::set", []),
    ("state::get", {"scope": "other", "key": "k"}),
]


async def answers(engine: Engine) -> list[dict[str, Any]]:
    found = []
    async with raw_worker(engine) as w:
        for function_id, payload in CALLS:
            frame = await w.call(function_id, payload)
            del frame["invocation_id"]
            found.append(frame)
    return found


async def test_memory_and_file_stores_answer_alike(tmp_path: Path) -> None:
    limit = {"max_value_bytes": 32}
    memory = {"name": "iii-state", "config": {"adapter": {"name": "memory"}, **limit}}
    path = str(tmp_path / "state.sqlite3")
    file = {"name": "iii-state", "config": {"adapter": {"name": "file", "config": {"path": path}}}}
    file["config"].update(limit)
    async with start_engine(workers=[memory]) as engine:
        assert engine.functions.get("default", "state::set").immediate is not None
        on_memory = await answers(engine)
    async with start_engine(workers=[file]) as engine:
        assert engine.functions.get("default", "state::set").immediate is None
        assert engine.functions.get("default", "state::get").immediate is not None
        on_file = await answers(engine)
    assert on_memory == on_file
    assert on_memory[2]["result"] == {"a": [1, "é", None]}
    assert on_memory[4]["result"] == {"old_value": 2.5, "new_value": None}
    assert on_memory[6]["error"]["code"] == "VALUE_TOO_LARGE"


async def spans(w: RawWorker) -> list[dict[str, Any]]:
    tree = await w.call_ok("engine::traces::tree", {"trace_id": TRACE})
    roots: list[dict[str, Any]] = tree["roots"]
    return roots


async def test_immediate_calls_are_traced_like_any_call(state_engine: Engine) -> None:
    parent = f"00-{TRACE}-{PARENT}-01"
    async with raw_worker(state_engine) as w:
        await w.call_ok("state::set", {"scope": "s", "key": "k", "value": 1}, traceparent=parent)
        failed = await w.call("state::get", {"scope": 1}, traceparent=parent)
        assert failed["error"]["code"] == "deserialization_error"
        got, fail = [span for span in await spans(w) if span["name"] != "call engine::traces::tree"]
    assert (got["name"], got["status"], got["parent_span_id"]) == ("call state::set", "ok", PARENT)
    assert (fail["name"], fail["status"]) == ("call state::get", "error")
    assert fail["status_description"].startswith("deserialization_error: Failed to deserialize")
