"""The quickstart's two workers as processes of an in-process engine, called from Python code.

``worker.trigger(...)`` reaches the TypeScript ``caller-worker``'s ``math::add_two_numbers``,
which reaches the Python ``math-worker``'s ``math::add`` through the engine; a failure of the
inner call comes back as an invocation error naming ``math::add``.
"""

from __future__ import annotations

import asyncio

import pytest

from iii_engine.testing import start_engine
from iii_sdk import Worker
from iii_sdk.errors import InvocationError
from tests.cli.clirun import QUICKSTART, WAIT_S, cli_env
from tests.examples.quickstart_support import compile_caller_worker, until_functions

CONFIG = """
workers:
  - name: iii-state
    config: {adapter: {name: kv, config: {store_method: in_memory}}}
  - name: math-worker
    command: [python, math_worker.py]
  - name: caller-worker
    command: [node, dist/caller_worker.js]
"""

RUNNING_TOTAL = {"scope": "math", "key": "running_total"}


async def test_worker_trigger_from_code(monkeypatch: pytest.MonkeyPatch) -> None:
    compile_caller_worker()
    monkeypatch.setenv("OTEL_ENABLED", "false")
    monkeypatch.setenv("PATH", cli_env()["PATH"])  # `python` in the config: this interpreter
    async with (
        start_engine(CONFIG, base_dir=QUICKSTART) as engine,
        Worker(engine.worker_url, name="from-code") as worker,
    ):
        # No event says "a remote worker registered X": poll the registry with a deadline.
        async with asyncio.timeout(WAIT_S):
            await until_functions(worker, lambda ids: {"math::add", "math::add_two_numbers"} <= ids)

        assert await worker.trigger("math::add", {"a": 2, "b": 3}) == {"c": 5}
        request = {"function_id": "math::add_two_numbers", "payload": {"a": 2, "b": 3}}
        assert await worker.trigger(request) == {"c": 5, "running_total": 5}
        assert await worker.trigger("math::add_two_numbers", {"a": 0.5, "b": 1}) == {
            "c": 1.5,
            "running_total": 6.5,
        }
        assert await worker.trigger("state::get", RUNNING_TOTAL) == 6.5

        with pytest.raises(InvocationError) as bad:
            await worker.trigger("math::add_two_numbers", {"a": 1})
        assert bad.value.code == "invocation_failed"
        assert "math::add_two_numbers expects" in bad.value.message

        # math-worker gone: the TypeScript worker's call fails, and the error says which.
        await engine.supervisor.stop("math-worker")
        await until_functions(worker, lambda ids: "math::add" not in ids)
        with pytest.raises(InvocationError) as failed:
            await worker.trigger("math::add_two_numbers", {"a": 1, "b": 2})
        assert failed.value.code == "invocation_failed"
        assert "Function math::add not found" in failed.value.message
        assert await worker.trigger("state::get", RUNNING_TOTAL) == 6.5
