"""FIFO queues: one group runs in order, one job at a time, retries included; groups run in
parallel."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_sdk.worker import Worker
from plugins.queue.clock import ManualClock
from tests.plugins.queue.conftest import manual_engine
from tests.plugins.queue.queue_helpers import Inbox, counts, enqueue, until

ConnectWorker = Callable[..., Awaitable[Worker]]


async def test_each_group_runs_in_order_one_at_a_time_while_groups_overlap(
    memory_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(memory_engine, name="w")
    seen: dict[str, list[int]] = {}
    running: dict[str, int] = {}
    bob_started = asyncio.Event()
    rng = random.Random(7)
    violations: list[str] = []

    async def handle(payload: dict[str, Any]) -> None:
        customer = payload["customer"]
        running[customer] = running.get(customer, 0) + 1
        if running[customer] > 1:
            violations.append(customer)
        if customer == "bob":
            bob_started.set()
        if customer == "ann" and payload["n"] == 0:
            await bob_started.wait()  # groups run in parallel, or this never returns
        for _ in range(rng.randrange(3)):
            await asyncio.sleep(0)
        seen.setdefault(customer, []).append(payload["n"])
        running[customer] -= 1

    worker.register_function("jobs::order", handle)
    customers = ["ann", "bob", "cid"]
    for n in range(30):
        for customer in customers:
            await enqueue(worker, "orders", "jobs::order", {"customer": customer, "n": n})

    async def all_done() -> bool:
        return sum(len(v) for v in seen.values()) == 90

    await until(all_done, "every order")
    assert violations == []
    assert seen == {c: list(range(30)) for c in customers}


async def test_a_failing_job_holds_its_group_until_its_retry_succeeds(
    memory_engine: Engine, iii_worker: ConnectWorker, clock: ManualClock
) -> None:
    worker = await iii_worker(memory_engine, name="w")
    failed_once: set[int] = set()

    def fail(payload: dict[str, Any]) -> bool:
        if payload["customer"] == "ann" and payload["n"] == 0 and 0 not in failed_once:
            failed_once.add(0)
            return True
        return False

    inbox = Inbox(fail=fail)
    worker.register_function("jobs::order", inbox)
    for n in range(3):
        await enqueue(worker, "orders", "jobs::order", {"customer": "ann", "n": n})
    await enqueue(worker, "orders", "jobs::order", {"customer": "bob", "n": 0})

    first = [await inbox.next(), await inbox.next()]
    assert {"customer": "ann", "n": 0} in first
    assert {"customer": "bob", "n": 0} in first
    await until(lambda: _waiting(worker, 3), "ann's failure to be recorded")
    assert inbox.queue.empty()  # ann 1 and 2 wait behind the retry of ann 0
    clock.advance(1.0)
    assert [await inbox.next() for _ in range(3)] == [
        {"customer": "ann", "n": 0},
        {"customer": "ann", "n": 1},
        {"customer": "ann", "n": 2},
    ]


async def _waiting(worker: Worker, n: int) -> bool:
    return (await counts(worker, "orders"))["waiting"] == n


@pytest.mark.redis
async def test_redis_fifo_runs_in_stream_order_and_retries_in_place(
    clock: ManualClock, redis_url: str, iii_worker: ConnectWorker
) -> None:
    prefix = f"fifo-{uuid.uuid4().hex[:8]}:"
    adapter = {"name": "redis", "config": {"redis_url": redis_url, "key_prefix": prefix}}
    async with manual_engine(clock, adapter) as engine:
        worker = await iii_worker(engine, name="w")
        failed: list[bool] = []

        def fail(payload: dict[str, Any]) -> bool:
            if payload == {"customer": "ann", "n": 0} and not failed:
                failed.append(True)
                return True
            return False

        inbox = Inbox(fail=fail)
        worker.register_function("jobs::order", inbox)
        for customer, n in (("ann", 0), ("ann", 1), ("bob", 0)):
            await enqueue(worker, "orders", "jobs::order", {"customer": customer, "n": n})
        assert await inbox.next() == {"customer": "ann", "n": 0}
        await until(lambda: _waiting(worker, 2), "the others to wait behind the retry")

        async def retry_armed() -> bool:
            # The failed job stays in flight while it waits in place, so the counts do not
            # show the failure: its 1 s backoff timer does (the attempt's own timeout timer,
            # 30 s out, is cancelled first). Moving time before it is armed would be lost.
            due = clock.next_deadline()
            return due is not None and due <= clock.now() + 1.0

        await until(retry_armed, "ann's retry to be scheduled")
        assert inbox.queue.empty()
        clock.advance(1.0)  # backoff_ms 1000: the retry runs in place, then the rest in order
        assert [await inbox.next() for _ in range(3)] == [
            {"customer": "ann", "n": 0},
            {"customer": "ann", "n": 1},
            {"customer": "bob", "n": 0},
        ]
