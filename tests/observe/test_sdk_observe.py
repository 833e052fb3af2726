"""``Worker.observe``: our SDK's observers against the engine."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_sdk import ObserveRejected


async def test_observe_filters_deliver_max_fires_and_dispose(
    iii_engine: Engine, iii_worker: Any
) -> None:
    owner = await iii_worker(iii_engine, name="owner")
    owner.register_function("shop::charge", lambda p: {"charged": p["amount"]})
    watcher = await iii_worker(iii_engine, name="watcher")
    inputs: asyncio.Queue[Any] = asyncio.Queue()
    watcher.register_function("watch::inputs", inputs.put)
    observer = watcher.observe(
        "shop::charge",
        "watch::inputs",
        filters={"input.amount": {"$gte": 500}},
        deliver="input",
        max_fires=2,
    )
    async with asyncio.timeout(10):
        await observer.ready()
    assert observer.state == "active"
    for amount in (10, 600, 700, 800):
        await watcher.trigger("shop::charge", {"amount": amount})
    got = [await asyncio.wait_for(inputs.get(), 10) for _ in range(2)]
    assert got == [{"amount": 600}, {"amount": 700}]
    async with asyncio.timeout(10):
        with pytest.raises(ObserveRejected) as ended:
            await observer.ready()
    assert ended.value.code == "MAX_FIRES"
    assert observer.state == "disposed" and observer.fires == 2

    second = watcher.observe("shop::charge", "watch::inputs")
    async with asyncio.timeout(10):
        await second.ready()
    second.dispose()
    await watcher.trigger("shop::charge", {"amount": 900})
    assert inputs.empty()
    assert iii_engine.observe_frames.hub.get_info(second.id) is None


async def test_a_bad_filter_is_refused(iii_engine: Engine, iii_worker: Any) -> None:
    worker = await iii_worker(iii_engine, name="w")
    worker.register_function("app::a", lambda p: p)
    worker.register_function("app::b", lambda p: p)
    observer = worker.observe("app::a", "app::b", filters={"input.op": "insert"})
    async with asyncio.timeout(10):
        with pytest.raises(ObserveRejected) as refused:
            await observer.ready()
    assert refused.value.code == "INVALID_FILTER"
    assert observer.state == "error"


async def test_observers_are_replayed_after_a_reconnect(
    iii_engine: Engine, iii_worker: Any
) -> None:
    owner = await iii_worker(iii_engine, name="owner")
    owner.register_function("app::work", lambda p: "done")
    watcher = await iii_worker(iii_engine, name="watcher")
    seen: asyncio.Queue[Any] = asyncio.Queue()
    watcher.register_function("watch::work", seen.put)
    observer = watcher.observe("app::work", "watch::work")
    async with asyncio.timeout(10):
        await observer.ready()
    conn = iii_engine.workers.connections[watcher.worker_id or ""]
    states: asyncio.Queue[str] = asyncio.Queue()
    observer.on_change(lambda o: states.put_nowait(o.state))
    await conn.close(code=1012)  # the engine drops it; the worker reconnects and replays
    async with asyncio.timeout(10):
        while await states.get() != "active":
            pass
    await owner.trigger("app::work", {})
    envelope = await asyncio.wait_for(seen.get(), 10)
    assert envelope["observer_id"] == observer.id


async def test_calls_the_engine_makes_are_observed_too(iii_engine: Engine, iii_worker: Any) -> None:
    worker = await iii_worker(iii_engine, name="w")
    worker.register_function("app::double", lambda n: n * 2)
    seen: asyncio.Queue[Any] = asyncio.Queue()
    worker.register_function("watch::double", seen.put)
    observer = worker.observe("app::double", "watch::double", on="complete")
    async with asyncio.timeout(10):
        await observer.ready()
    assert await iii_engine.invoke("app::double", 21) == 42
    envelope = await asyncio.wait_for(seen.get(), 10)
    assert (envelope["input"], envelope["output"]) == (21, 42)
    assert envelope["caller"] == {"worker_name": "iii-engine"}
