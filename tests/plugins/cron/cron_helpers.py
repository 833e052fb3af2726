"""Helpers for the iii-cron end-to-end tests."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from iii_sdk.worker import Worker
from plugins.cron.clock import ManualClock

__all__ = ["Recorder", "at", "bind", "call", "tick"]


class Recorder:
    """A handler recording each (payload, metadata); ``gate`` (when set) holds every call."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.calls: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()
        self.gate = gate
        self.running = 0
        self.max_running = 0

    async def __call__(self, payload: Any, metadata: Any = None) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        await self.calls.put((payload, metadata))
        try:
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.running -= 1

    async def next(self) -> tuple[Any, Any]:
        """The next recorded call (fails the test after 5 s without one)."""
        async with asyncio.timeout(5):
            return await self.calls.get()

    async def next_payload(self) -> Any:
        """The payload of the next recorded call."""
        payload, _ = await self.next()
        return payload


async def call(client: Worker, function_id: str, payload: Any = None) -> Any:
    """Invoke ``function_id`` through the engine."""
    return await client.trigger({"function_id": function_id, "payload": payload or {}})


async def bind(
    client: Worker,
    clock: ManualClock,
    function_id: str,
    recorder: Recorder,
    config: dict[str, Any],
    sleepers: int = 1,
    **options: Any,
) -> str:
    """Register ``recorder`` and a cron binding; return once its job sleeps on ``clock``."""
    client.register_function(function_id, recorder)
    handle = client.register_trigger("cron", function_id, config, **options)
    async with asyncio.timeout(5):
        await clock.sleepers_at_least(sleepers)
    return handle.id


async def tick(clock: ManualClock, recorder: Recorder, sleepers: int = 1) -> Any:
    """Move ``clock`` to the next deadline, return the payload fired, wait for the next sleep."""
    deadline = clock.next_deadline()
    assert deadline is not None
    clock.set(deadline)
    payload = await recorder.next_payload()
    async with asyncio.timeout(5):
        await clock.sleepers_at_least(sleepers)
    return payload


def at(moment: datetime) -> str:
    """``moment`` as iii-cron writes ``scheduled_time``."""
    return moment.isoformat(timespec="seconds")
