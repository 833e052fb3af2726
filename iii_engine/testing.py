"""Pytest fixtures for testing workers against a real engine (a ``pytest11`` plugin).

::

    async def test_add(connect_worker, engine):
        provider = await connect_worker(engine)
        provider.register_function("math::add", lambda p: {"c": p["a"] + p["b"]})
        caller = await connect_worker(engine)
        assert await caller.trigger({"function_id": "math::add", "payload": {"a": 2, "b": 3}})

``start_engine`` starts an engine with its worker manager on ``127.0.0.1:0``; pass built-in
worker entries to run them too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest_asyncio
import yaml

from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine

if TYPE_CHECKING:
    from iii_sdk.worker import Worker

__all__ = ["connect_worker", "engine", "start_engine"]

_LISTENER = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}


@asynccontextmanager
async def start_engine(
    yaml_text: str | None = None,
    *,
    workers: list[dict[str, Any]] | None = None,
    base_dir: Path | None = None,
) -> AsyncIterator[Engine]:
    """Start an engine for a test; the worker manager listens on an ephemeral port.

    ``yaml_text`` is a whole config file; ``workers`` a list of entries added to it. Without a
    ``iii-worker-manager`` entry one on ``127.0.0.1:0`` is added.
    """
    data: dict[str, Any] = yaml.safe_load(yaml_text) if yaml_text else {}
    entries = list(data.get("workers") or []) + list(workers or [])
    if not any(e.get("name") == "iii-worker-manager" for e in entries):
        entries.insert(0, _LISTENER)
    data["workers"] = entries
    config = parse_config(yaml.safe_dump(data), base_dir=base_dir or Path.cwd())
    async with Engine(config) as running:
        yield running


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[Engine]:
    """An engine with only its own functions (no built-in workers)."""
    async with start_engine() as running:
        yield running


@pytest_asyncio.fixture
async def connect_worker() -> AsyncIterator[Callable[..., Awaitable[Worker]]]:
    """``await connect_worker(engine, name=None, **kwargs)``: a connected SDK worker."""
    from iii_sdk.worker import Worker

    opened: list[Worker] = []

    async def connect(target: Engine, name: str | None = None, **kwargs: Any) -> Worker:
        worker = Worker(target.worker_url, name=name, **kwargs)
        await worker.connect()
        opened.append(worker)
        return worker

    yield connect
    for worker in reversed(opened):
        await worker.close()
