"""Helpers and fixtures that drive the official iii SDKs against our engine.

The official Python SDK (``iii-sdk==0.23.0``, import name ``iii``) is a threaded client: its
``register_worker`` blocks and it runs its own event loop on a background thread. In-process
clients are created and shut down with ``asyncio.to_thread``; their handlers run on the SDK's
thread, so they hand results to the test through :class:`Inbox` (thread-safe). Clients that a
test must kill run as subprocesses (``python/official_worker.py``).

The official Node SDK (``iii-sdk@0.22.1``) runs as ``node node/<script>.mjs`` subprocesses that
print ``READY`` once their functions are visible in ``engine::functions::list``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine

COMPAT_DIR = Path(__file__).resolve().parent
NODE_DIR = COMPAT_DIR / "node"
PY_WORKER = COMPAT_DIR / "python" / "official_worker.py"

WAIT = 10.0
"""Upper bound, in seconds, of every wait on an event in these tests."""

BUILTINS: list[dict[str, Any]] = [
    {"name": "iii-state", "config": {"adapter": {"name": "memory"}}},
    {"name": "iii-http", "config": {"host": "127.0.0.1", "port": 0}},
    {"name": "iii-pubsub"},
]


# --- waiting -------------------------------------------------------------------------------------


class Inbox:
    """A queue the official SDK's threads put into and the test's event loop awaits."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, item: Any) -> None:
        """Thread-safe: callable from any thread."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def get(self, within: float = WAIT) -> Any:
        """The next item; fails the test after ``within`` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), within)
        except TimeoutError:
            pytest.fail(f"nothing arrived within {within} s")

    async def get_until(self, predicate: Callable[[Any], bool], within: float = WAIT) -> Any:
        """The first item matching ``predicate`` (others are dropped)."""
        deadline = self._loop.time() + within
        while True:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                pytest.fail(f"no matching item arrived within {within} s")
            item = await self.get(remaining)
            if predicate(item):
                return item

    def empty(self) -> bool:
        return self._queue.empty()


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = WAIT) -> Any:
    """Poll ``check`` until it returns a truthy value (bounded; for SDKs that signal nothing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)


async def function_ids(engine: Engine) -> set[str]:
    """Ids listed by ``engine::functions::list`` (internal ones included)."""
    listing = await engine.invoke("engine::functions::list", {"include_internal": True})
    return {row["function_id"] for row in listing["functions"]}


async def wait_for_functions(engine: Engine, *ids: str, within: float = WAIT) -> None:
    """Wait until every id in ``ids`` is listed by ``engine::functions::list``."""

    async def listed() -> bool:
        return set(ids) <= await function_ids(engine)

    await eventually(listed, f"functions {ids} to be registered", within)


async def wait_for_functions_gone(engine: Engine, *ids: str, within: float = WAIT) -> None:
    """Wait until none of ``ids`` is listed by ``engine::functions::list``."""

    async def gone() -> bool:
        return not set(ids) & await function_ids(engine)

    await eventually(gone, f"functions {ids} to be unregistered", within)


# --- engines -------------------------------------------------------------------------------------


@pytest.fixture
async def builtin_engine() -> AsyncIterator[Engine]:
    """An engine running the built-ins iii-state (memory), iii-http (port 0) and iii-pubsub."""
    async with start_engine(workers=BUILTINS) as running:
        yield running


def http_base(engine: Engine) -> str:
    """Base URL of the engine's iii-http server."""
    port = engine.builtin("iii-http").port  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{port}"


# --- the official Python SDK, in-process -----------------------------------------------------


OfficialFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def official() -> AsyncIterator[OfficialFactory]:
    """``await official(engine_or_url, name, **InitOptions)``: a connected official client.

    ``expect_connected=False`` skips the connected check, for a client the engine may reject
    (its rejection can land before ``register_worker`` returns).

    OpenTelemetry is off for in-process clients: the official SDK initialises it once per
    process, globally, against whichever engine came first. Subprocess clients keep it on.
    """
    from iii import InitOptions, register_worker

    clients: list[Any] = []

    async def connect(
        target: Engine | str, name: str, *, expect_connected: bool = True, **options: Any
    ) -> Any:
        url = target if isinstance(target, str) else target.worker_url
        options.setdefault("otel", {"enabled": False})
        init = InitOptions(worker_name=name, **options)
        client = await asyncio.to_thread(register_worker, url, init)
        clients.append(client)
        if expect_connected:
            assert client.get_connection_state() == "connected"
        return client

    yield connect
    for client in reversed(clients):
        await close_official(client)


def _sync_handler_threads() -> list[threading.Thread]:
    """Threads the official SDK started to run sync handlers that have not finished yet."""
    return [
        thread
        for thread in threading.enumerate()
        if "III.register_function" in getattr(getattr(thread, "_target", None), "__qualname__", "")
    ]


async def close_official(client: Any) -> None:
    """Shut an official client down and close its event loop (its ``shutdown`` leaves it open).

    A sync handler still running on its own thread hands its result back to that loop when it
    returns: wait for those threads first, so none of them finds the loop closed.
    """
    if client._thread.is_alive():
        await asyncio.to_thread(client.shutdown)
    await asyncio.to_thread(client._thread.join, WAIT)
    for thread in _sync_handler_threads():
        await asyncio.to_thread(thread.join, WAIT)
    if not client._thread.is_alive() and not client._loop.is_closed():
        client._loop.close()


async def official_call(client: Any, function_id: str, payload: Any = None, **extra: Any) -> Any:
    """``client.trigger(...)`` from a thread (the official sync API blocks)."""
    request = {"function_id": function_id, "payload": payload, **extra}
    return await asyncio.to_thread(client.trigger, request)


@pytest.fixture
def thread_event() -> Iterator[threading.Event]:
    """A ``threading.Event`` set at teardown, to release handlers blocked in SDK threads."""
    event = threading.Event()
    yield event
    event.set()


async def wait_for_binding(
    engine: Engine, function_id: str, within: float = WAIT
) -> dict[str, Any]:
    """Wait until a live binding targeting ``function_id`` is listed; return its row."""

    async def row() -> dict[str, Any] | None:
        listing = await engine.invoke(
            "engine::registered-triggers::list", {"function_id": function_id}
        )
        rows = [r for r in listing["registered_triggers"] if r["function_id"] == function_id]
        return rows[0] if rows else None

    found: dict[str, Any] = await eventually(row, f"a binding to {function_id}", within)
    return found
