"""Several namespaces on one engine (protocol.md 2.3-2.4): routing, discovery, grace period."""

from __future__ import annotations

from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
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
