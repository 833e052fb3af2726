"""The seed flow, end to end: ``examples/quickstart/config.yaml`` run as a real engine process.

An upstream-style config (``iii-state`` kv/file_based, ``iii-http``, ``iii-pubsub``) plus two
supervised worker processes: the Python ``math_worker.py`` keeps a running total with
``state::get``/``state::set``; the TypeScript ``http_worker.ts`` (official npm SDK, compiled by
``tsc``) serves it at ``POST /math/add-two-numbers``. The total must survive an engine restart.
"""

from __future__ import annotations

import asyncio
import json
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

from iii_engine.cli._rawclient import RawClient
from tests.cli.clirun import QUICKSTART, WAIT_S, cli_env, free_port, iii

ROUTE = "/math/add-two-numbers"
TS_SOURCES = ("http_worker.ts", "tsconfig.json", "package-lock.json")
COMPILED = QUICKSTART / "dist" / "http_worker.js"
SETUP_HINT = "run ./scripts/test once (it runs `npm ci` and `npm run build` in examples/quickstart)"


@pytest.fixture(scope="module")
def http_worker_compiled() -> Path:
    """``dist/http_worker.js``, recompiled with the example's own ``tsc`` when it is stale."""
    if shutil.which("node") is None:
        pytest.fail(f"the seed flow needs node 20 on PATH; {SETUP_HINT}")
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
    """A ``python -m iii_engine`` process serving the quickstart config."""

    process: asyncio.subprocess.Process
    port: int
    http_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}{ROUTE}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def stop(self) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), WAIT_S)


@asynccontextmanager
async def quickstart_engine(
    state_dir: Path, log: Path, port: int, http_port: int
) -> AsyncIterator[RunningEngine]:
    """Start the engine on the given ports with its state in ``state_dir``; kill it on exit
    if the test did not stop it."""
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iii_engine",
            "--config",
            str(QUICKSTART / "config.yaml"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env=cli_env(
                III_PORT=str(port),
                III_HTTP_PORT=str(http_port),
                III_STATE_DIR=str(state_dir),
                OTEL_ENABLED="false",
            ),
        )
    engine = RunningEngine(process, port, http_port, log)
    try:
        await wait_ready(engine)
        yield engine
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_ready(engine: RunningEngine) -> None:
    """Until the TypeScript worker's route answers and the Python worker's function is listed.

    No event announces either from outside the engine, so both are polled with a deadline.
    """
    async with asyncio.timeout(WAIT_S), aiohttp.ClientSession() as http:
        while True:
            assert engine.process.returncode is None, engine.output()
            try:
                # An empty object is rejected by the TypeScript worker itself (no state change).
                async with http.post(engine.url, json={}) as response:
                    if response.status == 400:
                        break
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
        url = f"ws://127.0.0.1:{engine.port}"
        async with RawClient(url, timeout_s=WAIT_S, name="seed-test") as client:
            while True:
                listed = await client.call("engine::functions::list", {})
                if any(f["function_id"] == "math::add_to_total" for f in listed["functions"]):
                    return
                await asyncio.sleep(0.05)


async def post(engine: RunningEngine, a: int, b: int) -> tuple[int, Any]:
    """``POST {a, b}`` to the route with aiohttp: (status, decoded body)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(engine.url, json={"a": a, "b": b}) as response,
    ):
        return response.status, await response.json()


async def curl(engine: RunningEngine, body: str) -> str:
    """The README's ``curl`` command against the engine (aiohttp if there is no curl)."""
    binary = shutil.which("curl")
    if binary is None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(engine.url, data=body, headers={"content-type": "application/json"}) as r,
        ):
            assert r.status == 200
            return await r.text()
    process = await asyncio.create_subprocess_exec(
        binary,
        "-s",
        "--fail-with-body",
        engine.url,
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


pytestmark = pytest.mark.usefixtures("http_worker_compiled")


async def test_running_total_survives_an_engine_restart(tmp_path: Path) -> None:
    state_dir, log = tmp_path / "state", tmp_path / "engine.log"
    port, http_port = free_port(), free_port()

    async with quickstart_engine(state_dir, log, port, http_port) as engine:
        first = await curl(engine, '{"a": 100, "b": 200}')
        assert json.loads(first) == {"c": 300, "running_total": 300}, engine.output()
        assert await post(engine, 100, 200) == (200, {"c": 300, "running_total": 600})
        assert await post(engine, 1, 2) == (200, {"c": 3, "running_total": 603})
        assert await engine.stop() == 0, engine.output()
    assert (state_dir / "state_store.db").is_file()
    log_text = log.read_text()
    assert "[math-worker] started python math_worker.py" in log_text
    assert "[http-worker] started node dist/http_worker.js" in log_text

    async with quickstart_engine(state_dir, log, port, http_port) as engine:
        status, body = await post(engine, 100, 200)
        assert (status, body) == (200, {"c": 300, "running_total": 903}), engine.output()
        async with RawClient(f"ws://127.0.0.1:{port}", timeout_s=WAIT_S, name="t") as client:
            stored = await client.call("state::get", {"scope": "math", "key": "running_total"})
        assert stored == 903
        assert await engine.stop() == 0, engine.output()


async def test_the_readme_commands(tmp_path: Path) -> None:
    async with quickstart_engine(
        tmp_path / "state", tmp_path / "engine.log", free_port(), free_port()
    ) as engine:
        # The README shows this exact text (iii-http's compact JSON).
        answer = await curl(engine, '{"a": 100, "b": 200}')
        assert answer == '{"c":300,"running_total":300}', engine.output()

        run = await iii("trigger", "math::add", "a=2", "b=3", "--port", str(engine.port))
        assert (run.code, run.out, run.err) == (0, '{\n  "c": 5\n}\n', "")

        run = await iii(
            "trigger", "state::get", "scope=math", "key=running_total", "--port", str(engine.port)
        )
        assert (run.code, run.out) == (0, "300\n"), run.err

        # iii-pubsub is up too: `publish` exists and answers null, which `iii trigger` prints as
        # nothing (an unknown function would exit 1).
        run = await iii(
            "trigger", "publish", "topic=quickstart", "data=1", "--port", str(engine.port)
        )
        assert (run.code, run.out, run.err) == (0, "", "")

        # Bad input is answered by the TypeScript worker, without touching the total.
        async with (
            aiohttp.ClientSession() as http,
            http.post(engine.url, json={"a": "x"}) as response,
        ):
            assert response.status == 400
            assert "error" in await response.json()
        assert await post(engine, 0, 0) == (200, {"c": 0, "running_total": 300})
        assert await engine.stop() == 0, engine.output()


async def test_the_config_is_valid_and_upstream_style() -> None:
    run = await iii("check-config", str(QUICKSTART / "config.yaml"))
    assert run.code == 0, run.err
    names = "iii-worker-manager, iii-state, iii-http, iii-pubsub, math-worker, http-worker"
    assert f"OK (6 workers: {names})" in run.out
