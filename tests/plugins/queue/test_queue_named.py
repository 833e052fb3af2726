"""Named queues end to end: the enqueue action, retries with backoff, dead letters, redrive.

The engine's iii-queue runs on a manual clock: a retry happens exactly when the test moves time
past its backoff, never before, so nothing here sleeps or races a timer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import pytest

from iii_engine.engine import Engine
from iii_sdk.worker import Worker
from plugins.queue.clock import ManualClock
from tests.plugins.queue.queue_helpers import Inbox, counts, enqueue, expect_error, until

ConnectWorker = Callable[..., Awaitable[Worker]]


async def test_enqueue_answers_a_receipt_and_runs_the_job(
    queue_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    inbox = Inbox()
    worker.register_function("jobs::send", inbox)
    receipt = await enqueue(worker, "default", "jobs::send", {"to": "a@b.c"})
    assert uuid.UUID(receipt).version == 4
    assert await inbox.next() == {"to": "a@b.c"}


async def test_bad_enqueues_are_refused_and_store_nothing(
    queue_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    action = {"type": "enqueue", "queue": "nope"}
    error = await expect_error(worker, "jobs::x", {}, action=action)
    assert error.code == "enqueue_error"
    assert "Queue 'nope' not found" in error.message

    action = {"type": "enqueue", "queue": "orders"}
    error = await expect_error(worker, "jobs::x", {"item": 1}, action=action)
    assert "FIFO queue 'orders' requires field 'customer' in data, but it was not found" in (
        error.message
    )
    error = await expect_error(worker, "jobs::x", {"customer": None}, action=action)
    assert "must not be null" in error.message

    big = {"customer": "c", "blob": "x" * 2000}
    error = await expect_error(worker, "jobs::x", big, action=action)
    assert "exceeds the limit of 1024 bytes" in error.message
    direct = await expect_error(
        worker, "engine::queue::enqueue", {"queue": "default", "function_id": "f", "data": big}
    )
    assert direct.code == "message_too_large"
    assert await counts(worker, "orders") == {"waiting": 0, "in_flight": 0, "dead_lettered": 0}


async def test_retries_back_off_then_dead_letter_then_redrive(
    queue_engine: Engine, iii_worker: ConnectWorker, clock: ManualClock
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    healthy = False
    attempts: list[float] = []  # the (manual) time of each attempt

    async def flaky(payload: object) -> None:
        attempts.append(clock.now())
        if not healthy:
            raise RuntimeError(f"failing on purpose: {payload}")

    worker.register_function("jobs::flaky", flaky)

    async def attempted(n: int) -> bool:
        return len(attempts) >= n

    receipt = await enqueue(worker, "retrying", "jobs::flaky", {"n": 1})

    async def retry_armed() -> bool:
        # The failure is stored (nothing in flight) and its retry timer armed (the attempt's
        # own timeout timer is cancelled before the failure is recorded).
        idle = await counts(worker, "retrying") == {
            "waiting": 1,
            "in_flight": 0,
            "dead_lettered": 0,
        }
        return idle and clock.next_deadline() is not None

    # Time moves only while the queue is idle, straight to the retry timer: moving it while
    # a failure or a retry is under way would shift the attempts' times by however far it moved.
    for n in (2, 3):
        await until(partial(attempted, n - 1), f"attempt {n - 1}")
        await until(retry_armed, f"the retry timer after attempt {n - 1}")
        due = clock.next_deadline()
        assert due is not None
        clock.advance(due - clock.now())
        await until(partial(attempted, n), f"attempt {n}")
    # backoff 1 s then 2 s
    assert attempts[1] - attempts[0] == pytest.approx(1.0)
    assert attempts[2] - attempts[1] == pytest.approx(2.0)

    async def dead_letters() -> list[dict[str, object]]:
        return await worker.trigger("engine::queue::dlq_messages", {"topic": "retrying"})

    # The third failure reaches the queue just after the handler returned.
    [letter] = await until(dead_letters, "the dead letter")
    assert letter["id"] == receipt
    assert letter["payload"] == {"n": 1}
    assert letter["retries"] == 3
    assert "failing on purpose" in letter["error"]
    assert isinstance(letter["failed_at"], int)
    assert letter["size_bytes"] == len(b'{"n":1}')
    assert await worker.trigger("engine::queue::dlq_topics", {}) == [
        {"topic": "retrying", "broker_type": "function_queue", "message_count": 1}
    ]
    stats = await worker.trigger("engine::queue::topic_stats", {"topic": "retrying"})
    assert stats == {"depth": 0, "consumer_count": 4, "dlq_depth": 1, "config": None}

    healthy = True
    assert await worker.trigger("iii::queue::redrive", {"queue": "retrying"}) == {
        "queue": "retrying",
        "redriven": 1,
    }
    await until(lambda: attempted(4), "the redriven attempt")
    assert len(attempts) == 4


async def test_redrive_and_discard_one_message(
    queue_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    healthy = False
    inbox = Inbox(fail=lambda _: not healthy)
    worker.register_function("jobs::once", inbox)
    first = await enqueue(worker, "once", "jobs::once", {"n": 1})
    second = await enqueue(worker, "once", "jobs::once", {"n": 2})
    await inbox.next()
    await inbox.next()

    async def both_dead() -> bool:
        return (await counts(worker, "once"))["dead_lettered"] == 2

    await until(both_dead, "two dead letters")
    healthy = True
    one = {"queue": "once", "message_id": first}
    assert await worker.trigger("iii::queue::redrive_message", one) == {**one, "redriven": 1}
    assert await inbox.next() == {"n": 1}
    two = {"queue": "once", "message_id": second}
    assert await worker.trigger("iii::queue::discard_message", two) == {**two, "redriven": 0 + 1}
    assert await worker.trigger("iii::queue::discard_message", two) == {**two, "redriven": 0}

    async def empty() -> bool:  # the redriven job's ack lands after its handler answered
        return await counts(worker, "once") == {"waiting": 0, "in_flight": 0, "dead_lettered": 0}

    await until(empty, "the redriven job to complete")


async def test_missing_function_is_retried_then_dead_lettered_with_the_reason(
    queue_engine: Engine, iii_worker: ConnectWorker, clock: ManualClock
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    await enqueue(worker, "once", "jobs::nobody", {"n": 1})

    async def dead_letters() -> list[dict[str, object]]:
        clock.advance(0.01)  # past the 10 ms backoff, whenever the first failure landed
        return await worker.trigger("engine::queue::dlq_messages", {"queue": "once"})

    [letter] = await until(dead_letters, "the dead letter")
    assert letter["retries"] == 1
    assert str(letter["error"]).startswith("function_not_found")


async def test_a_handler_that_never_answers_times_out_into_a_retry(
    queue_engine: Engine, iii_worker: ConnectWorker, clock: ManualClock
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    started = Inbox()
    never = asyncio.Event()

    async def hang(payload: object) -> None:
        await started(payload)
        if started.calls == 1:
            await never.wait()  # the first attempt never answers

    worker.register_function("jobs::hang", hang)
    await enqueue(worker, "slow", "jobs::hang", {"n": 1})
    assert await started.next() == {"n": 1}
    clock.advance(0.499)
    assert (await counts(worker, "slow"))["in_flight"] == 1
    assert started.calls == 1
    clock.advance(0.001)  # timeout_ms 500: attempt 1 fails, retried after 10 ms

    async def second_attempt() -> bool:
        clock.advance(0.01)
        return started.calls == 2

    await until(second_attempt, "the retry")
    never.set()

    async def done() -> bool:
        return await counts(worker, "slow") == {"waiting": 0, "in_flight": 0, "dead_lettered": 0}

    await until(done, "the retry to succeed")


async def test_error_codes_of_the_admin_functions(
    queue_engine: Engine, iii_worker: ConnectWorker
) -> None:
    worker = await iii_worker(queue_engine, name="w")
    cases = [
        ("iii::durable::publish", {"topic": "", "data": 1}, "topic_not_set", "Topic is not set"),
        ("iii::queue::redrive", {}, "queue_not_set", "Queue is not set"),
        ("iii::queue::redrive_message", {"queue": "q"}, "message_id_not_set", None),
        ("iii::queue::discard_message", {"message_id": "m"}, "queue_not_set", None),
        ("engine::queue::topic_stats", {}, "topic_required", None),
        ("engine::queue::dlq_messages", {}, "topic_required", None),
    ]
    for function_id, payload, code, message in cases:
        error = await expect_error(worker, function_id, payload)
        assert error.code == code, function_id
        if message:
            assert error.message == message
    topics = await worker.trigger("engine::queue::list_topics", {})
    assert {"name": "default", "broker_type": "function_queue", "subscriber_count": 10} in topics
