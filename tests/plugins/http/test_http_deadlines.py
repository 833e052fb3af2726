"""The periodic deadline sweep: cancels only expired requests, oldest first."""

from __future__ import annotations

import asyncio
import time

from plugins.http.deadlines import Deadline, Deadlines


async def test_sweep_cancels_expired_tasks_only() -> None:
    deadlines = Deadlines(10.0)
    deadlines.start()
    started: list[asyncio.Future[Deadline]] = []

    async def request() -> str:
        deadline = deadlines.add()
        started[-1].set_result(deadline)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            assert deadline.expired
            return "timed out"
        finally:
            deadlines.remove(deadline)
        return "done"

    tasks = []
    loop = asyncio.get_running_loop()
    for _ in range(3):
        started.append(loop.create_future())
        tasks.append(asyncio.create_task(request()))
        await started[-1]
    first = started[0].result()
    now = loop.time()
    assert deadlines.sweep(now) == 0  # nothing is due yet
    assert deadlines.sweep(now + 10.0 + 1e-3) == 3
    assert [await t for t in tasks] == ["timed out"] * 3
    assert first.expired
    assert deadlines.sweep(now + 100) == 0  # removed entries never fire again
    await deadlines.stop()


async def test_removed_deadline_never_fires() -> None:
    deadlines = Deadlines(0.01)
    deadlines.start()
    deadline = deadlines.add()
    deadlines.remove(deadline)
    assert deadlines.sweep(asyncio.get_running_loop().time() + 1) == 0
    assert not deadline.expired
    await deadlines.stop()


async def test_the_sweeper_sleeps_until_the_oldest_deadline() -> None:
    deadlines = Deadlines(30.0)
    deadlines.start()
    assert deadlines.next_wake(0.0) == 30.0  # nothing pending: one whole timeout
    first = deadlines.add()
    now = time.monotonic()  # the deadlines' clock (uvloop's loop.time() is cached per pass)
    assert 29.0 < deadlines.next_wake(now) <= 30.0
    second = deadlines.add()
    now = time.monotonic()
    deadlines.remove(first)  # the next one due is the older of those left
    assert 19.0 < deadlines.next_wake(now + 10.0) <= 20.0
    assert deadlines.next_wake(now + 40.0) == 0.0  # overdue: sweep at once
    deadlines.remove(second)
    assert deadlines.next_wake(now) == 30.0
    await deadlines.stop()


async def test_a_short_timeout_fires_without_a_tick() -> None:
    deadlines = Deadlines(0.05)
    deadlines.start()
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def request() -> None:
        deadline = deadlines.add()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.set_result(deadline.expired)
            raise

    task = asyncio.create_task(request())
    assert await asyncio.wait_for(outcome, 5.0)  # the sweeper woke for this deadline
    await asyncio.gather(task, return_exceptions=True)
    await deadlines.stop()
