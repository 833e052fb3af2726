"""Discovery trigger types: ``engine::workers-available`` and ``engine::functions-available``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from iii_engine.builtins import introspection
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, disconnect, open_raw, raw_worker


async def watch(watcher: RawWorker, trigger_type: str, function_id: str, **extra: Any) -> None:
    await watcher.register_function(function_id)
    await watcher.send(
        {
            "type": "registertrigger",
            "id": f"watch-{function_id}",
            "trigger_type": trigger_type,
            "function_id": function_id,
            "config": {},
            **extra,
        }
    )
    await watcher.barrier()


async def next_event(watcher: RawWorker, function_id: str) -> dict[str, Any]:
    """Receive one fired invocation, acknowledge it, return the whole frame."""
    invocation = await watcher.invocation(function_id)
    await watcher.reply(invocation, None)
    return invocation


async def test_workers_available_lifecycle_events(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as watcher:
        await watch(watcher, "engine::workers-available", "watch::workers", metadata={"m": 1})
        other = await open_raw(iii_engine.worker_url)
        connected = await next_event(watcher, "watch::workers")
        assert connected["data"] == {"event": "worker_connected", "worker_id": other.worker_id}
        # Engine-originated: no _caller_worker_id, the binding's metadata as sidecar.
        assert connected["metadata"] == {"m": 1}
        await other.register_worker("other")
        updated = await next_event(watcher, "watch::workers")
        assert updated["data"] == {"event": "worker_metadata_updated", "worker_id": other.worker_id}
        await disconnect(iii_engine, other)
        gone = await next_event(watcher, "watch::workers")
        assert gone["data"] == {"event": "worker_disconnected", "worker_id": other.worker_id}
        await watcher.barrier()
        assert watcher.take("invokefunction") == []


async def test_workers_available_via_engine_register_trigger(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as watcher:
        await watcher.register_function("watch::durable")
        await watcher.call_ok(
            "engine::register_trigger",
            {"trigger_type": "engine::workers-available", "function_id": "watch::durable"},
        )
        async with raw_worker(iii_engine) as other:
            event = await next_event(watcher, "watch::durable")
            assert event["data"] == {"event": "worker_connected", "worker_id": other.worker_id}
            assert "metadata" not in event


async def test_unbound_watcher_gets_nothing(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as watcher:
        await watch(watcher, "engine::workers-available", "watch::workers")
        await watcher.send({"type": "unregistertrigger", "id": "watch-watch::workers"})
        await watcher.barrier()
        async with raw_worker(iii_engine) as other:
            await other.barrier()
        await watcher.barrier()
        assert watcher.take("invokefunction") == []


@pytest.fixture
async def fast_engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Engine]:
    monkeypatch.setattr(introspection, "FUNCTIONS_POLL_S", 0.02)
    async with start_engine() as running:
        yield running


async def changed_with(
    watcher: RawWorker, present: str | None, absent: str | None = None
) -> list[dict[str, Any]]:
    """Wait for a functions_changed event where ``present`` is listed and ``absent`` is not."""
    while True:
        event = await next_event(watcher, "watch::functions")
        assert event["data"]["event"] == "functions_changed"
        assert set(event["data"]) == {"event", "functions"}
        rows: list[dict[str, Any]] = event["data"]["functions"]
        ids = {r["function_id"] for r in rows}
        if (present is None or present in ids) and (absent is None or absent not in ids):
            return rows


async def test_functions_available_fires_functions_changed(fast_engine: Engine) -> None:
    async with raw_worker(fast_engine) as watcher, raw_worker(fast_engine, "svc") as svc:
        await watch(watcher, "engine::functions-available", "watch::functions")
        await svc.register_function("svc::fn", description="first")
        rows = await changed_with(watcher, "svc::fn")
        row = next(r for r in rows if r["function_id"] == "svc::fn")
        assert row == {
            "function_id": "svc::fn",
            "namespace": "default",
            "worker_name": "svc",
            "description": "first",
        }
        # Internal functions are included.
        assert "engine::functions::list" in {r["function_id"] for r in rows}
        await svc.send({"type": "unregisterfunction", "id": "svc::fn"})
        await changed_with(watcher, None, absent="svc::fn")


async def test_functions_available_ignores_description_changes(fast_engine: Engine) -> None:
    async with raw_worker(fast_engine) as watcher, raw_worker(fast_engine) as svc:
        await watch(watcher, "engine::functions-available", "watch::functions")
        await svc.register_function("svc::a", description="v1")
        await changed_with(watcher, "svc::a")
        await svc.register_function("svc::a", description="v2")
        await watcher.barrier()
        await svc.register_function("svc::b")
        # The next event is the one for svc::b: the description change alone fired nothing.
        event = await next_event(watcher, "watch::functions")
        ids = {r["function_id"] for r in event["data"]["functions"]}
        assert "svc::b" in ids
