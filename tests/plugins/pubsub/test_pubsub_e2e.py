"""iii-pubsub end to end: a real engine, real SDK workers, publish and subscribe over the wire.

Ordering note: a worker's frames are applied by the engine in the order sent, and the engine
sends a worker's invocations in order, so "publish X then publish Y; the first delivery is Y"
proves X was not delivered, without waiting for an absence.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker

ConnectWorker = Callable[..., Awaitable[Worker]]


class Inbox:
    """A function handler recording each delivery's payload and metadata."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()

    async def __call__(self, payload: Any, metadata: Any = None) -> None:
        self.queue.put_nowait((payload, metadata))

    async def next(self) -> Any:
        payload, _ = await asyncio.wait_for(self.queue.get(), 10)
        return payload


def topic() -> str:
    return f"topic-{uuid.uuid4()}"


@pytest.fixture
async def pubsub_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[{"name": "iii-pubsub"}]) as engine:
        yield engine


async def test_subscriber_gets_the_raw_data_without_metadata(
    pubsub_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(pubsub_engine, name="w1")
    inbox = Inbox()
    t = topic()
    worker.register_function("test::on_message", inbox)
    worker.register_trigger("subscribe", "test::on_message", {"topic": t}, metadata={"m": 1})
    assert (
        await worker.trigger("publish", {"topic": t, "data": {"message": "Hello PubSub!"}}) is None
    )
    payload, metadata = await asyncio.wait_for(inbox.queue.get(), 10)
    assert payload == {"message": "Hello PubSub!"}
    assert metadata is None
    # Any JSON value is delivered as is, also when published from inside the engine.
    await pubsub_engine.invoke("publish", {"topic": t, "data": [1, "two", None]})
    assert await inbox.next() == [1, "two", None]


async def test_topics_are_isolated(pubsub_engine: Engine, iii_worker: ConnectWorker) -> None:
    worker = await iii_worker(pubsub_engine, name="w2")
    inbox_a, inbox_b = Inbox(), Inbox()
    topic_a, topic_b = topic(), topic()
    worker.register_function("test::a", inbox_a)
    worker.register_function("test::b", inbox_b)
    worker.register_trigger("subscribe", "test::a", {"topic": topic_a})
    worker.register_trigger("subscribe", "test::b", {"topic": topic_b})
    await worker.trigger("publish", {"topic": topic_b, "data": "for b"})
    await worker.trigger("publish", {"topic": topic_a, "data": "for a"})
    assert await inbox_a.next() == "for a"
    assert await inbox_b.next() == "for b"
    # Publishing to a topic nobody subscribes to is a no-op.
    assert await worker.trigger("publish", {"topic": topic(), "data": 1}) is None


async def test_every_subscriber_gets_every_message_once(
    pubsub_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(pubsub_engine, name="w3")
    other = await iii_worker(pubsub_engine, name="w4")
    t = topic()
    inboxes = [Inbox() for _ in range(3)]
    worker.register_function("test::s0", inboxes[0])
    worker.register_function("test::s1", inboxes[1])
    other.register_function("test::s2", inboxes[2])
    worker.register_trigger("subscribe", "test::s0", {"topic": t})
    worker.register_trigger("subscribe", "test::s1", {"topic": t})
    other.register_trigger("subscribe", "test::s2", {"topic": t})
    publisher = await iii_worker(pubsub_engine, name="w5")
    # `other` registered on its own socket: wait until its binding is live before publishing.
    await _wait_for_bindings(publisher, "test::s2", 1)
    await publisher.trigger("publish", {"topic": t, "data": 1})
    await publisher.trigger("publish", {"topic": t, "data": 2})
    for inbox in inboxes:
        assert [await inbox.next(), await inbox.next()] == [1, 2]


async def test_unsubscribing_one_keeps_the_others(
    pubsub_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(pubsub_engine, name="w6")
    t, probe = topic(), topic()
    gone, kept = Inbox(), Inbox()
    worker.register_function("test::gone", gone)
    worker.register_function("test::kept", kept)
    handle = worker.register_trigger("subscribe", "test::gone", {"topic": t})
    worker.register_trigger("subscribe", "test::gone", {"topic": probe})
    worker.register_trigger("subscribe", "test::kept", {"topic": t})
    await worker.trigger("publish", {"topic": t, "data": "before"})
    assert await gone.next() == "before"
    assert await kept.next() == "before"
    handle.unregister()
    await worker.trigger("publish", {"topic": t, "data": "after"})
    await worker.trigger("publish", {"topic": probe, "data": "probe"})
    assert await kept.next() == "after"
    assert await gone.next() == "probe"


async def test_empty_topic_is_rejected(pubsub_engine: Engine, iii_worker: ConnectWorker) -> None:
    worker = await iii_worker(pubsub_engine, name="w7")
    for payload in ({"topic": "", "data": 1}, {"data": 1}):
        with pytest.raises(InvocationError) as info:
            await worker.trigger("publish", payload)
        assert info.value.code == "topic_not_set"
        assert info.value.message == "Topic is not set"


async def test_subscribe_without_topic_is_accepted_and_inert(
    pubsub_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(pubsub_engine, name="w8")
    inbox = Inbox()
    t = topic()
    worker.register_function("test::no_topic", inbox)
    handle = worker.register_trigger("subscribe", "test::no_topic", {})
    worker.register_trigger("subscribe", "test::no_topic", {"topic": t})
    await _wait_for_bindings(worker, "test::no_topic", 2)
    assert handle.error is None
    await worker.trigger("publish", {"topic": t, "data": "only once"})
    await worker.trigger("publish", {"topic": t, "data": "second"})
    assert [await inbox.next(), await inbox.next()] == ["only once", "second"]


async def test_condition_function_is_honoured(
    pubsub_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(pubsub_engine, name="w9")
    inbox = Inbox()
    t = topic()
    worker.register_function("test::cond", lambda p: p["ok"])
    worker.register_function("test::guarded", inbox)
    worker.register_trigger(
        "subscribe", "test::guarded", {"topic": t, "condition_function_id": "test::cond"}
    )
    for n, ok in ((1, False), (2, True), (3, False), (4, True)):
        await worker.trigger("publish", {"topic": t, "data": {"n": n, "ok": ok}})
    got = {(await inbox.next())["n"], (await inbox.next())["n"]}
    assert got == {2, 4}


async def _wait_for_bindings(worker: Worker, function_id: str, count: int) -> None:
    """Poll the engine's binding list (bounded) until ``count`` bindings target ``function_id``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        rows = (
            await worker.trigger("engine::registered-triggers::list", {"function_id": function_id})
        )["registered_triggers"]
        if len([r for r in rows if r["function_id"] == function_id]) >= count:
            return
        assert loop.time() < deadline, f"bindings of {function_id} did not appear"
        await asyncio.sleep(0.01)


@pytest.mark.redis
async def test_redis_adapter_fans_out_across_engines(
    redis_url: str, iii_worker: ConnectWorker
) -> None:
    entry = {
        "name": "iii-pubsub",
        "config": {"adapter": {"name": "redis", "config": {"redis_url": redis_url}}},
    }
    async with start_engine(workers=[entry]) as one, start_engine(workers=[entry]) as two:
        on_one, on_two = (
            await iii_worker(one, name="w10"),
            await iii_worker(two, name="w11"),
        )
        inbox_one, inbox_two, inbox_two_b = Inbox(), Inbox(), Inbox()
        t = topic()
        on_one.register_function("test::one", inbox_one)
        on_two.register_function("test::two", inbox_two)
        on_two.register_function("test::two_b", inbox_two_b)
        on_one.register_trigger("subscribe", "test::one", {"topic": t})
        on_two.register_trigger("subscribe", "test::two", {"topic": t})
        on_two.register_trigger("subscribe", "test::two_b", {"topic": t})
        await _wait_for_bindings(on_one, "test::one", 1)
        await _wait_for_bindings(on_two, "test::two_b", 1)
        await on_one.trigger("publish", {"topic": t, "data": {"from": "one"}})
        await on_two.trigger("publish", {"topic": t, "data": {"from": "two"}})
        for inbox in (inbox_one, inbox_two, inbox_two_b):
            assert [await inbox.next(), await inbox.next()] == [{"from": "one"}, {"from": "two"}]


async def test_publish_and_subscribe_are_advertised(
    pubsub_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(pubsub_engine, name="w-info")
    info = await worker.trigger("engine::triggers::info", {"id": "subscribe"})
    assert info["worker_name"] == "iii-pubsub"
    assert info["configuration_schema"]["required"] == ["topic"]
    function = await worker.trigger("engine::functions::info", {"function_id": "publish"})
    assert set(function["request_schema"]["required"]) == {"topic", "data"}
