"""``examples/queue``: run as a real engine process, the README's walk-through step by step."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from iii_engine.cli._rawclient import RawClient
from tests.cli.clirun import REPO_ROOT, WAIT_S, cli_env, free_port, iii

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "examples" / "queue"


class Output:
    """The engine's output lines, and a way to wait for one."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace"))
            self._changed.set()

    async def wait_for(self, text: str) -> None:
        async with asyncio.timeout(WAIT_S):
            while not any(text in line for line in self.lines):
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def example(tmp_path: Path) -> AsyncIterator[tuple[str, str, Output]]:
    port, http_port = free_port(), free_port()
    env = cli_env(III_PORT=str(port), III_HTTP_PORT=str(http_port), III_QUEUE_DIR=str(tmp_path))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        "--config",
        str(EXAMPLE / "config.yaml"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    assert process.stdout is not None
    output = Output(process.stdout)
    try:
        await _wait_route(port)
        yield str(port), f"http://127.0.0.1:{http_port}/signup", output
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), WAIT_S)
    assert (tmp_path / "queue.sqlite3").exists()


async def _wait_route(port: int) -> None:
    # The engine announces no "worker registered X" event; poll with a deadline.
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                async with RawClient(f"ws://127.0.0.1:{port}", timeout_s=WAIT_S, name="t") as c:
                    listed = await c.call("engine::registered-triggers::list", {})
                    if any(
                        r["function_id"] == "emails::signup" for r in listed["registered_triggers"]
                    ):
                        return
            except OSError:
                pass
            await asyncio.sleep(0.05)


async def test_signup_enqueues_and_a_dead_letter_is_redriven(
    example: tuple[str, str, Output],
) -> None:
    port, url, output = example
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"email": "ann@example.com"}) as response:
            assert response.status == 202
            assert "queued" in await response.json()
        await output.wait_for("[email-worker] sent welcome email to ann@example.com")

        assert (await iii("trigger", "emails::provider", "up=false", "--port", port)).code == 0
        async with http.post(url, json={"email": "bob@example.com"}) as response:
            assert response.status == 202

    await output.wait_for("(emails::send) dead-lettered")  # 3 attempts, 200 + 400 ms backoff
    run = await iii("queue", "dlq", "emails", "--json", "--port", port)
    assert run.code == 0, run.err
    [letter] = json.loads(run.out)
    assert letter["retries"] == 3
    assert "email provider is down" in str(letter["error"])

    assert (await iii("trigger", "emails::provider", "up=true", "--port", port)).code == 0
    redrive = await iii("queue", "redrive", "emails", "--port", port)
    assert redrive.out == "redriven 1 message(s) of emails\n"
    await output.wait_for("[email-worker] sent welcome email to bob@example.com")
