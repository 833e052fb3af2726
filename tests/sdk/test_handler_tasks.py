"""Handlers start at once, in their own task (iii_sdk._eager), with task semantics intact."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from typing import Any

from iii_sdk import InvocationError, Worker
from iii_sdk._eager import start_task
from iii_sdk._tracing import inbound
from tests.sdk.rawserver import RawConnection, raw_server

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("label", default="none")


def invoke(function_id: str, data: Any, **extra: Any) -> dict[str, Any]:
    """An ``invokefunction`` frame with a fresh id."""
    frame = {"type": "invokefunction", "invocation_id": str(uuid.uuid4())}
    return {**frame, "function_id": function_id, "data": data, **extra}


async def answers_by_id(conn: RawConnection, frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The answers to ``frames``, keyed by invocation id (result, or the error's code)."""
    answers = await conn.take(len(frames))
    return {
        a["invocation_id"]: a["error"]["code"] if "error" in a else a["result"] for a in answers
    }


async def test_handlers_keep_their_task_and_context_across_suspensions() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="tasks")
        release = asyncio.Event()
        reader = worker._session.connection.task

        async def observe(payload: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None and task is not reader
            seen_before = (LABEL.get(), inbound()[0])
            LABEL.set(payload)  # visible to this handler only
            if payload == "waits":
                await release.wait()
            assert asyncio.current_task() is task
            return [*seen_before, LABEL.get(), inbound()[0]]

        worker.register_function("svc::observe", observe)
        await worker.connect()
        conn = await server.accept()
        await conn.take(2)
        frames = [
            invoke("svc::observe", "waits", traceparent=TRACEPARENT),
            invoke("svc::observe", "quick"),
        ]
        await conn.send_all(frames)
        quick = await conn.next()  # the waiting handler does not hold the quick one up
        assert quick["result"] == ["none", None, "quick", None]
        release.set()
        waited = await conn.next()
        assert waited["result"] == ["none", TRACEPARENT, "waits", TRACEPARENT]
        assert LABEL.get() == "none"
        assert worker._session.executor._tasks == {}
        await worker.close()


async def test_timeouts_errors_and_close_inside_handlers() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="tasks-timeout")
        cancelled: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        async def bounded(payload: Any) -> Any:
            try:
                async with asyncio.timeout(0.01):  # entered before the first suspension
                    await asyncio.Event().wait()
            except TimeoutError:
                return "timed out"
            return "not reached"

        async def failing(payload: Any) -> Any:
            raise InvocationError("E_BAD", "refused at once")

        async def forever(payload: Any) -> Any:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set_result(True)
                raise

        worker.register_function("svc::bounded", bounded)
        worker.register_function("svc::failing", failing)
        worker.register_function("svc::forever", forever)
        await worker.connect()
        conn = await server.accept()
        await conn.take(4)
        frames = [invoke("svc::bounded", 1), invoke("svc::failing", 2)]
        await conn.send_all(frames)
        answers = await answers_by_id(conn, frames)
        assert answers == {
            frames[0]["invocation_id"]: "timed out",
            frames[1]["invocation_id"]: "E_BAD",
        }
        assert worker.connected  # the timeout cancelled the handler, not the socket's reader
        await conn.send(invoke("svc::forever", 3))
        while not worker._session.executor._tasks:  # the frame is on its way
            await conn.send({"type": "ping"})
            assert (await conn.next()) == {"type": "pong"}
        await worker.close()
        assert await cancelled


async def test_start_task_tracks_before_the_first_step() -> None:
    loop = asyncio.get_running_loop()
    outer = asyncio.current_task()
    tracked: dict[int, asyncio.Task[Any]] = {}

    async def quick() -> Any:
        return asyncio.current_task() in tracked.values()  # tracked before its code ran

    start_task(loop, quick(), tracked, 0)
    assert tracked[0].done() and tracked[0].result() is True
    assert asyncio.current_task() is outer
    # From a plain callback (no current task) the task still starts inside itself.
    done: asyncio.Future[None] = loop.create_future()
    loop.call_soon(lambda: (start_task(loop, quick(), tracked, 1), done.set_result(None)))
    await done
    assert tracked[1].done() and tracked[1].result() is True


async def test_a_handler_finds_its_task_in_the_table_from_its_first_step() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="tasks-table")
        table = worker._session.executor._tasks

        async def inside(payload: Any) -> Any:
            if payload:  # a wait point (never reached): the handler gets a task of its own
                await asyncio.sleep(0)
            return asyncio.current_task() in table.values()

        worker.register_function("svc::inside", inside)
        await worker.connect()
        conn = await server.accept()
        await conn.take(2)
        await conn.send(invoke("svc::inside", None))
        assert (await conn.next())["result"] is True
        assert table == {}
        await worker.close()


def _start_many(count: int) -> list[bool]:
    """In a fresh loop: start ``count`` tasks eagerly; whether each ran its own coroutine."""

    async def main() -> list[bool]:
        loop = asyncio.get_running_loop()
        tracked: dict[int, asyncio.Task[Any]] = {}

        async def echo(n: int) -> int:
            return n

        for n in range(count):
            start_task(loop, echo(n), tracked, n)
        return [task.result() == n for n, task in tracked.items()]

    return asyncio.run(main())


async def test_loops_in_several_threads_start_tasks_at_once() -> None:
    results = await asyncio.gather(*(asyncio.to_thread(_start_many, 20000) for _ in range(3)))
    assert all(all(ok) for ok in results)
