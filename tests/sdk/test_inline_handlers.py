"""An ``async def`` handler that cannot suspend runs on the spot, with task semantics kept."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from typing import Any

import msgspec
import pytest

from iii_sdk import InvocationError, Worker
from iii_sdk._connection import ANSWER_SLICE
from iii_sdk._corked import corked
from iii_sdk._tracing import inbound
from iii_sdk.handlers import adapt, never_suspends
from tests.sdk.rawserver import raw_server
from tests.sdk.test_handler_tasks import TRACEPARENT, answers_by_id, invoke

LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("inline_label", default="none")


class Point(msgspec.Struct):
    """A typed payload."""

    x: int
    y: int


async def plain(payload: Any) -> Any:
    return payload


async def with_metadata(payload: Any, metadata: Any) -> Any:
    return [payload, metadata]


async def comprehension(payload: Any) -> Any:
    return [x * 2 for x in payload]  # a sync comprehension is not a wait point


async def typed(point: Point) -> int:
    return point.x + point.y


async def awaits(payload: Any) -> Any:
    await asyncio.sleep(0)
    return payload


async def async_with(payload: Any) -> Any:
    async with contextlib.AsyncExitStack():
        return payload


async def async_for(payload: Any) -> Any:
    return [x async for x in payload]


def sync(payload: Any) -> Any:
    return payload


class Service:
    """Methods as handlers."""

    async def quick(self, payload: Any) -> Any:
        return payload

    async def slow(self, payload: Any) -> Any:
        await asyncio.sleep(0)
        return payload


@pytest.mark.parametrize(
    ("handler", "inline"),
    [
        (plain, True),
        (with_metadata, True),
        (comprehension, True),
        (typed, True),
        (Service().quick, True),
        (awaits, False),
        (async_with, False),
        (async_for, False),
        (Service().slow, False),
        (sync, False),  # runs in a thread: never on the loop
    ],
)
def test_which_handlers_cannot_suspend(handler: Any, inline: bool) -> None:
    assert never_suspends(adapt(handler)) is inline


async def test_inline_handlers_answer_in_order_each_in_its_own_context() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="inline")
        seen_tasks: list[asyncio.Task[Any] | None] = []

        async def observe(payload: Any) -> Any:
            seen_tasks.append(asyncio.current_task())
            before = (LABEL.get(), inbound()[0])
            LABEL.set(payload)  # must not leak into the next invocation
            return [*before, LABEL.get()]

        async def refuse(payload: Any) -> Any:
            raise InvocationError("E_REFUSED", f"no {payload}")

        async def crash(payload: Any) -> Any:
            raise ValueError(payload)

        async def add(point: Point) -> int:
            return point.x + point.y

        async def cancels(payload: Any) -> Any:
            raise asyncio.CancelledError  # no task to cancel: a failure, the socket stays up

        for function_id, handler in [
            ("svc::observe", observe),
            ("svc::refuse", refuse),
            ("svc::crash", crash),
            ("svc::add", add),
            ("svc::cancels", cancels),
        ]:
            worker.register_function(function_id, handler)
        assert all(entry.inline for entry in worker._session.registrations.functions.values())
        await worker.connect()
        reader = worker._session.connection.task
        conn = await server.accept()
        await conn.take(6)
        frames = [
            invoke("svc::observe", "a", traceparent=TRACEPARENT),
            invoke("svc::observe", "b"),
            invoke("svc::refuse", "way"),
            invoke("svc::crash", "boom"),
            invoke("svc::add", {"x": 2, "y": 3}),
            invoke("svc::add", {"x": "two"}),
            invoke("svc::cancels", None),
            invoke("svc::add", {"x": 1, "y": 1}),
        ]
        await conn.send_all(frames)
        answers = await conn.take(len(frames))
        assert [a["invocation_id"] for a in answers] == [f["invocation_id"] for f in frames]
        assert [a.get("result") for a in answers[:2]] == [
            ["none", TRACEPARENT, "a"],
            ["none", None, "b"],
        ]
        assert answers[2]["error"] == {"code": "E_REFUSED", "message": "no way"}
        assert answers[3]["error"]["code"] == "invocation_failed"
        assert answers[4]["result"] == 5
        assert answers[5]["error"]["code"] == "invalid_payload"
        assert answers[6]["error"]["code"] == "invocation_failed"
        assert answers[7]["result"] == 2  # the read loop went on
        assert seen_tasks == [reader, reader]  # ran on the read task: no task of their own
        assert worker._session.executor._tasks == {}
        assert LABEL.get() == "none"
        await worker.close()


async def test_inline_and_task_handlers_mix_without_holding_each_other_up() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="inline-mix")
        release = asyncio.Event()

        async def waits(payload: Any) -> Any:
            await release.wait()
            return payload

        worker.register_function("svc::waits", waits)
        worker.register_function("svc::quick", plain)
        await worker.connect()
        conn = await server.accept()
        await conn.take(3)
        frames = [invoke("svc::waits", 1), invoke("svc::quick", 2)]
        await conn.send_all(frames)
        quick = await conn.next()
        assert quick["invocation_id"] == frames[1]["invocation_id"]
        release.set()
        assert await answers_by_id(conn, frames[:1]) == {frames[0]["invocation_id"]: 1}
        await worker.close()


def count_frames(data: bytes) -> int:
    """The number of whole (masked, client-side) WebSocket frames in ``data``."""
    count = at = 0
    while at < len(data):
        length = data[at + 1] & 0x7F
        at += 2
        if length == 126:
            length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        at += 4 + length  # the mask key, then the payload
        count += 1
    assert at == len(data)
    return count


async def test_a_burst_of_answers_leaves_in_slices() -> None:
    async with raw_server() as server:
        worker = Worker(server.url, name="inline-burst")
        worker.register_function("svc::echo", plain)
        await worker.connect()
        conn = await server.accept()
        await conn.take(2)
        cork = corked(worker._session.connection._ws)
        assert cork is not None
        real = cork._transport
        answers_per_write: list[int] = []

        class Counting:
            """The socket's transport, counting the answers each write carries."""

            def write(self, data: bytes) -> None:
                answers_per_write.append(count_frames(data))
                real.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        cork._transport = Counting()  # type: ignore[assignment]
        frames = [invoke("svc::echo", i) for i in range(5 * ANSWER_SLICE)]
        await conn.send_all(frames)
        answers = await conn.take(len(frames))
        assert [a["result"] for a in answers] == list(range(len(frames)))
        assert sum(answers_per_write) == len(frames)
        assert max(answers_per_write) <= ANSWER_SLICE
        await worker.close()
