"""An engine with two listeners: a trusted one (no rbac) and a guarded one.

Hook, auth and middleware functions are hosted by our SDK worker on the trusted listener, as an
operator would; the worker under test connects to the guarded listener.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import yaml

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker

__all__ = ["Recorder", "barrier", "guarded_engine", "trusted_worker"]


@asynccontextmanager
async def guarded_engine(
    guarded: dict[str, Any],
    *,
    workers: list[dict[str, Any]] | None = None,
    grace_ms: int | None = None,
) -> AsyncIterator[Engine]:
    """``engine.worker_urls == [trusted, guarded]``; ``guarded`` is the listener's config."""
    trusted_entry = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}
    guarded_entry = {
        "name": "iii-worker-manager",
        "config": {"host": "127.0.0.1", "port": 0, **guarded},
    }
    data: dict[str, Any] = {"workers": [trusted_entry, guarded_entry, *(workers or [])]}
    if grace_ms is not None:
        data["registration_namespace_grace_ms"] = grace_ms
    text = yaml.safe_dump(data)
    async with start_engine(text) as engine:
        yield engine


class Recorder:
    """Collects payloads handed to hook functions; ``await next()`` waits for one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, item: Any) -> None:
        self.queue.put_nowait(item)

    async def next(self, within: float = 5.0) -> Any:
        async with asyncio.timeout(within):
            return await self.queue.get()


@asynccontextmanager
async def trusted_worker(
    engine: Engine, functions: dict[str, Callable[..., Any]], name: str = "trusted", **metadata: Any
) -> AsyncIterator[Worker]:
    """Our worker on the trusted listener serving ``functions`` (``metadata`` per id)."""
    worker = Worker(engine.worker_urls[0], name=name)
    for function_id, handler in functions.items():
        worker.register_function(function_id, handler, metadata=metadata.get(function_id))
    async with worker:
        await barrier(worker)
        yield worker


async def barrier(worker: Worker) -> None:
    """A round trip: every frame the worker sent before it has been applied by the engine."""
    await worker.trigger("engine::log::debug", {"message": "barrier"})
