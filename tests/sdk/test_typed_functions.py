"""Typed handler input: decoded into a Struct / dataclass / TypedDict, schema derived, bad
input answered with ``invalid_payload`` naming the field; and ``iii trigger`` checking it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

import msgspec
import pytest

from iii_engine.engine import Engine
from iii_sdk import InvocationError, Worker
from iii_sdk.typed import input_type
from tests.cli.clirun import iii

Connect = Callable[..., Awaitable[Worker]]


class AddInput(msgspec.Struct):
    a: int
    b: int


@dataclasses.dataclass
class Line:
    sku: str
    qty: int = 1


@dataclasses.dataclass
class Order:
    lines: list[Line]
    note: str | None = None


class Greeting(TypedDict):
    name: str


def add(payload: AddInput) -> dict[str, int]:
    assert isinstance(payload, AddInput)
    return {"c": payload.a + payload.b}


async def total(payload: Order, metadata: Any = None) -> dict[str, Any]:
    assert isinstance(payload.lines[0], Line)
    return {"qty": sum(line.qty for line in payload.lines), "metadata": metadata}


def greet(payload: Greeting) -> str:
    return f"hello {payload['name']}"


@pytest.fixture
async def typed(iii_engine: Engine, iii_worker: Connect) -> Worker:
    worker = await iii_worker(iii_engine, name="typed")
    worker.register_function("typed::add", add)
    worker.register_function("typed::total", total)
    worker.register_function("typed::greet", greet)
    worker.register_function("typed::explicit", add, request_format={"type": "object"})
    await worker.trigger("engine::functions::list", {})  # registrations are in effect
    return worker


async def test_good_input_reaches_the_handler_typed(typed: Worker) -> None:
    assert await typed.trigger("typed::add", {"a": 2, "b": 3}) == {"c": 5}
    order = {"lines": [{"sku": "x", "qty": 2}, {"sku": "y"}]}
    assert await typed.trigger("typed::total", order) == {"qty": 3, "metadata": None}
    assert await typed.trigger("typed::greet", {"name": "ada"}) == "hello ada"


@pytest.mark.parametrize(
    ("function_id", "payload", "message"),
    [
        ("typed::add", {"a": 1}, "b: required"),
        ("typed::add", {"a": "1", "b": 2}, "a: expected int, got str"),
        ("typed::add", [1, 2], "payload: expected object, got array"),
        ("typed::total", {"lines": [{"sku": "x"}, {"qty": 2}]}, "lines[1].sku: required"),
        (
            "typed::total",
            {"lines": [{"sku": "x", "qty": "2"}]},
            "lines[0].qty: expected int, got str",
        ),
        ("typed::greet", {}, "name: required"),
    ],
)
async def test_bad_input_is_invalid_payload_naming_the_field(
    typed: Worker, function_id: str, payload: Any, message: str
) -> None:
    with pytest.raises(InvocationError) as info:
        await typed.trigger(function_id, payload)
    assert (info.value.code, info.value.message) == ("invalid_payload", message)


async def test_the_request_schema_is_derived_unless_given(typed: Worker) -> None:
    info = await typed.trigger("engine::functions::info", {"function_id": "typed::add"})
    schema = info["request_schema"]
    assert schema["$defs"]["AddInput"]["required"] == ["a", "b"]
    assert schema["$defs"]["AddInput"]["properties"]["a"] == {"type": "integer"}
    info = await typed.trigger("engine::functions::info", {"function_id": "typed::explicit"})
    assert info["request_schema"] == {"type": "object"}


def test_only_declared_struct_dataclass_typeddict_count() -> None:
    assert input_type(add) is AddInput
    assert input_type(total) is Order
    assert input_type(greet) is Greeting
    assert input_type(lambda payload: payload) is None
    assert input_type(lambda: None) is None

    def plain(payload: dict[str, Any]) -> None: ...

    def anything(payload: Any, metadata: AddInput) -> None: ...

    assert input_type(plain) is None
    assert input_type(anything) is None


async def test_iii_trigger_checks_the_derived_schema(iii_engine: Engine, typed: Worker) -> None:
    flags = ["--address", "127.0.0.1", "--port", iii_engine.worker_url.rsplit(":", 1)[1]]
    run = await iii("trigger", "typed::add", "a=1", *flags)
    assert run.code == 1
    assert run.err.startswith("Error: invalid_payload: b: required (checked against")
    run = await iii("trigger", "typed::add", "a=1", "--no-validate", *flags)
    assert (run.code, run.err) == (1, "Error: invalid_payload: b: required\n")
    run = await iii("trigger", "typed::add", "a=1", "b=2", *flags)
    assert (run.code, run.out) == (0, '{\n  "c": 3\n}\n')


async def test_in_process_functions_are_typed_too(iii_engine: Engine) -> None:
    iii_engine.core_context.register_function("local::add", add)
    assert await iii_engine.invoke("local::add", {"a": 1, "b": 2}) == {"c": 3}
    with pytest.raises(InvocationError) as info:
        await iii_engine.invoke("local::add", {"b": 2})
    assert (info.value.code, info.value.message) == ("invalid_payload", "a: required")
    entry = iii_engine.functions.get("default", "local::add")
    assert entry is not None and b'"AddInput"' in bytes(entry.request_format)  # type: ignore[arg-type]
