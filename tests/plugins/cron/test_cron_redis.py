"""iii-cron's ``redis`` locks: several engines on one real redis-server fire each tick once."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from iii_engine.config.schema import EngineConfig, parse_config
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from plugins.cron.adapters.redis_lock import RedisLock
from plugins.cron.clock import ManualClock
from tests.plugins.conftest import _free_port, _wait_ready
from tests.plugins.cron.conftest import cron_worker
from tests.plugins.cron.cron_helpers import Recorder, bind, call

pytestmark = pytest.mark.redis

TICKS = 20


def redis_entry(url: str) -> dict[str, Any]:
    return {
        "name": "iii-cron",
        "config": {"adapter": {"name": "redis", "config": {"redis_url": url}}},
    }


async def test_two_engines_fire_each_tick_exactly_once(
    redis_url: str, clock: ManualClock, iii_worker: Any
) -> None:
    fired: list[tuple[str, str]] = []
    async with AsyncExitStack() as stack:
        for name in ("a", "b"):
            engine = await stack.enter_async_context(start_engine(workers=[redis_entry(redis_url)]))
            cron_worker(engine).use_clock(clock)
            client: Worker = await iii_worker(engine, name=f"app-{name}")

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


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of this test's own (the test stops it): the process and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server not installed (./scripts/test installs it)")
        pytest.skip("redis-server not installed")
    port = _free_port()
    log = tmp_path / "redis.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    server = subprocess.Popen([*args, "--dir", str(tmp_path), "--logfile", str(log)])
    try:
        _wait_ready(server, port, log)
        yield server, f"redis://127.0.0.1:{port}/0"
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


async def test_redis_down_at_a_tick_skips_it_and_keeps_the_job(
    own_redis: tuple[subprocess.Popen[bytes], str], clock: ManualClock, iii_worker: Any
) -> None:
    server, url = own_redis
    async with start_engine(workers=[redis_entry(url)]) as engine:
        cron_worker(engine).use_clock(clock)
        client = await iii_worker(engine)
        recorder = Recorder()
        await bind(client, clock, "jobs::needs-redis", recorder, {"expression": "* * * * * *"})
        server.terminate()
        await asyncio.to_thread(server.wait)
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.set(deadline)
        async with asyncio.timeout(10):
            await clock.sleepers_at_least(1)  # the tick was skipped, the job sleeps again
        assert recorder.calls.empty()
        listed = await call(client, "cron::list")
        assert [(j["runs"], j["skipped"]) for j in listed["jobs"]] == [(0, 1)]


async def test_unreachable_redis_fails_the_engine_start() -> None:
    with pytest.raises(Exception, match=r"(?i)connect"):
        async with start_engine(workers=[redis_entry(f"redis://127.0.0.1:{_free_port()}/0")]):
            pass


async def test_a_long_run_keeps_renewing_its_lock(
    redis_url: str, clock: ManualClock, iii_worker: Any
) -> None:
    # lock_ttl_ms 300: without renewal the run lock would expire during this 0.7 s run.
    entry = redis_entry(redis_url)
    entry["config"]["adapter"]["config"]["lock_ttl_ms"] = 300
    async with start_engine(workers=[entry]) as engine:
        cron_worker(engine).use_clock(clock)
        client = await iii_worker(engine)
        gate = asyncio.Event()
        recorder = Recorder(gate)
        print("A", flush=True)
        job_id = await bind(client, clock, "jobs::long", recorder, {"expression": "* * * * * *"})
        print("B", flush=True)
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.set(deadline)
        await recorder.next()
        other = RedisLock(redis_url, 300)
        await other.open()
        try:
            await asyncio.sleep(0.7)  # real time is what expires a lock: more than two TTLs
            assert await other.client_pttl(job_id) > 0
            assert await other.acquire(job_id, 10**15) is None  # still held by the long run
        finally:
            gate.set()
            await other.close()


async def test_changing_the_adapter_by_reload_moves_the_jobs(
    redis_url: str, tmp_path: Path, iii_worker: Any
) -> None:
    listener = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}

    def config(entry: dict[str, Any]) -> EngineConfig:
        return parse_config(yaml.safe_dump({"workers": [listener, entry]}), base_dir=tmp_path)

    async with Engine(config({"name": "iii-cron"})) as engine:
        client = await iii_worker(engine)
        client.register_function("jobs::moving", lambda payload: None)
        handle = client.register_trigger("cron", "jobs::moving", {"expression": "@hourly"})
        listed = await call(client, "cron::list")
        assert [job["id"] for job in listed["jobs"]] == [handle.id]
        await engine.apply_reload(config(redis_entry(redis_url)))
        assert isinstance(cron_worker(engine).lock, RedisLock)
        listed = await call(client, "cron::list")
        assert [job["id"] for job in listed["jobs"]] == [handle.id]
