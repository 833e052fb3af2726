"""A real ``* * * * * *`` schedule on the wall clock, over real sockets (about 3 s each)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

from iii_engine.testing import start_engine
from tests.plugins.cron.conftest import CRON
from tests.plugins.cron.cron_helpers import Recorder

FIRINGS = 3


def check_firings(payloads: list[dict[str, Any]], job_id: str) -> None:
    """Consecutive seconds, each once, fired shortly after its scheduled time."""
    scheduled = [datetime.fromisoformat(p["scheduled_time"]) for p in payloads]
    actual = [datetime.fromisoformat(p["actual_time"]) for p in payloads]
    assert all(p["trigger"] == "cron" and p["job_id"] == job_id for p in payloads)
    assert all((b - a).total_seconds() == 1 for a, b in itertools.pairwise(scheduled))
    for due, ran in zip(scheduled, actual, strict=True):
        assert due.microsecond == 0
        assert 0 <= (ran - due).total_seconds() < 0.5, (due, ran)


async def test_every_second_with_our_sdk(iii_worker: Any) -> None:
    async with start_engine(workers=[CRON]) as engine:
        client = await iii_worker(engine)
        recorder = Recorder()
        client.register_function("rt::tick", recorder)
        handle = client.register_trigger("cron", "rt::tick", {"expression": "* * * * * *"})
        payloads = [await recorder.next_payload() for _ in range(FIRINGS)]
        handle.unregister()
    check_firings(payloads, handle.id)


async def test_overlapping_runs_are_skipped_in_real_time(iii_worker: Any) -> None:
    async with start_engine(workers=[CRON]) as engine:
        client = await iii_worker(engine)
        started: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        running = 0
        most = 0

        async def slow(payload: dict[str, Any]) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            started.put_nowait(payload)
            await asyncio.sleep(1.5)  # the handler's own work: longer than the interval
            running -= 1

        client.register_function("rt::slow", slow)
        client.register_trigger("cron", "rt::slow", {"expression": "* * * * * *"})
        async with asyncio.timeout(8):
            first = await started.get()
            second = await started.get()
    gap = datetime.fromisoformat(second["scheduled_time"]) - datetime.fromisoformat(
        first["scheduled_time"]
    )
    assert gap.total_seconds() == 2  # the tick during the run was skipped
    assert most == 1
