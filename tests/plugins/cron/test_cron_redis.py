"""iii-cron's ``redis`` locks: several engines on one real redis-server fire each tick once."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import pytest

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from plugins.cron.adapters.redis_lock import RedisLock
from plugins.cron.clock import ManualClock
from tests.plugins.cron.conftest import cron_worker

pytestmark = pytest.mark.redis

TICKS = 20


def redis_entry(url: str) -> dict[str, Any]:
    return {
        "name": "iii-cron",
        "config": {"adapter": {"name": "redis", "config": {"redis_url": url}}},
    }


async def test_two_engines_fire_each_tick_exactly_once(
    redis_url: str, clock: ManualClock, connect_worker: Any
) -> None:
    fired: list[tuple[str, str]] = []
    async with AsyncExitStack() as stack:
        for name in ("a", "b"):
            engine = await stack.enter_async_context(start_engine(workers=[redis_entry(redis_url)]))
            cron_worker(engine).use_clock(clock)
            client: Worker = await connect_worker(engine, name=f"app-{name}")

            def record(payload: Any, engine_name: str = name) -> None:
                fired.append((engine_name, payload["scheduled_time"]))

            client.register_function("jobs::shared", record)
            # The same binding (same trigger id) on both engines, as N replicas would send it.
            client.register_trigger(
                "cron", "jobs::shared", {"expression": "* * * * * *"}, trigger_id="shared-job"
            )
        async with asyncio.timeout(5):
            await clock.sleepers_at_least(2)
        for _ in range(TICKS):
            deadline = clock.next_deadline()
            assert deadline is not None
            clock.set(deadline)
            # A tick is over when both engines' jobs sleep again (the handler was awaited).
            async with asyncio.timeout(5):
                await clock.sleepers_at_least(2)
    per_tick = Counter(scheduled for _, scheduled in fired)
    assert len(per_tick) == TICKS
    assert set(per_tick.values()) == {1}
    assert {engine for engine, _ in fired} <= {"a", "b"}


async def test_a_late_engine_cannot_run_a_tick_already_taken(redis_url: str) -> None:
    first, late = RedisLock(redis_url, 30_000), RedisLock(redis_url, 30_000)
    await first.open()
    await late.open()
    try:
        token = await first.acquire("job-late", 1_000)
        assert token is not None
        assert await late.acquire("job-late", 1_000) is None  # running elsewhere
        await first.release("job-late", token)
        # Released, but the tick stays claimed: the late engine skips it ...
        assert await late.acquire("job-late", 1_000) is None
        # ... and takes the next one.
        assert await late.acquire("job-late", 2_000) is not None
    finally:
        await first.close()
        await late.close()


async def test_running_job_blocks_other_engines_and_renews(redis_url: str) -> None:
    one, two = RedisLock(redis_url, 200), RedisLock(redis_url, 200)
    await one.open()
    await two.open()
    try:
        token = await one.acquire("job-busy", 5_000)
        assert token is not None
        # A tick the other engine reaches while the job runs is skipped (and stays skipped).
        assert await two.acquire("job-busy", 6_000) is None
        assert await one.renew("job-busy", token)
        assert not await two.renew("job-busy", "someone-else")
        await two.release("job-busy", "someone-else")  # compare-and-delete: not the owner
        assert await two.acquire("job-busy", 7_000) is None
        await one.release("job-busy", token)
        assert await two.acquire("job-busy", 8_000) is not None
    finally:
        await one.close()
        await two.close()
