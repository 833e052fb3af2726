"""Helpers for the iii-queue tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from iii_sdk import Enqueue
from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker

__all__ = ["Inbox", "counts", "enqueue", "expect_error", "until"]

WAIT = 10.0


class Inbox:
    """A function handler recording each payload; ``fail`` decides whether a call raises."""

    def __init__(self, fail: Callable[[Any], bool] | None = None) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.fail = fail
        self.calls = 0

    async def __call__(self, payload: Any) -> Any:
        self.calls += 1
        self.queue.put_nowait(payload)
        if self.fail is not None and self.fail(payload):
            raise RuntimeError(f"failing on purpose: {payload}")
        return {"ok": True}

    async def next(self) -> Any:
        """The next payload (fails the test after 10 s without one)."""
        return await asyncio.wait_for(self.queue.get(), WAIT)


async def enqueue(worker: Worker, queue: str, function_id: str, data: Any) -> str:
    """Enqueue through the ``enqueue`` action (``iii_sdk.Enqueue``); the receipt id."""
    result = await worker.trigger(function_id, data, action=Enqueue(queue=queue))
    receipt: str = result["messageReceiptId"]
    return receipt


async def expect_error(
    worker: Worker, function_id: str, payload: Any, **kw: Any
) -> InvocationError:
    """Invoke, expecting an error; return it."""
    with pytest.raises(InvocationError) as info:
        await worker.trigger(function_id, payload, **kw)
    return info.value


async def until(check: Callable[[], Awaitable[Any]], what: str, within: float = WAIT) -> Any:
    """Poll ``check`` (a round trip to the engine) until it is truthy; bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.005)


async def counts(worker: Worker, name: str) -> dict[str, int]:
    """``waiting`` / ``in_flight`` / ``dead_lettered`` of one queue or topic."""
    rows = await worker.trigger("engine::queue::list_queues", {})
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        return {"waiting": 0, "in_flight": 0, "dead_lettered": 0}
    return {k: row[k] for k in ("waiting", "in_flight", "dead_lettered")}
