"""Fixtures for the iii-queue tests: an engine running iii-queue, SDK workers, a manual clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from plugins.queue.clock import ManualClock
from plugins.queue.worker import QueueWorker

QUEUES: dict[str, Any] = {
    "default": {},
    "retrying": {"max_retries": 3, "backoff_ms": 1000, "concurrency": 4},
    "once": {"max_retries": 1, "backoff_ms": 10},
    "slow": {"max_retries": 2, "backoff_ms": 10, "timeout_ms": 500},
    "orders": {
        "type": "fifo",
        "message_group_field": "customer",
        "concurrency": 4,
        "max_retries": 3,
        "backoff_ms": 1000,
    },
}


def queue_entry(adapter: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An ``iii-queue`` workers entry with the test queues."""
    config: dict[str, Any] = {"queue_configs": QUEUES, **extra}
    if adapter is not None:
        config["adapter"] = adapter
    return {"name": "iii-queue", "config": config}


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock()


@asynccontextmanager
async def manual_engine(clock: ManualClock, adapter: dict[str, Any]) -> AsyncIterator[Engine]:
    """An engine running iii-queue with ``adapter`` on a manual clock."""
    entry = queue_entry(adapter, max_message_bytes=1024, missing_function_grace_ms=0)
    async with start_engine(workers=[entry]) as engine:
        worker = engine.builtin("iii-queue")
        assert isinstance(worker, QueueWorker)
        worker.set_clock(clock)
        yield engine


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def adapter(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each adapter in turn (redis: a fresh key prefix on the session's redis-server)."""
    if request.param == "memory":
        return {"name": "memory"}
    url = request.getfixturevalue("redis_url")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return {"name": "redis", "config": {"redis_url": url, "key_prefix": prefix}}


@pytest.fixture
async def queue_engine(clock: ManualClock, adapter: dict[str, Any]) -> AsyncIterator[Engine]:
    """An engine running iii-queue (memory, then redis) on a manual clock."""
    async with manual_engine(clock, adapter) as engine:
        yield engine


@pytest.fixture
async def memory_engine(clock: ManualClock) -> AsyncIterator[Engine]:
    """An engine running iii-queue on the memory adapter and a manual clock."""
    async with manual_engine(clock, {"name": "memory"}) as engine:
        yield engine
