"""Worker subprocesses for the compat tests: the official Python worker script and Node scripts.

Each prints ``READY`` once its functions are listed by the engine; :meth:`Proc.expect` awaits a
stdout line (bounded), the subprocess's stderr is kept for the failure message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from iii_engine.engine import Engine
from tests.compat.support import COMPAT_DIR, NODE_DIR, PY_WORKER, WAIT


@dataclass
class Proc:
    """A worker subprocess; its stdout and stderr are read continuously (a full pipe would
    block the worker), stdout lines are also queued for :meth:`expect`."""

    process: asyncio.subprocess.Process
    name: str
    lines: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    pending: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    async def expect(self, prefix: str, within: float = WAIT) -> str:
        """Wait for the next stdout line starting with ``prefix``; return the rest of it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            try:
                line = await asyncio.wait_for(self.pending.get(), max(remaining, 0))
            except TimeoutError:
                pytest.fail(f"{self.name}: no {prefix!r} line within {within} s{self.diagnose()}")
            if line is None:
                await self.process.wait()
                pytest.fail(
                    f"{self.name} exited ({self.process.returncode}) before printing "
                    f"{prefix!r}{self.diagnose()}"
                )
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

    async def read_stdout(self) -> None:
        assert self.process.stdout is not None
        while raw := await self.process.stdout.readline():
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            self.pending.put_nowait(line)
        self.pending.put_nowait(None)


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
        drains.append(asyncio.create_task(proc.read_stdout()))
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
