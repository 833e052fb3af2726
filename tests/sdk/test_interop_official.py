"""Our SDK and the official Python SDK (``iii-sdk``) on one engine, calling each other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_sdk import InvocationError, Worker
from iii_sdk.plugin import Trigger, TriggerType
from tests.compat.support import Inbox, OfficialFactory, official, official_call

__all__ = ["official"]  # the fixture, imported so pytest finds it here

pytestmark = pytest.mark.compat

Connect = Callable[..., Awaitable[Worker]]


async def wait_listed(worker: Worker, *ids: str) -> None:
    """Poll ``engine::functions::list`` (bounded): the official SDK signals no registration."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        rows = await worker.trigger("engine::functions::list", {})
        if set(ids) <= {r["function_id"] for r in rows["functions"]}:
            return
        assert loop.time() < deadline, f"{ids} never registered"
        await asyncio.sleep(0.02)


async def test_calls_both_ways(
    iii_engine: Engine, iii_worker: Connect, official: OfficialFactory
) -> None:
    theirs = await official(iii_engine, "official-worker")
    ours = await iii_worker(iii_engine, name="our-worker")

    def fail(payload: Any) -> None:
        raise ValueError("official handler failed")

    theirs.register_function("off::add", lambda p: {"sum": p["a"] + p["b"]})
    theirs.register_function("off::fail", fail)

    async def mul(payload: Any, metadata: Any) -> Any:
        return {"product": payload["a"] * payload["b"], "metadata": metadata}

    ours.register_function("ours::mul", mul)
    await wait_listed(ours, "off::add", "off::fail", "ours::mul")

    assert await ours.trigger("off::add", {"a": 2, "b": 3}) == {"sum": 5}
    answer = await official_call(theirs, "ours::mul", {"a": 4, "b": 5}, metadata={"m": 1})
    assert answer == {"product": 20, "metadata": {"m": 1}}
    with pytest.raises(InvocationError) as info:
        await ours.trigger("off::fail", {})
    assert info.value.code == "invocation_failed"
    assert "official handler failed" in info.value.message


async def test_official_binding_reaches_our_provider(
    iii_engine: Engine, iii_worker: Connect, official: OfficialFactory
) -> None:
    ours = await iii_worker(iii_engine, name="our-provider")
    bindings = Inbox()

    class Webhook(TriggerType):
        id = "webhook"
        description = "ours"

        async def register_trigger(self, trigger: Trigger) -> None:
            bindings.put(trigger)

        async def unregister_trigger(self, trigger: Trigger) -> None:
            bindings.put(("removed", trigger.id))

    ours.register_trigger_type(Webhook())
    await ours.trigger("engine::functions::list", {})
    theirs = await official(iii_engine, "official-registrant")
    got = Inbox()
    theirs.register_function("off::on_hook", got.put)
    handle = await asyncio.to_thread(
        theirs.register_trigger,
        {"type": "webhook", "function_id": "off::on_hook", "config": {"path": "/x"}},
    )
    binding: Trigger = await bindings.get()
    assert (binding.function_id, binding.config) == ("off::on_hook", {"path": "/x"})
    # our provider fires the binding; the official worker's handler receives it
    await ours.trigger(binding.function_id, {"event": 1}, metadata=binding.metadata)
    assert (await got.get())["event"] == 1
    await asyncio.to_thread(handle.unregister)
    assert await bindings.get() == ("removed", binding.id)
