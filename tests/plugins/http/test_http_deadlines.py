"""The periodic deadline sweep: cancels only expired requests, oldest first."""

from __future__ import annotations

import asyncio

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
