"""Helpers for the iii-state end-to-end tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker

__all__ = ["Recorder", "call", "call_error", "event"]


async def call(client: Worker, function_id: str, payload: Any) -> Any:
    """Invoke ``function_id`` through the engine and return its result."""
    return await client.trigger({"function_id": function_id, "payload": payload})


async def call_error(client: Worker, function_id: str, payload: Any) -> InvocationError:
    """Invoke ``function_id``, expecting it to fail; return the error."""
    with pytest.raises(InvocationError) as info:
        await call(client, function_id, payload)
    return info.value


def event(event_type: str, scope: str, key: str, old: Any, new: Any) -> dict[str, Any]:
    """The payload a ``state`` trigger delivers."""
    return {
        "type": "state",
        "event_type": event_type,
        "scope": scope,
        "key": key,
        "old_value": old,
        "new_value": new,
    }


class Recorder:
    """A function handler that records every (payload, metadata) it receives, in order."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[tuple[Any, Any]] = asyncio.Queue()

    async def __call__(self, payload: Any, metadata: Any = None) -> None:
        await self.calls.put((payload, metadata))

    async def next(self) -> tuple[Any, Any]:
        """The next recorded call (fails the test after 5 s without one)."""
        async with asyncio.timeout(5):
            return await self.calls.get()

    async def next_payload(self) -> Any:
        """The payload of the next recorded call."""
        payload, _ = await self.next()
        return payload
