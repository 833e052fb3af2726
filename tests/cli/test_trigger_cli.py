"""``iii trigger`` as a subprocess against a real engine: payloads, output, errors, exit codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from iii_engine.cli.trigger import PayloadError, build_payload, render_function_help
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker
from tests.cli.clirun import free_port, iii


def echo(payload: Any) -> Any:
    """The payload as received, minus the caller id the engine adds to objects."""
    if isinstance(payload, dict):
        return {k: v for k, v in payload.items() if k != "_caller_worker_id"}
    return payload


def fail(payload: Any) -> Any:
    raise InvocationError("NOT_FOUND", f"no such user: {payload.get('id')}")


def divide(payload: Any) -> Any:
    return {"q": payload["a"] / payload["b"]}


async def never(payload: Any) -> Any:
    await asyncio.Event().wait()


@pytest.fixture
async def address(
    iii_worker: Callable[..., Awaitable[Worker]],
) -> AsyncIterator[list[str]]:
    """An engine with ``cli::*`` functions; yields the CLI flags that reach it."""
    async with start_engine() as engine:
        await _serve_functions(engine, iii_worker)
        port = engine.worker_url.rsplit(":", 1)[1]
        yield ["--address", "127.0.0.1", "--port", port]


async def _serve_functions(engine: Engine, connect: Callable[..., Awaitable[Worker]]) -> None:
    worker = await connect(engine, name="cli-test")
    worker.register_function("cli::echo", echo)
    worker.register_function("cli::nothing", lambda payload: None)
    worker.register_function("cli::fail", fail)
    worker.register_function("cli::divide", divide)
    worker.register_function("cli::never", never)
    worker.register_function(
        "cli::typed",
        echo,
        description="Greets a user.",
        request_format={
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "who to greet"},
                "times": {"type": "integer"},
            },
            "required": ["name"],
        },
    )
    # The worker's own call is ordered after its registrations: once it answers, all are live.
    assert await worker.trigger("cli::echo", {"ready": True}) == {"ready": True}


# --- payload rules (in-process) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "json_text", "expected"),
    [
        ([], None, {}),
        (["a=2"], None, {"a": 2}),
        (["x=true", "n=null"], None, {"x": True, "n": None}),
        (["l=[1,2]", 'o={"k":1}'], None, {"l": [1, 2], "o": {"k": 1}}),
        (['s="2"', "name=alice", "v="], None, {"s": "2", "name": "alice", "v": ""}),
        (["b=hello world", "eq=a=b"], None, {"b": "hello world", "eq": "a=b"}),
        (["f=1.5", "bad={x"], None, {"f": 1.5, "bad": "{x"}),
        ([], "[1, 2]", [1, 2]),
        ([], '"text"', "text"),
        ([], "5", 5),
        (["b=2"], '{"a": 1, "b": 1}', {"a": 1, "b": 2}),
    ],
)
def test_build_payload(pairs: list[str], json_text: str | None, expected: Any) -> None:
    assert build_payload(pairs, json_text) == expected


@pytest.mark.parametrize(
    ("pairs", "json_text", "message"),
    [
        (["abc"], None, "expected key=value, got `abc`"),
        (["=1"], None, "empty key"),
        (["a=1"], "[1]", "--json must be an object when combined with kv pairs"),
        ([], "{nope", "--json: invalid JSON `{nope`"),
    ],
)
def test_build_payload_errors(pairs: list[str], json_text: str | None, message: str) -> None:
    with pytest.raises(PayloadError, match="^" + message.replace("[", r"\[")):
        build_payload(pairs, json_text)


def test_render_function_help_table() -> None:
    text = render_function_help(
        {
            "worker_name": "w",
            "description": "Adds.",
            "request_schema": {
                "$ref": "#/$defs/In",
                "$defs": {"In": {"properties": {"a": {"type": "number"}}, "required": ["a"]}},
            },
        },
        "math::add",
    )
    assert "Adds." in text
    assert "  a     number  yes" in text


# --- the command, against a running engine ----------------------------------------------------


async def test_payload_rules_end_to_end(address: list[str]) -> None:
    run = await iii(
        "trigger",
        "cli::echo",
        "a=2",
        "x=true",
        "n=null",
        "l=[1,2]",
        'o={"k":1}',
        "name=alice",
        "v=",
        's="2"',
        *address,
    )
    assert run.code == 0, run.err
    expected = {
        "a": 2,
        "x": True,
        "n": None,
        "l": [1, 2],
        "o": {"k": 1},
        "name": "alice",
        "v": "",
        "s": "2",
    }
    assert run.out == json.dumps(expected, indent=2) + "\n"
    assert run.out.startswith('{\n  "a": 2,\n  "x": true,\n  "n": null,\n  "l": [\n    1,')


async def test_json_merge_and_alias(address: list[str]) -> None:
    run = await iii("t", "cli::echo", "--json", '{"a": 1, "b": 1}', "b=2", *address)
    assert (run.code, run.out) == (0, '{\n  "a": 1,\n  "b": 2\n}\n')


async def test_json_alone_is_sent_verbatim(address: list[str]) -> None:
    run = await iii("trigger", "--json", "[1, 2]", "cli::echo", *address)
    assert (run.code, run.out) == (0, "[\n  1,\n  2\n]\n")


async def test_no_payload_is_an_empty_object(address: list[str]) -> None:
    run = await iii("trigger", "cli::echo", *address)
    assert (run.code, run.out) == (0, "{}\n")


async def test_null_result_prints_nothing(address: list[str]) -> None:
    run = await iii("trigger", "cli::nothing", "a=1", *address)
    assert (run.code, run.out, run.err) == (0, "", "")


async def test_remote_error_exits_1_with_code_and_message(address: list[str]) -> None:
    run = await iii("trigger", "cli::fail", "id=7", *address)
    assert (run.code, run.out, run.err) == (1, "", "Error: NOT_FOUND: no such user: 7\n")


async def test_remote_error_as_json_on_request(address: list[str]) -> None:
    run = await iii("trigger", "cli::fail", "id=7", "--json-errors", *address)
    assert run.code == 1
    body = {"code": "NOT_FOUND", "message": "no such user: 7", "stacktrace": None}
    assert run.err == "Error: " + json.dumps(body, indent=2) + "\n"


async def test_worker_exception_prints_its_stack_trace_as_lines(address: list[str]) -> None:
    run = await iii("trigger", "cli::divide", "a=1", "b=0", *address)
    assert run.code == 1
    first, *trace = run.err.splitlines()
    assert first == "Error: invocation_failed: division by zero"
    assert trace[0] == "  Traceback (most recent call last):"
    assert any("in divide" in line for line in trace)
    assert trace[-1] == "  ZeroDivisionError: division by zero"


async def test_unknown_function_suggests_a_close_one(address: list[str]) -> None:
    run = await iii("trigger", "cli::ecko", *address)
    assert run.code == 1
    assert run.err.startswith(
        "Error: function_not_found: 'cli::ecko' is not registered (did you mean cli::echo?)"
    )
    run = await iii("trigger", "cli::ecko", "--no-validate", *address)
    assert run.code == 1
    assert "(did you mean cli::echo?)" in run.err


async def test_unknown_function_without_a_close_one(address: list[str]) -> None:
    run = await iii("trigger", "zzz::qqqqq", *address)
    assert run.code == 1
    assert "did you mean" not in run.err
    assert "`iii status` lists the registered functions" in run.err


async def test_arguments_are_checked_against_the_request_schema(address: list[str]) -> None:
    run = await iii("trigger", "cli::typed", "times=often", *address)
    assert run.code == 1
    assert run.err.startswith(
        "Error: invalid_payload: name: required; times: expected integer, got string"
    )
    assert "--no-validate" in run.err
    run = await iii("trigger", "cli::typed", "times=often", "--no-validate", *address)
    assert (run.code, json.loads(run.out)) == (0, {"times": "often"})
    run = await iii("trigger", "cli::typed", "name=ada", "times=2", *address)
    assert (run.code, json.loads(run.out)) == (0, {"name": "ada", "times": 2})


async def test_payload_error_exits_1_before_connecting() -> None:
    run = await iii("trigger", "cli::echo", "a=1", "--json", "[1]", "--port", str(free_port()))
    assert run.code == 1
    assert run.err == "Error: --json must be an object when combined with kv pairs\n"
    run = await iii("trigger", "cli::echo", "novalue", "--port", str(free_port()))
    assert (run.code, run.err) == (1, "Error: expected key=value, got `novalue`\n")


async def test_unreachable_engine_fails_fast_naming_the_url() -> None:
    port = str(free_port())
    started = asyncio.get_running_loop().time()
    run = await iii("trigger", "cli::echo", "--port", port)  # default --timeout-ms 30000
    elapsed = asyncio.get_running_loop().time() - started
    assert (run.code, run.out) == (1, "")
    assert run.err.startswith(
        f"Error: cannot connect to the engine at ws://localhost:{port}: connection refused"
    )
    assert elapsed < 10  # the connect deadline (1.5 s) plus interpreter start-up, not 30 s


async def test_invocation_timeout_is_a_different_error(address: list[str]) -> None:
    run = await iii("trigger", "cli::never", "--timeout-ms", "300", *address)
    assert run.code == 1
    port = address[-1]
    assert run.err == (
        f"Error: timeout: cli::never did not answer within 300 ms (the engine at "
        f"ws://127.0.0.1:{port} is up; --timeout-ms waits longer)\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["cli::echo", "--bogus"],
        ["--function-id", "cli::echo"],
        ["--payload", "{}", "cli::echo"],
        ["cli::echo", "--port", "99999"],
        [],
    ],
)
async def test_usage_errors_exit_2(args: list[str]) -> None:
    run = await iii("trigger", *args)
    assert run.code == 2
    assert "usage: iii trigger" in run.err


async def test_static_help() -> None:
    run = await iii("trigger", "--help")
    assert run.code == 0
    assert run.out.startswith("usage: iii trigger")
    assert "KEY=VALUE" in run.out and "--timeout-ms" in run.out


async def test_function_help_renders_the_schema(address: list[str]) -> None:
    run = await iii("trigger", "cli::typed", "--help", *address)
    assert run.code == 0, run.err
    assert "Greets a user." in run.out
    assert "  name   string   yes       who to greet" in run.out
    assert "  times  integer  no" in run.out


async def test_function_help_not_found(address: list[str]) -> None:
    run = await iii("trigger", "cli::missing", "-h", *address)
    assert run.code == 1
    assert run.err.startswith("Error: function_not_found: 'cli::missing' is not registered")


async def test_function_help_falls_back_when_unreachable() -> None:
    run = await iii(
        "trigger", "cli::x", "--help", "--port", str(free_port()), "--timeout-ms", "300"
    )
    assert run.code == 0
    assert run.out.startswith("usage: iii trigger")
    assert run.err.startswith("Warning: cannot reach the engine at ws://localhost:")


async def test_concurrent_runs_do_not_reject_each_other(address: list[str]) -> None:
    calls = [iii("trigger", "cli::echo", f"i={i}", *address) for i in range(4)]
    runs = await asyncio.gather(*calls)
    assert [(r.code, json.loads(r.out)) for r in runs] == [(0, {"i": i}) for i in range(4)]


async def test_namespace_flag_is_sent(address: list[str]) -> None:
    run = await iii("trigger", "cli::echo", "-n", "elsewhere", *address)
    assert run.code == 1
    assert "function_not_found" in run.err
    assert "in namespace 'elsewhere'" in run.err


async def test_retries_until_the_engine_is_up() -> None:
    attempted = asyncio.get_running_loop().create_future()

    def refuse(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not attempted.done():
            attempted.set_result(None)
        writer.close()

    # A listener that drops every connection stands in for "the engine is still starting".
    placeholder = await asyncio.start_server(refuse, "127.0.0.1", 0)
    port = placeholder.sockets[0].getsockname()[1]
    cli = asyncio.ensure_future(
        iii("trigger", "engine::functions::list", "--address", "127.0.0.1", "--port", str(port))
    )
    await asyncio.wait_for(attempted, 20)
    placeholder.close()
    await placeholder.wait_closed()
    manager = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": port}}
    async with start_engine(workers=[manager]):
        run = await cli
    assert run.code == 0, run.err
    assert isinstance(json.loads(run.out)["functions"], list)
