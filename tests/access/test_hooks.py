"""Registration gates, hooks with silent deny (protocol.md 8.5) and function prefixes (8.6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_sdk.errors import InvocationError
from tests.access.support import Recorder, guarded_engine, trusted_worker
from tests.raw_client import RawWorker, open_raw

RBAC = {
    "rbac": {
        "auth_function_id": "auth::check",
        "on_function_registration_function_id": "hook::fn",
        "on_trigger_registration_function_id": "hook::trigger",
        "on_trigger_type_registration_function_id": "hook::type",
        "expose_functions": ['match("*")'],
    }
}

SESSIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "types": {"allow_trigger_type_registration": True, "context": {"team": "a"}},
    "nofns": {"allow_function_registration": False},
    "limited": {"allowed_trigger_types": ["engine::functions-available"]},
    "prefixed": {"function_registration_prefix": "tenant"},
}


FUNCTION_HOOK: dict[str, Any] = {
    "keep::x": {},
    "fn": {},
    "rename::x": {"function_id": "renamed::x", "description": "new", "metadata": {"m": 1}},
    "deny::null": None,
    "deny::list": [1],
}


class Hooks:
    def __init__(self) -> None:
        self.calls = Recorder()

    def auth(self, payload: dict[str, Any]) -> Any:
        return SESSIONS[payload["query_params"]["who"][0]]

    def on_function(self, payload: dict[str, Any]) -> Any:
        self.calls.put(("fn", payload))
        if payload["function_id"] == "deny::error":
            raise InvocationError("HOOK", "denied")
        return FUNCTION_HOOK.get(payload["function_id"])

    def on_trigger(self, payload: dict[str, Any]) -> Any:
        self.calls.put(("trigger", payload))
        return {
            "t-keep": {},
            "t-rewrite": {"function_id": "keep::x", "config": {"c": 2}},
        }.get(payload["trigger_id"])

    def on_type(self, payload: dict[str, Any]) -> Any:
        self.calls.put(("type", payload))
        return {
            "type::keep": {},
            "type::rename": {"trigger_type_id": "type::renamed", "description": "d2"},
        }.get(payload["trigger_type_id"])


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Engine, Hooks]]:
    hooks = Hooks()
    functions = {
        "auth::check": hooks.auth,
        "hook::fn": hooks.on_function,
        "hook::trigger": hooks.on_trigger,
        "hook::type": hooks.on_type,
    }
    async with guarded_engine(RBAC) as engine, trusted_worker(engine, functions):
        yield engine, hooks


async def guest(engine: Engine, who: str) -> RawWorker:
    """A raw session on the guarded listener; it declares its namespace (``default``) first,
    so its registrations are not held for the grace period."""
    raw = await open_raw(engine.worker_urls[1], path=f"/?who={who}")
    raw.worker_id = (await raw.recv("workerregistered"))["worker_id"]
    assert (await raw.register_worker(f"guest-{who}"))["result"] == {"success": True}
    return raw


async def test_function_hook_allows_rewrites_and_silently_denies(
    setup: tuple[Engine, Hooks],
) -> None:
    engine, hooks = setup
    raw = await guest(engine, "plain")
    try:
        for function_id in ("keep::x", "rename::x", "deny::null", "deny::error", "deny::list"):
            await raw.send(
                {
                    "type": "registerfunction",
                    "id": function_id,
                    "description": "old",
                    "metadata": {"m": 0},
                }
            )
        await raw.barrier()
        kind, payload = await hooks.calls.next()
        assert (kind, payload) == (
            "fn",
            {
                "function_id": "keep::x",
                "description": "old",
                "metadata": {"m": 0},
                "namespace": "default",
                "context": {},
            },
        )
        functions = engine.functions
        assert functions.get("default", "keep::x") is not None
        renamed = functions.get("default", "renamed::x")
        assert renamed is not None and renamed.description == "new"
        assert bytes(renamed.metadata) == b'{"m":1}'  # type: ignore[arg-type]
        for gone in ("rename::x", "deny::null", "deny::error", "deny::list"):
            assert functions.get("default", gone) is None
        assert raw.inbox == []  # silent: nothing was sent to the worker
    finally:
        await raw.close()


async def test_function_registration_gate(setup: tuple[Engine, Hooks]) -> None:
    engine, hooks = setup
    raw = await guest(engine, "nofns")
    try:
        await raw.send({"type": "registerfunction", "id": "keep::x"})
        await raw.barrier()
        assert engine.functions.get("default", "keep::x") is None
        assert hooks.calls.queue.empty()  # the gate runs before the hook
        assert raw.inbox == []
    finally:
        await raw.close()


async def test_trigger_type_gate_and_hook(setup: tuple[Engine, Hooks]) -> None:
    engine, hooks = setup
    plain, types = await guest(engine, "plain"), await guest(engine, "types")
    try:
        # An authenticated session may not register trigger types unless its result says so.
        await plain.send({"type": "registertriggertype", "id": "type::keep", "description": "d"})
        await plain.barrier()
        assert ("default", "type::keep") not in engine.triggers.types
        assert hooks.calls.queue.empty()
        for type_id in ("type::keep", "type::rename", "type::deny"):
            await types.send({"type": "registertriggertype", "id": type_id, "description": "d"})
        await types.barrier()
        _kind, payload = await hooks.calls.next()
        assert payload == {
            "trigger_type_id": "type::keep",
            "description": "d",
            "context": {"team": "a"},
        }
        assert ("default", "type::keep") in engine.triggers.types
        renamed = engine.triggers.types[("default", "type::renamed")]
        assert renamed.provider.description == "d2"
        assert ("default", "type::rename") not in engine.triggers.types
        assert ("default", "type::deny") not in engine.triggers.types
    finally:
        await plain.close()
        await types.close()


def trigger_frame(
    trigger_id: str, trigger_type: str = "engine::functions-available"
) -> dict[str, Any]:
    return {
        "type": "registertrigger",
        "id": trigger_id,
        "trigger_type": trigger_type,
        "function_id": "target::fn",
        "config": {"c": 1},
    }


async def test_trigger_hook_and_allowed_trigger_types(setup: tuple[Engine, Hooks]) -> None:
    engine, hooks = setup
    plain, limited = await guest(engine, "plain"), await guest(engine, "limited")
    try:
        for trigger_id in ("t-keep", "t-rewrite", "t-deny"):
            await plain.send(trigger_frame(trigger_id))
        await plain.barrier()
        _kind, payload = await hooks.calls.next()
        assert payload == {
            "trigger_id": "t-keep",
            "trigger_type": "engine::functions-available",
            "function_id": "target::fn",
            "config": {"c": 1},
            "metadata": None,
            "namespace": "default",
            "context": {},
        }
        bindings = {**engine.triggers.live, **engine.triggers.parked}
        assert bindings["t-keep"].function_id == "target::fn"
        assert (bindings["t-rewrite"].function_id, bindings["t-rewrite"].config) == (
            "keep::x",
            {"c": 2},
        )
        assert "t-deny" not in bindings
        assert plain.inbox == []

        await limited.send(trigger_frame("t-other", "other::type"))
        await limited.send(trigger_frame("t-keep2"))
        await limited.barrier()
        bindings = {**engine.triggers.live, **engine.triggers.parked}
        assert "t-other" not in bindings
    finally:
        await plain.close()
        await limited.close()


async def test_function_registration_prefix(setup: tuple[Engine, Hooks]) -> None:
    engine, hooks = setup
    raw = await guest(engine, "prefixed")
    try:
        await raw.send({"type": "registerfunction", "id": "fn"})
        await raw.send(
            {"type": "registertrigger", "id": "t-keep", "trigger_type": "x", "function_id": "fn"}
        )
        await raw.barrier()
        _kind, payload = await hooks.calls.next()
        assert payload["function_id"] == "fn"  # the hook sees the id as sent
        assert engine.functions.get("default", "fn") is None
        assert engine.functions.get("default", "tenant::fn") is not None
        bindings = {**engine.triggers.live, **engine.triggers.parked}
        assert bindings["t-keep"].function_id == "tenant::fn"
        made = await raw.call_ok(
            "engine::register_trigger", {"trigger_type": "x", "function_id": "fn", "config": {}}
        )
        bindings = {**engine.triggers.live, **engine.triggers.parked}
        assert bindings[made["id"]].function_id == "tenant::fn"

        async with trusted_worker(engine, {}, name="caller") as caller:
            task = asyncio.ensure_future(caller.trigger("tenant::fn", {"n": 1}))
            invocation = await raw.invocation()
            assert invocation["function_id"] == "fn"  # delivered without the prefix
            await raw.reply(invocation, "served")
            assert await task == "served"

        await raw.send({"type": "unregisterfunction", "id": "fn"})
        await raw.barrier()
        assert engine.functions.get("default", "tenant::fn") is None
    finally:
        await raw.close()


async def test_registrations_wait_for_the_namespace_and_hooks_see_it(
    setup: tuple[Engine, Hooks],
) -> None:
    engine, hooks = setup
    raw = await open_raw(engine.worker_urls[1], path="/?who=plain")
    try:
        await raw.recv("workerregistered")
        await raw.send({"type": "registerfunction", "id": "keep::x"})
        await raw.barrier()
        assert engine.functions.get("default", "keep::x") is None  # held (protocol.md 2.4)
        assert hooks.calls.queue.empty()
        assert (await raw.register_worker("late", namespace="team-a"))["result"]["success"]
        _kind, payload = await hooks.calls.next()
        assert payload["namespace"] == "team-a"
        assert engine.functions.get("team-a", "keep::x") is not None
        assert engine.functions.get("default", "keep::x") is None
    finally:
        await raw.close()


async def test_without_a_declaration_the_grace_period_files_them_in_default() -> None:
    functions = {"auth::check": lambda p: {}}
    async with (
        guarded_engine(RBAC_NO_HOOKS, grace_ms=0) as engine,
        trusted_worker(engine, functions),
    ):
        raw = await open_raw(engine.worker_urls[1])  # reads workerregistered
        try:
            await raw.register_function("quiet::fn")  # never declares a namespace
            assert engine.functions.get("default", "quiet::fn") is not None
        finally:
            await raw.close()


RBAC_NO_HOOKS = {"rbac": {"auth_function_id": "auth::check"}}
