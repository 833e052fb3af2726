"""``durable:subscriber``: fan-out per function, competing bindings, conditions, the alias id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from iii_engine.engine import Engine
from iii_sdk.worker import Worker
from plugins.queue.clock import ManualClock
from tests.plugins.queue.queue_helpers import Inbox, counts, until

ConnectWorker = Callable[..., Awaitable[Worker]]


async def publish(worker: Worker, topic: str, data: Any) -> None:
    assert await worker.trigger("iii::durable::publish", {"topic": topic, "data": data}) is None


async def test_every_function_gets_every_message_once(
    queue_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    billing, shipping = Inbox(), Inbox()
    worker.register_function("orders::bill", billing)
    worker.register_function("orders::ship", shipping)
    worker.register_trigger("durable:subscriber", "orders::bill", {"topic": "order-events"})
    worker.register_trigger("durable:subscriber", "orders::bill", {"topic": "order-events"})
    worker.register_trigger("queue", "orders::ship", {"queue": "order-events"})  # the alias id
    for n in range(5):
        await publish(worker, "order-events", {"n": n})
    assert sorted([(await billing.next())["n"] for _ in range(5)]) == list(range(5))
    assert sorted([(await shipping.next())["n"] for _ in range(5)]) == list(range(5))

    async def drained() -> bool:
        return (await counts(worker, "order-events")) == {
            "waiting": 0,
            "in_flight": 0,
            "dead_lettered": 0,
        }

    await until(drained, "the topic to drain")
    assert billing.calls == 5  # two bindings of one function compete: each message once
    topics = await worker.trigger("engine::queue::list_topics", {})
    assert {"name": "order-events", "broker_type": "builtin", "subscriber_count": 3} in topics
    stats = await worker.trigger("engine::queue::topic_stats", {"topic": "order-events"})
    assert stats == {"depth": 0, "consumer_count": 3, "dlq_depth": 0, "config": None}


async def test_condition_false_skips_and_a_failing_condition_retries(
    queue_engine: Engine, iii_worker: ConnectWorker, clock: ManualClock
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    inbox = Inbox()
    checks: list[Any] = []

    def condition(payload: dict[str, Any]) -> bool:
        checks.append(payload)
        if payload.get("explode") and len(checks) == 1:
            raise RuntimeError("condition broke")
        return bool(payload.get("wanted"))

    worker.register_function("t::cond", condition)
    worker.register_function("t::handler", inbox)
    worker.register_trigger(
        "durable:subscriber",
        "t::handler",
        {
            "topic": "cond",
            "condition_function_id": "t::cond",
            "queue_config": {"maxRetries": 2, "backoffDelayMs": 100, "type": "fifo"},
        },
    )
    await publish(worker, "cond", {"explode": True, "wanted": True, "n": 1})
    await publish(worker, "cond", {"wanted": False, "n": 2})
    await publish(worker, "cond", {"wanted": True, "n": 3})

    async def retried() -> bool:
        clock.advance(0.1)
        return len(checks) >= 2

    await until(retried, "the condition to be retried")
    assert await inbox.next() == {"explode": True, "wanted": True, "n": 1}
    assert await inbox.next() == {"wanted": True, "n": 3}  # n=2 was skipped
    assert inbox.calls == 2


async def test_a_subscriber_that_went_away_gets_what_was_published_meanwhile(
    queue_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    inbox = Inbox()
    worker.register_function("t::h", inbox)
    handle = worker.register_trigger("durable:subscriber", "t::h", {"topic": "away"})
    await publish(worker, "away", 1)
    assert await inbox.next() == 1
    handle.unregister()
    other = Inbox()
    worker.register_function("t::other", other)
    worker.register_trigger("durable:subscriber", "t::other", {"topic": "away"})
    await publish(worker, "away", 2)
    assert await other.next() == 2

    async def kept() -> bool:
        return (await counts(worker, "away"))["waiting"] == 1  # t::h's copy waits

    await until(kept, "the absent subscriber's copy")
    assert inbox.queue.empty()
    worker.register_trigger("durable:subscriber", "t::h", {"topic": "away"})
    assert await inbox.next() == 2
