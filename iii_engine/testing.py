"""Pytest fixtures for testing workers against a real engine (a ``pytest11`` plugin).

::

    async def test_add(iii_worker, iii_engine):
        provider = await iii_worker(iii_engine)
        provider.register_function("math::add", lambda p: {"c": p["a"] + p["b"]})
        caller = await iii_worker(iii_engine)
        assert await caller.trigger({"function_id": "math::add", "payload": {"a": 2, "b": 3}})

``start_engine`` starts an engine with its worker manager on ``127.0.0.1:0``; pass built-in
worker entries to run them too.

Installing iii-py registers this module with pytest in every project, so importing it must never
fail and must stay light: the fixtures are async and need pytest-asyncio (the ``testing`` extra,
``pip install 'iii-py[testing]'``). Without it they still exist but fail with that advice, and
pytest itself starts as usual. The engine is imported when a fixture first runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iii_engine.engine import Engine
    from iii_sdk.worker import Worker

__all__ = ["iii_engine", "iii_worker", "start_engine"]

_LISTENER = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": 0}}

NEEDS_PYTEST_ASYNCIO = (
    "the iii_engine and iii_worker fixtures are async and need pytest-asyncio "
    "(pip install 'iii-py[testing]') with asyncio_mode = \"auto\""
)


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
    import yaml

    from iii_engine.config.schema import parse_config
    from iii_engine.engine import Engine

    data: dict[str, Any] = yaml.safe_load(yaml_text) if yaml_text else {}
    entries = list(data.get("workers") or []) + list(workers or [])
    if not any(e.get("name") == "iii-worker-manager" for e in entries):
        entries.insert(0, _LISTENER)
    data["workers"] = entries
    config = parse_config(yaml.safe_dump(data), base_dir=base_dir or Path.cwd())
    async with Engine(config) as running:
        yield running


async def _engine() -> AsyncIterator[Engine]:
    """An engine with only its own functions (no built-in workers)."""
    async with start_engine() as running:
        yield running


async def _worker() -> AsyncIterator[Callable[..., Awaitable[Worker]]]:
    """``await iii_worker(iii_engine, name=None, **kwargs)``: a connected SDK worker."""
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


def _missing() -> Iterator[None]:
    import pytest

    pytest.fail(NEEDS_PYTEST_ASYNCIO, pytrace=False)
    yield  # pragma: no cover


iii_engine: Any
iii_worker: Any
try:
    import pytest_asyncio
except ImportError:  # installed without the testing extra
    try:
        import pytest
    except ImportError:  # imported outside pytest: only start_engine is of use
        iii_engine, iii_worker = _engine, _worker
    else:
        iii_engine = pytest.fixture(name="iii_engine")(_missing)
        iii_worker = pytest.fixture(name="iii_worker")(_missing)
else:
    iii_engine = pytest_asyncio.fixture(name="iii_engine")(_engine)
    iii_worker = pytest_asyncio.fixture(name="iii_worker")(_worker)
