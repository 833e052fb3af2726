"""Config-declared worker processes under a real in-process engine: crash, restart, serve."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from iii_engine.cli._rawclient import RawClient
from iii_engine.testing import start_engine
from tests.cli.clirun import QUICKSTART, WAIT_S, cli_env

CONFIG = """
workers:
  - name: math-worker
    command: [python, math_worker.py]
"""


async def _until(client: RawClient, function_id: str, payload: Any, ok: Any) -> Any:
    # No event announces "the restarted worker is back": poll with a deadline.
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                result = await client.call(function_id, payload)
            except Exception:  # not registered (yet), or the worker is gone
                result = None
            if ok(result):
                return result
            await asyncio.sleep(0.05)


async def test_a_crashed_worker_is_restarted_and_serves_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", cli_env()["PATH"])  # `python` in the config: this interpreter
    async with (
        start_engine(CONFIG, base_dir=QUICKSTART) as engine,
        RawClient(engine.worker_url, timeout_s=WAIT_S * 2, name="test") as client,
    ):
        info = {"name": "math-worker"}

        def has_pid(found: Any) -> bool:
            return isinstance(found, dict) and "pid" in found.get("worker", {})

        first = (await _until(client, "engine::workers::info", info, has_pid))["worker"]["pid"]
        assert await _until(client, "math::add", {"a": 1, "b": 2}, bool) == {"c": 3}
        os.kill(first, signal.SIGKILL)

        def restarted(found: Any) -> bool:
            return has_pid(found) and found["worker"]["pid"] != first

        second = (await _until(client, "engine::workers::info", info, restarted))["worker"]["pid"]
        assert second == engine.supervisor.pid("math-worker")
        assert await _until(client, "math::add", {"a": 2, "b": 3}, bool) == {"c": 5}
