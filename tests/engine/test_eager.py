"""Eager start of in-process calls: a task only when the coroutine suspends."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from iii_engine.core.eager import start_eager

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("eager_test", default="outer")


async def test_a_coroutine_that_never_waits_runs_at_once_without_a_task() -> None:
    seen: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def quick() -> None:
        VAR.set("inner")
        seen.append(VAR.get())

    start_eager(quick(), tasks.append)
    assert seen == ["inner"]
    assert tasks == []
    assert VAR.get() == "outer"  # the call ran in its own context copy


async def test_a_suspended_coroutine_resumes_in_a_task_with_its_context() -> None:
    waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    seen: list[object] = []
    tasks: list[asyncio.Task[None]] = []

    async def slow() -> None:
        token = VAR.set("inner")
        seen.append(await waiter)
        seen.append(VAR.get())
        VAR.reset(token)  # the token belongs to the same context after resuming
        try:
            await asyncio.sleep(0)
            await waiter_two
        except ValueError as exc:
            seen.append(str(exc))

    waiter_two: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    start_eager(slow(), tasks.append)
    assert len(tasks) == 1
    assert VAR.get() == "outer"
    waiter.set_result(7)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    waiter_two.set_exception(ValueError("boom"))
    await tasks[0]
    assert seen == [7, "inner", "boom"]


async def test_cancelling_the_task_reaches_the_coroutine() -> None:
    cleaned: list[bool] = []
    tasks: list[asyncio.Task[None]] = []

    async def waits_forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)

    start_eager(waits_forever(), tasks.append)
    tasks[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]
    assert cleaned == [True]


async def test_an_error_in_the_first_step_is_dropped() -> None:
    tasks: list[asyncio.Task[None]] = []

    async def fails() -> None:
        raise RuntimeError("first step")

    start_eager(fails(), tasks.append)
    assert tasks == []
