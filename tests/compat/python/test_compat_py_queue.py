"""The ``enqueue`` action and ``durable:subscriber`` with the built-in iii-queue (decisions 2.3)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from iii import TriggerAction

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.compat.support import (
    Inbox,
    OfficialFactory,
    eventually,
    official_call,
    wait_for_binding,
    wait_for_functions,
)

pytestmark = [pytest.mark.compat]

QUEUE = {
    "name": "iii-queue",
    "config": {
        "adapter": {"name": "memory"},
        "queue_configs": {"once": {"max_retries": 1, "backoff_ms": 0}},
    },
}


@pytest.fixture
async def queue_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[QUEUE]) as running:
        yield running


async def test_official_enqueue_returns_a_receipt_and_runs_the_job(
    queue_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(queue_engine, "official-enqueuer")
    jobs = Inbox()
    client.register_function("offpy::job", jobs.put)
    await wait_for_functions(queue_engine, "offpy::job", "engine::queue::enqueue")

    receipt = await official_call(
        client, "offpy::job", {"order": 7}, action=TriggerAction.Enqueue(queue="default")
    )
    assert set(receipt) == {"messageReceiptId"}
    assert uuid.UUID(receipt["messageReceiptId"]).version == 4
    assert await jobs.get() == {"order": 7}


async def test_durable_subscriber_gets_published_data(
    queue_engine: Engine, official: OfficialFactory, iii_worker: Any
) -> None:
    client = await official(queue_engine, "official-durable-sub")
    messages = Inbox()
    client.register_function("offpy::on_order", messages.put)
    client.register_trigger(
        {
            "type": "durable:subscriber",
            "function_id": "offpy::on_order",
            "config": {"topic": "orders"},
        }
    )
    await wait_for_binding(queue_engine, "offpy::on_order")
    ours = await iii_worker(queue_engine, name="ours")

    await ours.trigger("iii::durable::publish", {"topic": "orders", "data": {"id": 1}})
    assert await messages.get() == {"id": 1}


async def test_official_dead_letter_and_redrive(
    queue_engine: Engine, official: OfficialFactory
) -> None:
    client = await official(queue_engine, "official-dlq")
    attempts = Inbox()
    healthy: list[bool] = []

    def job(data: Any) -> None:
        attempts.put(data)
        if not healthy:
            raise RuntimeError("not yet")

    client.register_function("offpy::fragile", job)
    await wait_for_functions(queue_engine, "offpy::fragile", "engine::queue::enqueue")
    action = TriggerAction.Enqueue(queue="once")
    receipt = await official_call(client, "offpy::fragile", {"n": 1}, action=action)
    assert await attempts.get() == {"n": 1}

    async def dead() -> list[Any]:
        rows: list[Any] = await official_call(
            client, "engine::queue::dlq_messages", {"queue": "once"}
        )
        return rows

    [letter] = await eventually(dead, "the dead letter")
    assert letter["id"] == receipt["messageReceiptId"]
    assert "not yet" in letter["error"]
    healthy.append(True)
    redriven = await official_call(client, "iii::queue::redrive", {"queue": "once"})
    assert redriven == {"queue": "once", "redriven": 1}
    assert await attempts.get() == {"n": 1}
