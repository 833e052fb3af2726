"""Triggers and trigger type providers hosted by SDK workers, through a real engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_sdk import Worker
from iii_sdk.plugin import Trigger, TriggerType

Connect = Callable[..., Awaitable[Worker]]


async def barrier(worker: Worker) -> None:
    """After this round trip every frame ``worker`` sent before is applied by the engine."""
    await worker.trigger("engine::functions::list", {})


class RecordingType(TriggerType):
    """A provider that records bindings; ``reject`` makes it refuse them."""

    description = "records its bindings"

    def __init__(self, type_id: str = "ticker", reject: str | None = None) -> None:
        self.id = type_id
        self.reject = reject
        self.bindings: asyncio.Queue[Trigger] = asyncio.Queue()
        self.removed: asyncio.Queue[Trigger] = asyncio.Queue()

    async def register_trigger(self, trigger: Trigger) -> None:
        if self.reject:
            raise ValueError(self.reject)
        await self.bindings.put(trigger)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        await self.removed.put(trigger)


async def test_provider_receives_binding_and_fires_it(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine, name="provider")
    consumer = await iii_worker(iii_engine, name="consumer")
    ticker = RecordingType()
    provider.register_trigger_type(ticker)
    await barrier(provider)
    fired: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_tick(payload: Any, metadata: Any) -> str:
        fired.set_result((payload, metadata))
        return "ticked"

    consumer.register_function("jobs::tick", on_tick)
    handle = consumer.register_trigger(
        "ticker", "jobs::tick", {"every_ms": 10}, metadata={"team": "ops"}
    )
    binding = await asyncio.wait_for(ticker.bindings.get(), 5)
    assert binding.id == handle.id
    assert binding.function_id == "jobs::tick"
    assert binding.config == {"every_ms": 10}
    assert binding.metadata == {"team": "ops"}
    assert binding.namespace == "default"
    # the provider fires the binding by invoking its function with the binding's metadata
    result = await provider.trigger(binding.function_id, {"tick": 1}, metadata=binding.metadata)
    assert result == "ticked"
    payload, metadata = await fired
    assert payload["tick"] == 1
    assert metadata == {"team": "ops"}


async def test_trigger_handle_unregister_reaches_provider(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    provider = await iii_worker(iii_engine)
    consumer = await iii_worker(iii_engine)
    ticker = RecordingType()
    provider.register_trigger_type(ticker)
    await barrier(provider)
    handle = consumer.register_trigger("ticker", "jobs::tick", None)
    binding = await asyncio.wait_for(ticker.bindings.get(), 5)
    assert binding.config is None
    handle.unregister()
    removed = await asyncio.wait_for(ticker.removed.get(), 5)
    assert removed.id == handle.id
    assert removed.config is None


async def test_rejected_binding_is_reported_to_the_registrant(
    iii_engine: Engine, iii_worker: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    provider = await iii_worker(iii_engine)
    consumer = await iii_worker(iii_engine)
    provider.register_trigger_type(RecordingType("picky", reject="config needs a path"))
    await barrier(provider)
    with caplog.at_level(logging.ERROR, logger="iii.sdk"):
        handle = consumer.register_trigger("picky", "jobs::tick", {})
        error = await asyncio.wait_for(handle.rejected(), 5)
    assert error.code == "trigger_registration_failed"
    assert "config needs a path" in error.message
    assert handle.error is error
    assert any(
        "config needs a path" in r.getMessage() and r.levelno == logging.ERROR
        for r in caplog.records
    )


async def test_binding_registered_before_provider_is_delivered_later(
    iii_engine: Engine, iii_worker: Connect
) -> None:
    consumer = await iii_worker(iii_engine)
    handle = consumer.register_trigger("late", "jobs::tick", {"n": 1})
    await barrier(consumer)
    provider = Worker(iii_engine.worker_url)
    late = RecordingType("late")
    provider.register_trigger_type(late)
    await provider.connect()
    try:
        binding = await asyncio.wait_for(late.bindings.get(), 5)
        assert (binding.id, binding.config) == (handle.id, {"n": 1})
    finally:
        await provider.close()
    # closing the provider stops its bindings locally
    assert (await asyncio.wait_for(late.removed.get(), 5)).id == handle.id


async def test_trigger_type_handle_unregister(iii_engine: Engine, iii_worker: Connect) -> None:
    provider = await iii_worker(iii_engine)
    ticker = RecordingType("gone-soon")
    handle = provider.register_trigger_type(ticker)
    await barrier(provider)
    listed = await provider.trigger("engine::triggers::list", {})
    assert "gone-soon" in [row["id"] for row in listed["triggers"]]
    handle.unregister()
    await barrier(provider)
    listed = await provider.trigger("engine::triggers::list", {})
    assert "gone-soon" not in [row["id"] for row in listed["triggers"]]


async def test_dict_form_of_register_trigger(iii_engine: Engine, iii_worker: Connect) -> None:
    provider = await iii_worker(iii_engine)
    ticker = RecordingType()
    provider.register_trigger_type(ticker)
    await barrier(provider)
    handle = provider.register_trigger(
        {"type": "ticker", "function_id": "jobs::x", "config": {"a": 1}}
    )
    binding = await asyncio.wait_for(ticker.bindings.get(), 5)
    assert (binding.id, binding.function_id, binding.config) == (handle.id, "jobs::x", {"a": 1})
