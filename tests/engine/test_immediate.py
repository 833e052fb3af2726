"""Immediate in-process handlers (``iii_sdk.plugin.immediate``): run on the spot for workers'
calls, with the same answers, errors and void semantics as the task path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from iii_engine.config.plugin_manager import PluginManager
from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_sdk.errors import ErrorBody, InvocationError
from iii_sdk.hookspecs import hookimpl
from iii_sdk.plugin import (
    BuiltinWorker,
    WorkerContext,
    WorkerRegistry,
    WorkerSpec,
    immediate,
)
from iii_sdk.protocol import InvocationResult, encode
from tests.raw_client import raw_worker

ONE = "00000000-0000-4000-8000-000000000001"


class Twins(BuiltinWorker):
    """Each function twice: ``imm::*`` immediate, ``task::*`` the same body as a coroutine."""

    def __init__(self, config: Any) -> None:
        self.seen: list[bytes] = []

    async def start(self, ctx: WorkerContext) -> None:
        ctx.register_function("imm::echo", self.echo)
        ctx.register_function("imm::fail", self.fail)
        ctx.register_function("imm::unencodable", self.unencodable)
        ctx.register_function("imm::decoded", self.decoded)
        ctx.register_function('imm::"quoted"\u00e9', self.echo)

        async def task_fail(payload: Any) -> Any:
            return self.fail(msgspec.Raw(msgspec.json.encode(payload)))

        async def task_unencodable(payload: Any) -> Any:
            return object()

        ctx.register_function("task::fail", task_fail)
        ctx.register_function("task::unencodable", task_unencodable)

    @immediate
    def echo(self, payload: msgspec.Raw) -> msgspec.Raw:
        self.seen.append(bytes(payload))
        return payload

    @immediate
    def fail(self, payload: msgspec.Raw) -> Any:
        raise InvocationError("MY_CODE", "it failed")

    @immediate
    def unencodable(self, payload: msgspec.Raw) -> Any:
        return object()

    @immediate
    def decoded(self, payload: msgspec.Raw) -> dict[str, Any]:
        return {"got": msgspec.json.decode(payload)}

    async def stop(self) -> None:
        pass


class TwinsPlugin:
    @hookimpl
    def iii_register_workers(self, registry: WorkerRegistry) -> None:
        registry.add(WorkerSpec(name="test-twins", factory=Twins))


@pytest.fixture
async def engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    monkeypatch.setenv("III_DISABLE_PLUGINS", "1")
    plugins = PluginManager()
    plugins.register_module("test-twins", TwinsPlugin())
    config = parse_config(
        "workers:\n"
        "  - name: iii-worker-manager\n"
        "    config: {host: 127.0.0.1, port: 0, max_pending_invocations: 4}\n"
        "  - name: test-twins\n"
    )
    async with Engine(config, plugins=plugins) as engine:
        yield engine


def twins(engine: Engine) -> Twins:
    worker = engine.builtin("test-twins")
    assert isinstance(worker, Twins)
    return worker


async def test_the_payload_arrives_as_sent_and_a_raw_result_goes_back_as_it_is(
    engine: Engine,
) -> None:
    async with raw_worker(engine) as w:
        assert await w.call_ok("imm::echo", {"a": [1, 2.5, "x"]}) == {"a": [1, 2.5, "x"]}
        await w.send_text(
            f'{{"type":"invokefunction","invocation_id":"{ONE}","function_id":"imm::echo",'
            '"data":{ "spaced" : true }}'
        )
        frame = await w.result(ONE)
        assert frame["result"] == {"spaced": True}
        assert await w.call_ok("imm::echo") is None  # no data: JSON null, result omitted
    # No _caller_worker_id: an immediate handler does not learn its caller.
    assert twins(engine).seen == [b'{"a": [1, 2.5, "x"]}', b'{ "spaced" : true }', b"null"]


async def test_the_answer_is_byte_for_byte_what_encoding_the_result_gives(
    engine: Engine,
) -> None:
    async with raw_worker(engine) as w:
        for function_id, data in (
            ("imm::echo", "[1, 2]"),
            ('imm::"quoted"\u00e9', '{"a": "\\u00e9"}'),
            ("imm::echo", "null"),
            ("imm::fail", "{}"),
        ):
            frame = {"type": "invokefunction", "invocation_id": ONE, "function_id": function_id}
            await w.send_text(json.dumps(frame)[:-1] + f', "data": {data}}}')
            text = await w.ws.receive_str(timeout=5)
            decoded = json.loads(text)
            expected = encode(
                InvocationResult(
                    invocation_id=ONE,
                    function_id=function_id,
                    result=msgspec.Raw(data.encode()) if "result" in decoded else msgspec.UNSET,
                    error=None if "error" not in decoded else ErrorBody(**decoded["error"]),
                )
            )
            assert text.encode() == expected


async def test_errors_are_the_task_paths_errors(engine: Engine) -> None:
    async with raw_worker(engine) as w:
        for name in ("fail", "unencodable"):
            immediate_frame = await w.call(f"imm::{name}", {})
            task_frame = await w.call(f"task::{name}", {})
            mine, theirs = immediate_frame["error"], task_frame["error"]
            assert mine.keys() == theirs.keys()
            assert (mine["code"], mine["message"]) == (theirs["code"], theirs["message"])
            assert "result" not in immediate_frame
        assert (await w.call("imm::fail", {}))["error"] == {
            "code": "MY_CODE",
            "message": "it failed",
        }


async def test_a_void_call_runs_and_answers_nothing(engine: Engine) -> None:
    async with raw_worker(engine) as w:
        for name in ("imm::echo", "imm::fail"):
            await w.send(
                {
                    "type": "invokefunction",
                    "function_id": name,
                    "data": {"void": name},
                    "action": {"type": "void"},
                }
            )
        await w.barrier()
        assert w.take("invocationresult") == []
    assert twins(engine).seen == [b'{"void": "imm::echo"}']


async def test_in_process_callers_get_python_values(engine: Engine) -> None:
    assert await engine.invoke("imm::echo", {"k": [1]}) == {"k": [1]}
    assert await engine.invoke("imm::decoded", [1, None]) == {"got": [1, None]}
    with pytest.raises(InvocationError) as caught:
        await engine.invoke("imm::fail", None)
    assert caught.value.code == "MY_CODE"


async def test_the_pending_limit_still_applies(engine: Engine) -> None:
    async with raw_worker(engine) as caller, raw_worker(engine) as executor:
        await executor.register_function("slow::fn")
        held = [await caller.invoke("slow::fn") for _ in range(4)]  # the limit is 4
        for _ in held:
            await executor.invocation("slow::fn")
        refused = await caller.call("imm::echo", 1)
        assert refused["error"]["code"] == "LIMIT_EXCEEDED"
