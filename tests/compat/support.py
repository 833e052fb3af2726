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
import contextlib
import os
import shutil
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from iii_engine.engine import Engine
from iii_engine.testing import start_engine

COMPAT_DIR = Path(__file__).resolve().parent
NODE_DIR = COMPAT_DIR / "node"
PY_WORKER = COMPAT_DIR / "python" / "official_worker.py"
REPO_ROOT = COMPAT_DIR.parent.parent

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

    OpenTelemetry is off for in-process clients: the official SDK initialises it once per
    process, globally, against whichever engine came first. Subprocess clients keep it on.
    """
    from iii import InitOptions, register_worker

    clients: list[Any] = []

    async def connect(target: Engine | str, name: str, **options: Any) -> Any:
        url = target if isinstance(target, str) else target.worker_url
        options.setdefault("otel", {"enabled": False})
        init = InitOptions(worker_name=name, **options)
        client = await asyncio.to_thread(register_worker, url, init)
        clients.append(client)
        assert client.get_connection_state() == "connected"
        return client

    yield connect
    for client in reversed(clients):
        await close_official(client)


async def close_official(client: Any) -> None:
    """Shut an official client down and close its event loop (its ``shutdown`` leaves it open)."""
    if client._thread.is_alive():
        await asyncio.to_thread(client.shutdown)
    await asyncio.to_thread(client._thread.join, WAIT)
    if not client._thread.is_alive() and not client._loop.is_closed():
        client._loop.close()


async def official_call(client: Any, function_id: str, payload: Any = None, **extra: Any) -> Any:
    """``client.trigger(...)`` from a thread (the official sync API blocks)."""
    request = {"function_id": function_id, "payload": payload, **extra}
    return await asyncio.to_thread(client.trigger, request)


# --- subprocess workers (official Python worker script, Node scripts) ------------------------


@dataclass
class Proc:
    """A worker subprocess with its stdout lines readable by the test."""

    process: asyncio.subprocess.Process
    name: str
    lines: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    async def expect(self, prefix: str, within: float = WAIT) -> str:
        """Wait for the next stdout line starting with ``prefix``; return the rest of it."""
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            try:
                raw = await asyncio.wait_for(self.process.stdout.readline(), max(remaining, 0))
            except TimeoutError:
                pytest.fail(f"{self.name}: no {prefix!r} line within {within} s{self.diagnose()}")
            if not raw:
                await self.process.wait()
                pytest.fail(
                    f"{self.name} exited ({self.process.returncode}) before printing "
                    f"{prefix!r}{self.diagnose()}"
                )
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def diagnose(self) -> str:
        out = "\n".join(self.lines[-20:])
        err = "\n".join(self.stderr[-40:])
        return f"\n--- stdout ---\n{out}\n--- stderr ---\n{err}"

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


async def _drain(stream: asyncio.StreamReader | None, sink: list[str]) -> None:
    if stream is None:
        return
    while raw := await stream.readline():
        sink.append(raw.decode(errors="replace").rstrip("\n"))


SpawnFactory = Callable[..., Awaitable[Proc]]

_SDK_ENV = frozenset({"III_WORKER_NAME", "III_NAMESPACE", "III_ISOLATION", "OTEL_ENABLED"})


@pytest.fixture
async def spawn() -> AsyncIterator[SpawnFactory]:
    """``await spawn(engine, *argv, name=..., env=...)``: a subprocess with ``III_URL`` set."""
    procs: list[Proc] = []
    drains: list[asyncio.Task[None]] = []

    async def start(
        engine: Engine, *argv: str, name: str, env: dict[str, str] | None = None
    ) -> Proc:
        # The SDKs read these; the tests decide them, not the caller's shell.
        inherited = {k: v for k, v in os.environ.items() if k not in _SDK_ENV}
        full_env = {**inherited, "III_URL": engine.worker_url, **(env or {})}
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=full_env,
            cwd=str(COMPAT_DIR),
        )
        proc = Proc(process, name)
        procs.append(proc)
        drains.append(asyncio.create_task(_drain(process.stderr, proc.stderr)))
        return proc

    yield start
    for proc in procs:
        if proc.process.returncode is None:
            proc.process.terminate()
            try:
                await asyncio.wait_for(proc.process.wait(), 5)
            except TimeoutError:
                await proc.kill()
    for task in drains:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


def node_available() -> None:
    """Fail (not skip) with the set-up command when Node or the Node SDK is not installed."""
    if shutil.which("node") is None:
        pytest.fail("`node` is not on PATH: install Node 20 (and npm), then run ./scripts/test")
    if not (NODE_DIR / "node_modules" / "iii-sdk" / "package.json").is_file():
        pytest.fail(
            "the official Node iii-sdk is not installed in tests/compat/node/node_modules: "
            "run ./scripts/test (it installs it) or `cd tests/compat/node && npm ci`"
        )


@pytest.fixture
def node(spawn: SpawnFactory) -> Callable[..., Awaitable[Proc]]:
    """``await node(engine, "script.mjs", env=...)``: a started Node worker that printed READY."""

    async def start(
        engine: Engine, script: str, env: dict[str, str] | None = None, ready: bool = True
    ) -> Proc:
        node_available()
        proc = await spawn(engine, "node", str(NODE_DIR / script), name=script, env=env)
        if ready:
            await proc.expect("READY", within=20)
        return proc

    return start


@pytest.fixture
def py_worker(spawn: SpawnFactory) -> Callable[..., Awaitable[Proc]]:
    """``await py_worker(engine, mode)``: ``python/official_worker.py <mode>``, READY printed."""

    async def start(engine: Engine, mode: str, env: dict[str, str] | None = None) -> Proc:
        proc = await spawn(
            engine, sys.executable, str(PY_WORKER), mode, name=f"official_worker {mode}", env=env
        )
        await proc.expect("READY", within=20)
        return proc

    return start


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


# --- a TCP proxy that can cut the client side of its links ---------------------------------------


class HalfOpenProxy:
    """Forwards TCP connections to the engine's worker listener.

    :meth:`cut_clients` aborts the client side of every current link but keeps the engine side
    open and silent, as a broken network path does: the SDK reconnects while the engine still
    sees its old connection alive.
    """

    def __init__(self, engine: Engine) -> None:
        self.target = engine.worker_url.removeprefix("ws://").split(":")
        self._server: asyncio.Server | None = None
        self._clients: list[asyncio.StreamWriter] = []
        self._upstreams: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def __aenter__(self) -> HalfOpenProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._clients + self._upstreams:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.target
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._clients.append(writer)
        self._upstreams.append(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65536):
                if dst.is_closing():
                    continue
                dst.write(data)
                await dst.drain()

    def cut_clients(self) -> None:
        """Abort the SDK side of every link; the engine side stays open, and gets nothing more."""
        for writer in self._clients:
            writer.transport.abort()
        self._clients.clear()


def free_port() -> int:
    """A TCP port that was free a moment ago (for an engine restarted on the same port)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fixed_port_listener(port: int) -> str:
    """A config whose worker listener is on ``127.0.0.1:port``."""
    entry = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": port}}
    return yaml.safe_dump({"workers": [entry]})
