"""Helpers for the quickstart's end-to-end tests: the compiled caller-worker, the engine as a
subprocess serving a quickstart config, and the HTTP route.

The quickstart (``examples/quickstart``): ``math-worker`` (Python, ``math::add``) and
``caller-worker`` (TypeScript with the official npm SDK, ``math::add_two_numbers`` calling
``math::add`` through the engine, a running total in state ``math``/``running_total``, served at
``POST /math/add-two-numbers``), both processes of the engine.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from iii_sdk import Worker
from tests.cli.clirun import QUICKSTART, WAIT_S, cli_env

ROUTE = "/math/add-two-numbers"
FUNCTIONS = {"math::add", "math::add_two_numbers"}
TS_SOURCES = ("caller_worker.ts", "tsconfig.json", "package-lock.json")
COMPILED = QUICKSTART / "dist" / "caller_worker.js"
SETUP_HINT = "run ./scripts/test once (it runs `npm ci` and `npm run build` in examples/quickstart)"
POLL_S = 0.05


def compile_caller_worker() -> Path:
    """``dist/caller_worker.js``, recompiled with the example's own ``tsc`` when it is stale."""
    if shutil.which("node") is None:
        pytest.fail(f"the quickstart needs node 20 on PATH; {SETUP_HINT}")
    tsc = QUICKSTART / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail(f"typescript is not installed in examples/quickstart; {SETUP_HINT}")
    built = COMPILED.stat().st_mtime if COMPILED.exists() else 0.0
    if any((QUICKSTART / name).stat().st_mtime > built for name in TS_SOURCES):
        done = subprocess.run(
            [str(tsc), "-p", str(QUICKSTART)],
            check=False,
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert done.returncode == 0, f"tsc failed:\n{done.stdout}{done.stderr}"
    assert COMPILED.exists()
    return COMPILED


@dataclass
class RunningEngine:
    """A ``python -m iii_engine`` process serving a quickstart config."""

    process: asyncio.subprocess.Process
    port: int
    http_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}{ROUTE}"

    @property
    def worker_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def stop(self) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), WAIT_S)


@asynccontextmanager
async def quickstart_engine(
    state_dir: Path,
    log: Path,
    port: int,
    http_port: int,
    config: Path = QUICKSTART / "config.yaml",
) -> AsyncIterator[RunningEngine]:
    """Start the engine on the given ports with its state in ``state_dir``, wait until the
    quickstart is ready; kill it on exit if the test did not stop it."""
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iii_engine",
            "--config",
            str(config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=cli_env(
                III_PORT=str(port),
                III_HTTP_PORT=str(http_port),
                III_CONSOLE_PORT="0",
                III_STATE_DIR=str(state_dir),
                OTEL_ENABLED="false",
            ),
        )
    engine = RunningEngine(process, port, http_port, log)
    try:
        async with asyncio.timeout(WAIT_S):
            await until_route_answers(engine)
            async with Worker(engine.worker_url, name="quickstart-test") as client:
                await until_functions(client, lambda ids: ids >= FUNCTIONS)
        yield engine
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def until_route_answers(engine: RunningEngine) -> None:
    """Until the caller-worker answers the route (its own 400 for an empty body: no state
    change). No event announces it from outside the engine, so it is polled."""
    async with aiohttp.ClientSession() as http:
        while True:
            assert engine.process.returncode is None, engine.output()
            try:
                async with http.post(engine.url, json={}) as response:
                    if response.status == 400:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(POLL_S)


async def function_ids(client: Worker) -> set[str]:
    """The function ids the engine lists now."""
    listed = await client.trigger("engine::functions::list", {})
    return {f["function_id"] for f in listed["functions"]}


async def until_functions(client: Worker, ok: Any) -> set[str]:
    """Poll ``engine::functions::list`` until ``ok(ids)`` (workers register asynchronously)."""
    while True:
        ids = await function_ids(client)
        if ok(ids):
            return ids
        await asyncio.sleep(POLL_S)


async def worker_pid(client: Worker, name: str) -> int:
    """The pid of the connected worker ``name`` (the engine's supervised process)."""
    found = await client.trigger("engine::workers::info", {"name": name})
    pid: int = found["worker"]["pid"]
    return pid


async def post(engine: RunningEngine, a: Any, b: Any) -> tuple[int, Any]:
    """``POST {a, b}`` to the route with aiohttp: (status, decoded body)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(engine.url, json={"a": a, "b": b}) as response,
    ):
        return response.status, await response.json()


async def curl(url: str, body: str) -> str:
    """The README's ``curl`` command (aiohttp if there is no curl); the body it prints."""
    binary = shutil.which("curl")
    if binary is None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers={"content-type": "application/json"}) as r,
        ):
            assert r.status == 200
            return await r.text()
    process = await asyncio.create_subprocess_exec(
        binary,
        "-s",
        "--fail-with-body",
        url,
        "-H",
        "content-type: application/json",
        "-d",
        body,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), WAIT_S)
    assert process.returncode == 0, (out, err)
    return out.decode()
