"""Reconnecting to a restarted engine: registrations are replayed."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from iii_engine.testing import start_engine
from iii_sdk import Worker
from iii_sdk.plugin import Trigger, TriggerType


class Provider(TriggerType):
    id = "beacon"
    description = "records deliveries"

    def __init__(self) -> None:
        self.bindings: asyncio.Queue[Trigger] = asyncio.Queue()

    async def register_trigger(self, trigger: Trigger) -> None:
        await self.bindings.put(trigger)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        pass


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_registrations_are_replayed_on_a_restarted_engine() -> None:
    provider = Provider()
    states: asyncio.Queue[str] = asyncio.Queue()
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(start_engine())
        worker = Worker(first.worker_url, name="survivor")
        stack.push_async_callback(worker.close)
        worker.add_connection_listener(states.put_nowait)
        worker.register_function("svc::hello", lambda p: f"hello {p['who']}")
        worker.register_trigger_type(provider)
        handle = worker.register_trigger("beacon", "svc::hello", {"x": 1})
        await worker.connect()
        assert await asyncio.wait_for(states.get(), 5) == "connected"
        first_id = worker.worker_id
        assert (await asyncio.wait_for(provider.bindings.get(), 5)).id == handle.id
        port = _port(first.worker_url)
        await first.stop()
        assert await asyncio.wait_for(states.get(), 5) == "disconnected"

        listener = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": port}}
        second = await stack.enter_async_context(start_engine(workers=[listener]))
        assert await asyncio.wait_for(states.get(), 10) == "connected"
        assert worker.worker_id != first_id
        # the binding comes back to the provider with the same id
        assert (await asyncio.wait_for(provider.bindings.get(), 5)).id == handle.id
        caller = Worker(second.worker_url, name="caller")
        stack.push_async_callback(caller.close)
        await caller.connect()
        await worker.trigger("engine::functions::list", {})  # the replay is applied
        assert await caller.trigger("svc::hello", {"who": "again"}) == "hello again"
        rows = await caller.trigger("engine::registered-triggers::list", {})
        ids: list[Any] = [row["id"] for row in rows["registered_triggers"]]
        assert handle.id in ids
