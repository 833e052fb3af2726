"""The blocking facade: SyncWorker from plain threads, run_forever in a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from iii_engine.engine import Engine
from iii_sdk import SyncWorker, Worker

Connect = Callable[..., Awaitable[Worker]]


def _blocking_session(url: str) -> dict[str, Any]:
    """Everything a script does, in one thread, without touching asyncio itself."""
    with SyncWorker(url, name="script") as serving, SyncWorker(url, name="user") as calling:
        handle = serving.register_function("sync::double", lambda p: p["n"] * 2)
        calling.trigger("engine::functions::list", {})
        serving.trigger("engine::functions::list", {})  # the registration is applied
        doubled = calling.trigger("sync::double", {"n": 21})
        handle.unregister()
        serving.trigger("engine::functions::list", {})
        try:
            calling.trigger({"function_id": "sync::double", "payload": {"n": 1}})
        except Exception as exc:
            missing = getattr(exc, "code", None)
        return {"doubled": doubled, "missing": missing, "id": serving.worker_id}


async def test_sync_worker_from_a_plain_thread(iii_engine: Engine) -> None:
    result = await asyncio.to_thread(_blocking_session, iii_engine.worker_url)
    assert result["doubled"] == 42
    assert result["missing"] == "function_not_found"
    assert result["id"]


SCRIPT = textwrap.dedent(
    """
    from iii_sdk import Worker

    def add(payload):
        return {"c": payload["a"] + payload["b"]}

    worker = Worker(name="script-worker")
    worker.register_function("math::add", add)
    worker.run_forever()
    """
)


async def test_run_forever_serves_until_sigterm(
    iii_engine: Engine, iii_worker: Connect, tmp_path: Path
) -> None:
    watcher = await iii_worker(iii_engine, name="watcher")
    updated: asyncio.Queue[Any] = asyncio.Queue()

    async def on_workers(event: Any) -> None:
        if event["worker_id"] != watcher.worker_id:
            updated.put_nowait(event)

    watcher.register_function("watch::workers", on_workers)
    watcher.register_trigger("engine::workers-available", "watch::workers", {})
    await watcher.trigger("engine::functions::list", {})
    script = tmp_path / "math_worker.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "III_URL": iii_engine.worker_url}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env)
    try:
        # metadata is sent after the replay, so the function is registered by then
        while (await asyncio.wait_for(updated.get(), 10))["event"] != "worker_metadata_updated":
            pass
        assert await watcher.trigger("math::add", {"a": 2, "b": 3}) == {"c": 5}
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_run_forever_exits_non_zero_when_its_name_is_taken(
    iii_engine: Engine, iii_worker: Connect, tmp_path: Path
) -> None:
    await iii_worker(iii_engine, name="script-worker")
    script = tmp_path / "math_worker.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "III_URL": iii_engine.worker_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode != 0
    assert b"WORKER_NAMESPACE_CONFLICT" in stderr


def _blocking_outcomes(url: str) -> dict[str, Any]:
    """SyncWorker.trigger's outcomes other than a plain result, from a plain thread."""
    from iii_sdk import InvocationError

    outcomes: dict[str, Any] = {}
    with SyncWorker(url, name="outcomes") as worker:
        worker.register_function("sync::slow", lambda p: __import__("time").sleep(0.2))
        worker.trigger("engine::functions::list", {})
        outcomes["void"] = worker.trigger("sync::slow", {}, action={"type": "void"})
        try:
            worker.trigger("sync::slow", {}, timeout_ms=20)
        except InvocationError as exc:
            outcomes["timeout"] = exc.code
        try:
            worker.trigger("sync::slow", {}, bogus=1)  # type: ignore[call-arg]
        except TypeError:
            outcomes["bad option"] = True
        outcomes["meta"] = (
            worker.trigger(
                {"function_id": "engine::functions::list", "payload": {}}, metadata={"m": 1}
            )
            is not None
        )
    try:
        worker.trigger("engine::functions::list", {})
    except Exception as exc:
        outcomes["closed"] = type(exc).__name__
    return outcomes


async def test_sync_trigger_outcomes(iii_engine: Engine) -> None:
    outcomes = await asyncio.to_thread(_blocking_outcomes, iii_engine.worker_url)
    assert outcomes == {
        "void": None,
        "timeout": "TIMEOUT",
        "bad option": True,
        "meta": True,
        "closed": "RuntimeError",
    }
