"""Official SDK workers started by the engine from config (``command:``, docs/configuration.md).

The engine sets ``III_URL`` and ``III_WORKER_NAME``; the official Python SDK reads both (the
env name wins over the one in code), so the worker shows up under its config entry's name.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import pytest
import yaml

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.compat.support import NODE_DIR, PY_WORKER, eventually, wait_for_functions

pytestmark = pytest.mark.compat


def config(*entries: dict[str, Any]) -> str:
    return yaml.safe_dump({"workers": list(entries)})


async def test_engine_runs_and_restarts_an_official_python_worker() -> None:
    entry = {
        "name": "supervised-py",
        "command": [sys.executable, str(PY_WORKER), "echo"],
        "restart": "always",
        "env": {"OTEL_ENABLED": "false"},
    }
    async with start_engine(config(entry)) as engine:
        await wait_for_functions(engine, "offpy::echo", within=20)

        async def info() -> dict[str, Any] | None:
            try:
                row: dict[str, Any] = await engine.invoke(
                    "engine::workers::info", {"name": "supervised-py"}
                )
            except Exception:
                return None
            return row

        first = await eventually(info, "the supervised worker to be listed under its entry name")
        assert first["worker"]["runtime"] == "python"
        async with Worker(engine.worker_url, name="ours") as ours:
            result = await ours.trigger("offpy::echo", {"n": 1})
            assert result["echo"]["n"] == 1

            os.kill(first["worker"]["pid"], signal.SIGKILL)

            async def restarted() -> dict[str, Any] | None:
                row = await info()
                return row if row and row["worker"]["pid"] != first["worker"]["pid"] else None

            await eventually(restarted, "the engine to restart the killed worker", within=20)
            await wait_for_functions(engine, "offpy::echo")
            assert (await ours.trigger("offpy::echo", "again"))["echo"] == "again"


async def test_engine_runs_a_node_worker_process() -> None:
    if not (NODE_DIR / "node_modules" / "iii-sdk").is_dir():
        pytest.fail("Node iii-sdk missing: run ./scripts/test or `cd tests/compat/node && npm ci`")
    entry = {"name": "supervised-node", "command": ["node", str(NODE_DIR / "combine.mjs")]}
    async with start_engine(config(entry)) as engine:
        await wait_for_functions(engine, "node::combine", "node::tick", within=20)
        async with Worker(engine.worker_url, name="py-doubler") as ours:
            ours.register_function("py::double", lambda p: {"value": p["n"] * 2})
            await wait_for_functions(engine, "py::double")
            result = await ours.trigger("node::combine", {"n": 3, "label": "supervised"})
            assert result == {"label": "supervised", "n": 3, "doubled": 6, "sum": 9}
