"""Two engines on one Redis share a queue; one is killed and the other finishes its jobs."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iii_sdk import Enqueue
from iii_sdk.worker import Worker
from tests.plugins.queue.engine_proc import EngineProcess

pytestmark = [pytest.mark.slow, pytest.mark.redis]

TOTAL = 1000
CONCURRENCY = 8


async def test_a_killed_engines_jobs_are_taken_over(tmp_path: Path, redis_url: str) -> None:
    adapter = {
        "name": "redis",
        "config": {
            "redis_url": redis_url,
            "key_prefix": f"shared-{uuid.uuid4().hex[:8]}:",
            "visibility_timeout_ms": 1000,
        },
    }
    queues = {"shared": {"concurrency": CONCURRENCY, "max_retries": 20, "backoff_ms": 50}}
    entry = {"name": "iii-queue", "config": {"adapter": adapter, "queue_configs": queues}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    engine_a = EngineProcess(tmp_path / "a", [entry])
    engine_b = EngineProcess(tmp_path / "b", [entry], args=("--log-level", "info"))
    await engine_a.start()
    await engine_b.start()
    runs: Counter[int] = Counter()
    by_engine: Counter[str] = Counter()
    halfway = asyncio.Event()
    done = asyncio.Event()

    def handler(name: str) -> Any:
        async def job(payload: dict[str, Any]) -> None:
            await asyncio.sleep(0.02)  # simulated work: jobs are in flight when A dies
            runs[payload["n"]] += 1
            by_engine[name] += 1
            if by_engine["a"] >= 50:
                halfway.set()
            if len(runs) == TOTAL:
                done.set()

        return job

    worker_a = Worker(engine_a.url, name="consumer-a")
    worker_b = Worker(engine_b.url, name="consumer-b")
    worker_a.register_function("shared::job", handler("a"))
    worker_b.register_function("shared::job", handler("b"))
    try:
        await worker_a.connect()
        await worker_b.connect()
        action = {"type": "enqueue", "queue": "shared"}

        async def produce() -> None:
            for n in range(TOTAL):
                await worker_b.trigger("shared::job", {"n": n}, action=action)

        producer = asyncio.ensure_future(produce())
        await asyncio.wait_for(halfway.wait(), 30)
        await engine_a.kill()  # with jobs in flight on A and more still being enqueued
        await producer
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await worker_a.close()
        await worker_b.close()
        await engine_a.stop()
        await engine_b.stop()
    duplicates = sum(count - 1 for count in runs.values())
    print(f"a ran {by_engine['a']}, b ran {by_engine['b']}, duplicates {duplicates}")
    assert set(runs) == set(range(TOTAL))
    assert any(b"took over" in line for line in engine_b.output)  # A's pending jobs
    assert duplicates <= CONCURRENCY  # only jobs engine A held when it died


async def test_a_cleanly_stopped_engine_leaves_no_consumer_behind(
    redis_url: str, iii_worker: Any
) -> None:
    import redis.asyncio as redis

    from iii_engine.testing import start_engine

    prefix = f"leave-{uuid.uuid4().hex[:8]}:"
    adapter = {"name": "redis", "config": {"redis_url": redis_url, "key_prefix": prefix}}
    stream = f"{prefix}s:q\x1fdefault"
    client = redis.Redis.from_url(redis_url)
    entry = {"name": "iii-queue", "config": {"adapter": adapter}}
    try:
        async with start_engine(workers=[entry]) as e:
            worker = await iii_worker(e, name="w")
            ran = asyncio.Event()
            worker.register_function("leave::job", lambda _: ran.set())
            await worker.trigger("leave::job", {}, action=Enqueue(queue="default"))
            await asyncio.wait_for(ran.wait(), 10)
            assert len(await client.xinfo_consumers(stream, "iii")) == 1  # the reader joined
        assert await client.xinfo_consumers(stream, "iii") == []
    finally:
        await client.aclose()
