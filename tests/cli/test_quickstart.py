"""The quickstart's two workers, as the engine's supervised processes: Node calls Python."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from iii_engine.cli._rawclient import RawClient
from iii_engine.testing import start_engine
from tests.cli.clirun import QUICKSTART, WAIT_S, cli_env, iii

CONFIG = """
workers:
  - name: math-worker
    command: [python, math_worker.py]
  - name: quickstart-caller
    command: [node, caller.mjs]
"""

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (QUICKSTART / "node_modules" / "iii-sdk").is_dir(),
    reason="needs node and `npm ci` in examples/quickstart (./scripts/test does both)",
)


async def test_node_caller_sums_through_the_python_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_ENABLED", "false")
    monkeypatch.setenv("PATH", cli_env()["PATH"])  # `python` in the config: this interpreter
    async with start_engine(CONFIG, base_dir=QUICKSTART) as engine:
        port = engine.worker_url.rsplit(":", 1)[1]
        async with RawClient(engine.worker_url, timeout_s=WAIT_S, name="test") as client:
            # No event says "a remote worker registered X": poll the registry with a deadline.
            async with asyncio.timeout(WAIT_S):
                while True:
                    listed = await client.call("engine::functions::list", {})
                    ids = {f["function_id"] for f in listed["functions"]}
                    if {"math::add", "caller::sum"} <= ids:
                        break
                    await asyncio.sleep(0.05)
        run = await iii("trigger", "caller::sum", "numbers=[1,2,3,4]", "--port", port)
    assert (run.code, run.out) == (0, '{\n  "total": 10\n}\n'), run.err
