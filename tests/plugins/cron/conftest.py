"""Fixtures for the iii-cron tests: an engine running iii-cron on a manual clock, SDK workers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from plugins.cron.clock import ManualClock
from plugins.cron.worker import CronWorker

CRON = {"name": "iii-cron"}
T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)  # a Sunday, a quarter past a second


@pytest.fixture
def clock() -> ManualClock:
    """Time that only moves when the test moves it (starts at ``T0``)."""
    return ManualClock(T0)


@pytest.fixture
async def cron_engine(clock: ManualClock) -> AsyncIterator[Engine]:
    """An engine running iii-cron (kv locks) scheduling on ``clock``."""
    async with start_engine(workers=[CRON]) as engine:
        cron_worker(engine).use_clock(clock)
        yield engine


@pytest.fixture
async def client(cron_engine: Engine, iii_worker: Callable[..., Awaitable[Worker]]) -> Worker:
    """An SDK worker connected to ``cron_engine``."""
    return await iii_worker(cron_engine, name="cron-client")


def cron_worker(iii_engine: Engine) -> CronWorker:
    """The engine's running iii-cron worker."""
    worker = iii_engine.builtin("iii-cron")
    assert isinstance(worker, CronWorker)
    return worker
