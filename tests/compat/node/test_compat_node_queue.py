"""The official Node SDK with iii-queue: ``TriggerAction.Enqueue``, retries, durable topics."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine

pytestmark = pytest.mark.compat

QUEUE = {
    "name": "iii-queue",
    "config": {
        "adapter": {"name": "memory"},
        "queue_configs": {"retry": {"max_retries": 2, "backoff_ms": 10}},
    },
}


@pytest.fixture
async def queue_engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=[QUEUE]) as running:
        yield running


async def test_node_enqueues_and_runs_jobs(
    queue_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(queue_engine, "queue.mjs")
    ours = await iii_worker(queue_engine, name="ours")
    request = {"queue": "default", "function_id": "node::job", "data": {"order": 1}}
    receipt = await ours.trigger("node::enqueue", request)
    assert uuid.UUID(receipt["messageReceiptId"]).version == 4
    assert json.loads(await worker.expect("JOB")) == {"order": 1}

    request = {"queue": "retry", "function_id": "node::flaky", "data": {"id": "x"}}
    await ours.trigger("node::enqueue", request)
    assert json.loads(await worker.expect("FLAKY")) == {"id": "x", "first": True}
    assert json.loads(await worker.expect("FLAKY")) == {"id": "x", "first": False}

    missing = {"queue": "nope", "function_id": "node::job", "data": {}}
    with pytest.raises(Exception, match="Queue 'nope' not found"):
        await ours.trigger("node::enqueue", missing)


async def test_node_durable_subscriber_gets_published_data(
    queue_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(queue_engine, "queue.mjs")
    ours = await iii_worker(queue_engine, name="ours")
    await ours.trigger("iii::durable::publish", {"topic": "node-orders", "data": {"id": 9}})
    assert json.loads(await worker.expect("DURABLE")) == {"id": 9}
