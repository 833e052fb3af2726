"""The ``file`` adapter (SQLite, the default) keeps jobs and dead letters across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError
from iii_sdk.worker import Worker
from tests.plugins.queue.queue_helpers import Inbox, counts, enqueue, until

ConnectWorker = Callable[..., Awaitable[Worker]]

UPSTREAM = {"name": "builtin", "config": {"store_method": "file_based", "file_path": "./data/q"}}


def entry(adapter: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "queue_configs": {"one": {"concurrency": 1, "max_retries": 1, "backoff_ms": 0}}
    }
    if adapter is not None:
        config["adapter"] = adapter
    return {"name": "queue", "config": config}  # the short alias


@pytest.mark.parametrize("adapter", [None, UPSTREAM], ids=["default", "upstream-builtin"])
async def test_waiting_in_flight_and_dead_jobs_survive_a_restart(
    tmp_path: Path, iii_worker: ConnectWorker, adapter: dict[str, Any] | None
) -> None:
    release = asyncio.Event()
    async with start_engine(workers=[entry(adapter)], base_dir=tmp_path) as engine:
        worker = await iii_worker(engine, name="w1")
        started = Inbox()

        async def hold(payload: Any) -> None:
            await started(payload)
            await release.wait()

        worker.register_function("jobs::hold", hold)
        worker.register_function("jobs::boom", Inbox(fail=lambda _: True))
        dead = await enqueue(worker, "one", "jobs::boom", {"dead": True})
        await until(lambda: _dead(worker, 1), "the dead letter")
        for n in range(5):
            await enqueue(worker, "one", "jobs::hold", {"n": n})
        assert await started.next() == {"n": 0}
        assert await counts(worker, "one") == {"waiting": 4, "in_flight": 1, "dead_lettered": 1}
    release.set()
    expected = "queue.sqlite3" if adapter is None else "q/queue.sqlite3"
    assert (tmp_path / "data" / expected).exists()

    async with start_engine(workers=[entry(adapter)], base_dir=tmp_path) as engine:
        worker = await iii_worker(engine, name="w2")
        inbox = Inbox()
        worker.register_function("jobs::hold", inbox)
        assert [(await inbox.next())["n"] for _ in range(5)] == [0, 1, 2, 3, 4]
        [letter] = await worker.trigger("engine::queue::dlq_messages", {"queue": "one"})
        assert letter["id"] == dead
        assert letter["payload"] == {"dead": True}


async def _dead(worker: Worker, n: int) -> bool:
    return (await counts(worker, "one"))["dead_lettered"] == n


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"queue_configs": {"q": {"type": "lifo"}}}, r"queue_configs\.q\.type: type must be"),
        ({"queue_configs": {"q": {"type": "fifo"}}}, r"queue_configs\.q\.message_group_field"),
        ({"queue_configs": {"q": {"concurrency": 0}}}, r"queue_configs\.q\.concurrency"),
        ({"queue_configs": {"q": {"retries": 1}}}, r"queue_configs\.q\.retries: unknown key"),
        ({"adapter": {"name": "kafka"}}, r"adapter\.name: unknown queue adapter"),
        ({"adapter": {"name": "file", "config": {"file": 1}}}, r"adapter\.config\.file"),
    ],
)
async def test_bad_config_names_the_key(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"workers\[1\]\.config\." + message):
        async with start_engine(workers=[{"name": "iii-queue", "config": config}]):
            pass


async def test_a_topic_keeps_filling_its_subscriber_queues_across_a_restart(
    tmp_path: Path, iii_worker: ConnectWorker
) -> None:
    async with start_engine(workers=[entry()], base_dir=tmp_path) as engine:
        worker = await iii_worker(engine, name="w1")
        started = Inbox()
        never = asyncio.Event()

        async def hold(payload: Any) -> None:
            await started(payload)
            await never.wait()

        worker.register_function("t::h", hold)
        worker.register_trigger("durable:subscriber", "t::h", {"topic": "restart"})
        await worker.trigger("iii::durable::publish", {"topic": "restart", "data": 1})
        assert await started.next() == 1
    never.set()

    async with start_engine(workers=[entry()], base_dir=tmp_path) as engine:
        worker = await iii_worker(engine, name="w2")
        # Published before the subscriber is back: kept for it, not dropped.
        await worker.trigger("iii::durable::publish", {"topic": "restart", "data": 2})
        assert (await counts(worker, "restart"))["waiting"] == 2
        inbox = Inbox()
        worker.register_function("t::h", inbox)
        worker.register_trigger("durable:subscriber", "t::h", {"topic": "restart"})
        assert {await inbox.next(), await inbox.next()} == {1, 2}
