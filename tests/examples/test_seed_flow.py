"""The quickstart, end to end: ``examples/quickstart/config.yaml`` run as a real engine process.

Upstream's quickstart, name for name: ``math-worker`` (Python, ``math::add``) and
``caller-worker`` (TypeScript, official npm SDK compiled by ``tsc``: ``math::add_two_numbers``,
which calls ``math::add`` through the engine and keeps ``running_total`` in the state scope
``math``), ``iii-state`` and ``iii-http`` (``POST /math/add-two-numbers``). Beyond upstream:
the workers are processes the engine supervises, the total survives an engine restart, and
math-worker can be stopped and started again while everything else keeps running.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from iii_sdk import Worker
from tests.cli.clirun import QUICKSTART, REPO_ROOT, WAIT_S, cli_env, free_port, iii
from tests.examples.quickstart_support import (
    compile_caller_worker,
    curl,
    post,
    quickstart_engine,
    until_functions,
    worker_pid,
)

README_POST = '{"a": 100, "b": 200}'


@pytest.fixture(scope="module", autouse=True)
def caller_worker_compiled() -> Path:
    return compile_caller_worker()


async def test_running_total_survives_an_engine_restart(tmp_path: Path) -> None:
    state_dir, log = tmp_path / "state", tmp_path / "engine.log"
    port, http_port = free_port(), free_port()

    async with quickstart_engine(state_dir, log, port, http_port) as engine:
        first = await curl(engine.url, README_POST)
        assert json.loads(first) == {"c": 300, "running_total": 300}, engine.output()
        assert await post(engine, 100, 200) == (200, {"c": 300, "running_total": 600})
        assert await post(engine, 1, 2) == (200, {"c": 3, "running_total": 603})
        assert await engine.stop() == 0, engine.output()
    assert (state_dir / "state_store.db").is_file()
    log_text = log.read_text()
    assert "[math-worker] started python math_worker.py" in log_text
    assert "[caller-worker] started node dist/caller_worker.js" in log_text

    async with quickstart_engine(state_dir, log, port, http_port) as engine:
        status, body = await post(engine, 100, 200)
        assert (status, body) == (200, {"c": 300, "running_total": 903}), engine.output()
        async with Worker(engine.worker_url, name="t") as client:
            stored = await client.trigger("state::get", {"scope": "math", "key": "running_total"})
        assert stored == 903
        assert await engine.stop() == 0, engine.output()


def readme_snippet() -> str:
    """The README's Python program that calls ``math::add_two_numbers`` with ``worker.trigger``."""
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    found = [b for b in blocks if 'worker.trigger("math::add_two_numbers"' in b]
    assert len(found) == 1, "the README's Quickstart shows one worker.trigger(...) program"
    return found[0]


async def test_the_readme_walkthrough(tmp_path: Path) -> None:
    """The README's Quickstart, step by step, with the outputs it shows."""
    readme = (REPO_ROOT / "README.md").read_text()
    async with quickstart_engine(
        tmp_path / "state", tmp_path / "engine.log", free_port(), free_port()
    ) as engine:
        port = str(engine.port)

        # 2. The Python worker.
        run = await iii("trigger", "math::add", "a=2", "b=3", "--port", port)
        assert (run.code, run.out, run.err) == (0, '{\n  "c": 5\n}\n', "")

        # 3. The TypeScript worker, fired by the CLI.
        run = await iii("trigger", "math::add_two_numbers", "a=10", "b=20", "--port", port)
        assert (run.code, run.err) == (0, "")
        assert run.out == '{\n  "c": 30,\n  "running_total": 30\n}\n'
        assert run.out in readme

        # 4. HTTP (iii-http's compact JSON).
        answer = await curl(engine.url, README_POST)
        assert answer == '{"c":300,"running_total":330}', engine.output()
        assert answer in readme

        # 5. State.
        run = await iii("trigger", "state::get", "scope=math", "key=running_total", "--port", port)
        assert (run.code, run.out) == (0, "330\n"), run.err

        # 6. From code: the README's program, as a user would run it.
        program = tmp_path / "add.py"
        program.write_text(readme_snippet())
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(program),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(III_URL=engine.worker_url),
        )
        out, err = await asyncio.wait_for(process.communicate(), WAIT_S)
        assert process.returncode == 0, err.decode()
        assert out.decode() == "{'c': 3, 'running_total': 333}\n"
        assert out.decode() in readme

        # Bad input is answered by the caller-worker itself, without touching the total.
        status, body = await post(engine, "x", 1)
        assert status == 400
        assert body["error"]["code"] == "bad_request"
        async with (
            aiohttp.ClientSession() as http,
            http.post(engine.url, data="{", headers={"content-type": "application/json"}) as r,
        ):
            assert r.status == 400
        run = await iii("trigger", "math::add_two_numbers", "a=x", "--port", port)
        assert run.code == 1
        assert "math::add_two_numbers expects" in run.err
        assert await post(engine, 0, 0) == (200, {"c": 0, "running_total": 333})
        assert await engine.stop() == 0, engine.output()


def save_config(path: Path, entries: list[dict[str, Any]]) -> None:
    """Write the config as an editor that saves by renaming would (the engine hot-reloads)."""
    scratch = path.with_suffix(".tmp")
    scratch.write_text(yaml.safe_dump({"workers": entries}, sort_keys=False))
    os.replace(scratch, path)


async def test_stopping_and_starting_math_worker(tmp_path: Path) -> None:
    # The quickstart config in a scratch directory (so the test can edit it), its worker
    # processes still run from examples/quickstart.
    entries = yaml.safe_load((QUICKSTART / "config.yaml").read_text())["workers"]
    for entry in entries:
        if "command" in entry:
            entry["cwd"] = str(QUICKSTART)
    config = tmp_path / "config.yaml"
    save_config(config, entries)
    without_math = [e for e in entries if e["name"] != "math-worker"]

    async with (
        quickstart_engine(
            tmp_path / "state", tmp_path / "engine.log", free_port(), free_port(), config
        ) as engine,
        Worker(engine.worker_url, name="observer") as client,
    ):
        assert await post(engine, 1, 2) == (200, {"c": 3, "running_total": 3})
        caller_pid = await worker_pid(client, "caller-worker")

        # Stop math-worker (its entry removed from the file): math::add is gone.
        save_config(config, without_math)
        await until_functions(client, lambda ids: "math::add" not in ids)
        async with (
            aiohttp.ClientSession() as http,
            http.post(engine.url, json={"a": 1, "b": 2}) as response,
        ):
            status, text = response.status, await response.text()
        assert status == 503, text
        assert json.loads(text) == {
            "error": {
                "code": "function_not_found",
                "message": "Function math::add not found in namespace default.",
                "function_id": "math::add",
            }
        }
        assert text in (REPO_ROOT / "README.md").read_text()  # as the README shows it
        port = str(engine.port)
        run = await iii("trigger", "math::add_two_numbers", "a=1", "b=2", "--port", port)
        assert run.code == 1
        assert "Function math::add not found" in run.err
        # caller-worker kept running: same process, its function still registered.
        assert await worker_pid(client, "caller-worker") == caller_pid
        assert "math::add_two_numbers" in await until_functions(client, bool)

        # Start it again (the entry back): the route works, nothing else was restarted.
        save_config(config, entries)
        await until_functions(client, lambda ids: "math::add" in ids)
        assert await post(engine, 10, 20) == (200, {"c": 30, "running_total": 33})
        assert await worker_pid(client, "caller-worker") == caller_pid
        assert await engine.stop() == 0, engine.output()
    log_text = (tmp_path / "engine.log").read_text()
    assert log_text.count("[math-worker] started") == 2
    assert log_text.count("[caller-worker] started") == 1


async def test_scripts_run_prints_the_commands_once_ready(tmp_path: Path) -> None:
    port, http_port = free_port(), free_port()
    env = cli_env(
        III_PORT=str(port),
        III_HTTP_PORT=str(http_port),
        III_CONSOLE_PORT="0",
        III_STATE_DIR=str(tmp_path / "state"),
        OTEL_ENABLED="false",
    )
    process = await asyncio.create_subprocess_exec(
        str(REPO_ROOT / "scripts" / "run"),
        cwd=REPO_ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(WAIT_S * 2):  # includes the set-up checks of scripts/run
            while not seen or "trigger state::get" not in seen[-1]:
                line = (await process.stdout.readline()).decode()
                assert line, "".join(seen)
                seen.append(line)
        text = "".join(seen)
        commands = [line.strip() for line in seen if line.startswith("  ")][-3:]
        url = f"http://localhost:{http_port}/math/add-two-numbers"
        assert commands == [
            f"curl -s {url} -H 'content-type: application/json' -d '{README_POST}'",
            f".venv/bin/iii trigger math::add a=2 b=3 --port {port}",
            f".venv/bin/iii trigger state::get scope=math key=running_total --port {port}",
        ], text
        # Printed once ready: the first command works at once.
        assert await curl(url, README_POST) == '{"c":300,"running_total":300}', text
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), WAIT_S)
    assert process.returncode == 0, "".join(seen) + rest.decode()


async def test_the_config_is_valid_and_upstream_style() -> None:
    run = await iii("check-config", str(QUICKSTART / "config.yaml"))
    assert run.code == 0, run.err
    names = "iii-worker-manager, iii-state, iii-http, iii-console, math-worker, caller-worker"
    assert f"OK (6 workers: {names})" in run.out
