"""Group commit for the ``redis`` queue adapter: concurrent callers share one round trip.

Every enqueue and every acknowledgement is a few Redis commands that must be applied
together (``XADD`` + ``SADD``; ``XACK`` + ``XDEL``). Sent one caller at a time they would cost
a round trip each; :class:`CommandBatch` queues the commands of every caller that arrives while
a pipeline is executing and sends them in the next ``MULTI``/``EXEC``, and each caller returns
once the pipeline holding its commands has executed (or gets its error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["Command", "CommandBatch"]

Command = tuple[str, tuple[Any, ...]]
"""A redis-py pipeline method name and its arguments, e.g. ``("xack", (stream, group, id))``."""


class CommandBatch:
    """Commands waiting for the next transaction of the client ``client()`` returns."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client
        self._batch: list[Command] = []
        self._next: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None

    @property
    def flusher(self) -> asyncio.Task[None] | None:
        """The task executing pipelines, while there is one (``close`` waits for it)."""
        return self._flusher

    async def run(self, commands: list[Command]) -> None:
        """Run ``commands`` in the next pipeline; return once it executed."""
        loop = asyncio.get_running_loop()
        if self._next is None:
            self._next = loop.create_future()
        done = self._next
        self._batch.extend(commands)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        while self._batch:
            batch, self._batch = self._batch, []
            done, self._next = self._next, None
            assert done is not None
            try:
                async with self._client().pipeline(transaction=True) as pipe:
                    for name, args in batch:
                        getattr(pipe, name)(*args)
                    await pipe.execute()
            except Exception as exc:
                done.set_exception(exc)
                done.exception()  # retrieved: the callers waiting get it
            else:
                done.set_result(None)
