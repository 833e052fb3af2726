"""``iii traces``, ``iii traces show``, ``iii logs --follow`` as real subprocesses."""

from __future__ import annotations

import asyncio
import sys

from iii_engine.cli.observe import format_tree
from iii_engine.testing import start_engine
from tests.cli.clirun import WAIT_S, cli_env, iii
from tests.raw_client import raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_traces_list_and_show() -> None:
    async with start_engine() as engine, raw_worker(engine) as w, raw_worker(engine) as ex:
        await ex.register_function("svc::echo")
        invocation_id = await w.invoke(
            "svc::echo", 1, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01"
        )
        await ex.reply(await ex.invocation("svc::echo"), 1)
        await w.result(invocation_id)
        await w.call_ok(
            "engine::log::info", {"message": "hello"}, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01"
        )
        address = ["--address", "127.0.0.1", "--port", engine.worker_url.rsplit(":", 1)[1]]
        listing, shown, missing, logs = await asyncio.gather(
            iii("traces", *address),
            iii("traces", "show", TRACE, *address),
            iii("traces", "show", "0" * 31 + "1", *address),
            iii("logs", "--trace-id", TRACE, *address),
        )
    assert listing.code == 0, listing.err
    [line] = listing.out.splitlines()
    assert line.startswith(TRACE) and "ms" in line and " ok " in line and "call svc::echo" in line
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0].startswith("call svc::echo  [iii]  ")
    assert missing.code == 1 and "NOT_FOUND" in missing.err
    assert logs.code == 0, logs.err
    assert "INFO" in logs.out and "hello" in logs.out and f"trace={TRACE}" in logs.out


async def test_logs_follow_prints_new_records() -> None:
    async with start_engine() as engine, raw_worker(engine) as w:
        port = engine.worker_url.rsplit(":", 1)[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iii_engine",
            "logs",
            "--follow",
            "--level",
            "warn",
            "--address",
            "127.0.0.1",
            "--port",
            port,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(),
        )
        try:
            assert process.stderr is not None and process.stdout is not None
            async with asyncio.timeout(WAIT_S):
                while b"following" not in await process.stderr.readline():
                    pass
            await w.call_ok("engine::log::info", {"message": "not this one"})
            await w.call_ok("engine::log::warn", {"message": "watch out"})
            async with asyncio.timeout(WAIT_S):
                line = (await process.stdout.readline()).decode()
            assert "WARN" in line and "watch out" in line
        finally:
            process.terminate()
            await process.wait()


def test_format_tree_indents_children() -> None:
    child = {
        "name": "call b",
        "service_name": "iii",
        "start_time_unix_nano": 2,
        "end_time_unix_nano": 1_000_002,
        "status": "error",
        "status_description": "x: y",
        "children": [],
    }
    root = {
        **child,
        "name": "call a",
        "status": "ok",
        "children": [child],
        "start_time_unix_nano": 1,
    }
    del root["status_description"]
    assert format_tree([root]).splitlines() == [
        "call a  [iii]  1.00 ms  ok",
        "  call b  [iii]  1.00 ms  error (x: y)",
    ]
