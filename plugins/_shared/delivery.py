"""In-order delivery of trigger events, shared by the ``state`` and ``stream`` trigger types.

Events are queued at write time with the bindings that matched then, together with the span
current at that moment; one background task delivers them in queue order, each event to all of
its bindings at once, and the next event waits until they have all answered::

    delivery = OrderedDelivery(fire)      # fire(binding, payload, cause) never raises
    delivery.start()                      # from the running loop
    delivery.put(payload, bindings)
    await delivery.close()                # undelivered events are dropped
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from iii_sdk.observer import CURRENT, Span

__all__ = ["OrderedDelivery"]

B = TypeVar("B")


class OrderedDelivery(Generic[B]):
    """A queue of ``(payload, bindings, cause)`` and the task that delivers it in order."""

    def __init__(self, fire: Callable[[B, dict[str, Any], Span | None], Awaitable[None]]) -> None:
        self._fire = fire
        self._queue: asyncio.Queue[tuple[dict[str, Any], list[B], Span | None]]
        self._queue = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def put(self, payload: dict[str, Any], bindings: list[B]) -> None:
        """Queue ``payload`` for ``bindings``, under the span current now."""
        self._queue.put_nowait((payload, bindings, CURRENT.get()))

    def start(self) -> None:
        """Start the delivery task (call from the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver())

    async def close(self) -> None:
        """Stop delivering; undelivered events are dropped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _deliver(self) -> None:
        while True:
            payload, bindings, cause = await self._queue.get()
            if len(bindings) == 1:
                await self._fire(bindings[0], payload, cause)
            else:
                await asyncio.gather(*(self._fire(binding, payload, cause) for binding in bindings))
