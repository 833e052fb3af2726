"""Several namespaces on one engine (protocol.md 2.3-2.4): routing, discovery, grace period."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from iii_sdk.plugin import TriggerType
from iii_sdk.worker import Worker
from tests.raw_client import open_raw


async def test_two_namespaces_on_one_engine(iii_engine: Engine, iii_worker: Any) -> None:
    team_a = await iii_worker(iii_engine, name="worker", namespace="team-a")
    team_a.register_function("svc::who", lambda p: "team-a")
    team_b = await iii_worker(iii_engine, name="worker", namespace="team-b")  # same name: ok
    team_b.register_function("svc::who", lambda p: "team-b")
    caller = await iii_worker(iii_engine, name="caller")
    # each worker's own call resolves in its namespace: a barrier for its registrations
    assert await team_a.trigger("svc::who", {}) == "team-a"
    assert await team_b.trigger("svc::who", {}) == "team-b"

    assert await caller.trigger("svc::who", {}, namespace="team-a") == "team-a"
    assert await caller.trigger("svc::who", {}, namespace="team-b") == "team-b"
    with pytest.raises(InvocationError) as caught:
        await caller.trigger("svc::who", {})
    assert caught.value.message == (
        "Function svc::who not found in namespace default. "
        "It is registered in namespace(s): team-a, team-b."
    )
    listing = await caller.trigger("engine::functions::list", {"prefix": "svc::"})
    assert sorted(r["namespace"] for r in listing["functions"]) == ["team-a", "team-b"]
    workers = await caller.trigger("engine::workers::list", {"search": "worker"})
    assert sorted(r["namespace"] for r in workers["workers"]) == ["team-a", "team-b"]
    assert ("team-a", "svc") in iii_engine.workers.services


async def test_moving_into_a_namespace_respects_ownership(
    iii_engine: Engine, iii_worker: Any
) -> None:
    owner = await iii_worker(iii_engine, name="owner", namespace="team-a")
    owner.register_function("svc::y", lambda p: "owner")
    assert await owner.trigger("svc::y", {}) == "owner"
    late = await open_raw(iii_engine.worker_url)
    try:
        await late.send({"type": "registerfunction", "id": "svc::y"})
        outcome = await late.register_worker("late", namespace="team-a")
        assert outcome["result"] == {"success": True}
        rejected = await late.recv("registrationrejected")
        assert rejected["code"] == "FUNCTION_NAMESPACE_CONFLICT"
        assert rejected["owner_worker_id"] == owner.worker_id
        assert iii_engine.functions.get("default", "svc::y") is None
        assert await owner.trigger("svc::y", {}) == "owner"
    finally:
        await late.close()


async def test_a_declaration_after_the_grace_period_is_ignored() -> None:
    async with start_engine("registration_namespace_grace_ms: 0\n") as engine:
        raw = await open_raw(engine.worker_url)
        try:
            await raw.register_function("svc::z")
            await raw.register_worker("slow", namespace="team-a")
            assert engine.functions.get("default", "svc::z") is not None
            assert engine.workers.connections[raw.worker_id].namespace == "default"
        finally:
            await raw.close()


async def test_iii_namespace_grace_ms_overrides_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from iii_engine.access.namespaces import grace_seconds

    assert grace_seconds(5000) == 5.0
    monkeypatch.setenv("III_NAMESPACE_GRACE_MS", "250")
    assert grace_seconds(5000) == 0.25


class Ticks(TriggerType):
    """A trigger type provided by a namespaced worker; records what it is asked to serve."""

    id = "ticks"
    description = "test trigger type"

    def __init__(self) -> None:
        self.bound: asyncio.Queue[str] = asyncio.Queue()

    async def register_trigger(self, trigger: Any) -> None:
        self.bound.put_nowait(f"{trigger.id}->{trigger.function_id}@{trigger.namespace}")

    async def unregister_trigger(self, trigger: Any) -> None:
        pass


async def test_trigger_types_follow_the_declared_namespace(
    iii_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "iii.access")
    ticks = Ticks()
    # registered before connecting: sent before engine::workers::register, so they are moved
    worker = Worker(iii_engine.worker_url, name="ticker", namespace="team-a")
    worker.register_trigger_type(ticks)
    worker.register_function("team::on-tick", lambda p: None)
    worker.register_trigger("ticks", "team::on-tick", {}, trigger_id="t1")
    async with worker:
        await check_moved(iii_engine, worker, ticks)
    assert "moving 1 function(s) and 1 trigger type(s)" in caplog.text


async def check_moved(iii_engine: Engine, worker: Worker, ticks: Ticks) -> None:
    assert await worker.trigger("team::on-tick", {}) is None  # registrations applied
    assert ("team-a", "ticks") in iii_engine.triggers.types
    assert ("default", "ticks") not in iii_engine.triggers.types
    async with asyncio.timeout(5):
        while True:  # the binding reaches the provider (again, after the move)
            if (await ticks.bound.get()).startswith("t1->team::on-tick"):
                break
    assert iii_engine.triggers.live["t1"].provider.key == ("team-a", "ticks")
