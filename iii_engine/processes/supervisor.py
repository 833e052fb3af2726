"""Worker processes declared in config: start, prefix output, restart, watch, stop.

An entry with ``command`` runs that argv (no shell); upstream's ``iii-exec`` runs its ``exec``
commands through ``sh -c`` one after the other (a failing step aborts the pipeline) and keeps the
last one running. Every process gets ``III_URL`` / ``III_ENGINE_URL`` and ``III_WORKER_NAME``, its
own process group, and has its output copied line by line with a ``[name] `` prefix.

Restart policy (``restart:``): ``always``, ``on-failure`` (non-zero exit or signal) or ``never``,
with exponential backoff (1 s doubling to 30 s, back to 1 s after 60 s of uptime), each restart
logged with its number and delay. A process that cannot start at all (its program is not on
``PATH``, its ``cwd`` does not exist) is marked failed with the reason and not restarted until
the config or a watched file changes. A change to a
file matching ``watch`` restarts the process at once. Stopping sends SIGTERM to the group, waits a
grace period (3 s), then sends SIGKILL. On Linux a child is also killed by the kernel if the
engine dies without stopping it (``PR_SET_PDEATHSIG``), so a crashed engine leaves no orphans.

Example::

    supervisor = Supervisor()
    await supervisor.start(entry, "ws://127.0.0.1:49134")
    ...
    await supervisor.stop_all()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

import watchfiles

from iii_engine.config.preflight import process_problem
from iii_engine.config.schema import WorkerEntry

__all__ = ["OutputSink", "Supervisor", "glob_to_regex"]

logger = logging.getLogger("iii.supervisor")

OutputSink = Callable[[str, str], None]
"""Receives ``(stream, line)`` for every output line, ``stream`` being "stdout" or "stderr"."""

_CHUNK: Final = 65536
_DRAIN_S: Final = 1.0
_GLOB_CHARS: Final = frozenset("*?[")


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook asking the kernel to SIGKILL the child if the engine dies
    without stopping it (e.g. SIGKILL), so workers are never orphaned."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def die_with_parent() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return die_with_parent


_DIE_WITH_PARENT: Final = _parent_death_signal()


def _default_sink(stream: str, line: str) -> None:
    out = sys.stderr if stream == "stderr" else sys.stdout
    out.write(line + "\n")
    out.flush()


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a path glob where ``**`` spans directories and ``*`` / ``?`` stay within one."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _watch_root(pattern: str) -> Path:
    parts: list[str] = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS & set(part):
            break
        parts.append(part)
    root = Path(*parts) if parts else Path("/")
    while not root.is_dir() and root != root.parent:
        root = root.parent
    return root


class _Managed:
    """One supervised entry: its run loop, current process, output readers and watcher."""

    def __init__(self, entry: WorkerEntry, url: str, owner: Supervisor) -> None:
        self.entry = entry
        self.label = entry.instance_id
        self.owner = owner
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "III_URL": url,
            "III_ENGINE_URL": url,
            "III_WORKER_NAME": entry.name,
            **entry.env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = asyncio.Event()
        self.spawned = asyncio.Event()
        self.failed: str | None = None
        """Why the process cannot start (command not found, missing cwd); None once it runs."""
        self.settled = asyncio.Event()
        """Set once the process started or failed to start."""
        self.restarts = 0
        self.restart_now = False
        self.kick = asyncio.Event()
        self.readers: set[asyncio.Task[None]] = set()
        self.task = asyncio.create_task(self._run(), name=f"supervise:{self.label}")
        self.watcher: asyncio.Task[None] | None = None
        if entry.watch:
            self.watcher = asyncio.create_task(self._watch(), name=f"watch:{self.label}")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.owner.backoff_initial
        while not self.stopping.is_set():
            started = loop.time()
            self.kick.clear()
            code = await self._run_once()
            if self.stopping.is_set():
                break
            if self.failed is not None and not self.restart_now:
                # Restarting cannot help until the config or a watched file changes.
                logger.error("[%s] failed: %s; not restarting", self.label, self.failed)
                if not self.entry.watch:
                    break
                await self._pause(None)
            elif not self.restart_now:
                policy = self.entry.restart
                if policy == "never" or (policy == "on-failure" and code == 0):
                    logger.info("[%s] exited with code %s (restart: %s)", self.label, code, policy)
                    if not self.entry.watch:
                        break
                    await self._pause(None)  # until a watched file changes
                else:
                    if loop.time() - started >= self.owner.stable_after:
                        delay = self.owner.backoff_initial
                    self.restarts += 1
                    logger.warning(
                        "[%s] exited with code %s; restart %d in %.3gs (backoff doubles up to %gs)",
                        self.label,
                        code,
                        self.restarts,
                        delay,
                        self.owner.backoff_max,
                    )
                    await self._pause(delay)
                    delay = min(delay * 2, self.owner.backoff_max)
            if self.restart_now:
                self.restart_now = False
                delay = self.owner.backoff_initial
                logger.info("[%s] restarting: a watched file changed", self.label)

    async def _pause(self, seconds: float | None) -> None:
        """Sleep for ``seconds`` (None: no limit) or until a stop or a watched-file change."""
        waiters = [
            asyncio.ensure_future(self.stopping.wait()),
            asyncio.ensure_future(self.kick.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _run_once(self) -> int:
        if self.entry.command is not None:
            return await self._spawn(self.entry.command)
        steps = self.entry.exec or []
        code = 0
        for step in steps:
            code = await self._spawn(["sh", "-c", step])
            if code != 0 or self.stopping.is_set() or self.restart_now:
                break
        return code

    async def _spawn(self, argv: list[str]) -> int:
        cwd = self.entry.cwd
        problem = process_problem(self.entry)
        if problem is not None:
            return self._fail(problem[1])
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=str(cwd) if cwd is not None else None,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_DIE_WITH_PARENT,
            )
        except OSError as exc:
            return self._fail(f"cannot start {argv[0]}: {exc.strerror or exc}")
        self.process = process
        self.failed = None
        self.spawned.set()
        self.settled.set()
        if self.stopping.is_set():  # stop() ran while we were spawning
            await self.terminate()
        logger.info("[%s] started %s (pid %d)", self.label, " ".join(argv), process.pid)
        readers = [
            self._read(process.stdout, "stdout"),
            self._read(process.stderr, "stderr"),
        ]
        tasks = [asyncio.create_task(r) for r in readers]
        self.readers.update(tasks)
        for task in tasks:
            task.add_done_callback(self.readers.discard)
        code = await process.wait()
        # A background grandchild may keep the pipes open: do not wait for it forever.
        await asyncio.wait(tasks, timeout=_DRAIN_S)
        self.process = None
        return code

    def _fail(self, reason: str) -> int:
        self.failed = reason
        self.settled.set()
        return 127

    async def _read(self, stream: asyncio.StreamReader | None, name: str) -> None:
        if stream is None:
            return
        prefix = f"[{self.label}] "
        pending = b""
        while chunk := await stream.read(_CHUNK):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) >= _CHUNK:  # an endless line: emit what we have
                lines.append(pending)
                pending = b""
            for line in lines:
                self._emit(name, prefix + line.rstrip(b"\r").decode("utf-8", "replace"))
        if pending:
            self._emit(name, prefix + pending.rstrip(b"\r").decode("utf-8", "replace"))

    def _emit(self, stream: str, line: str) -> None:
        try:
            self.owner.sink(stream, line)
        except Exception:  # a broken sink must not kill the reader
            logger.exception("[%s] output sink failed", self.label)

    async def _watch(self) -> None:
        patterns = [glob_to_regex(p) for p in self.entry.watch]
        roots = sorted({str(_watch_root(p)) for p in self.entry.watch})
        if "/" in roots:  # a pattern with no existing directory: never watch the whole disk
            logger.warning("[%s] watch %s has no existing base directory", self.label, roots)
            roots.remove("/")
        if not roots:
            return

        def matches(_change: watchfiles.Change, path: str) -> bool:
            return any(p.match(path) for p in patterns)

        async for _changes in watchfiles.awatch(
            *roots, watch_filter=matches, stop_event=self.stopping, debounce=200, step=20
        ):
            if self.stopping.is_set():
                return
            self.restart_now = True
            self.kick.set()
            await self.terminate()

    async def terminate(self) -> None:
        """SIGTERM the current process group, SIGKILL it after the grace period."""
        process = self.process
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.owner.grace)
        except TimeoutError:
            logger.warning("[%s] did not stop within %.1fs; killing", self.label, self.owner.grace)
        # Also reaps children left in the group after the leader exited.
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()

    async def stop(self) -> None:
        """Stop the run loop, the watcher and the process; return when all are gone."""
        self.stopping.set()
        await self.terminate()
        await self.task
        if self.watcher is not None:
            await self.watcher
        for reader in list(self.readers):
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Supervisor:
    """Runs the process entries of a config, one supervised process (or pipeline) per entry.

    ``sink`` receives each prefixed output line (default: the engine's stdout / stderr).
    The timing knobs exist for tests; the defaults are the documented policy.
    """

    def __init__(
        self,
        *,
        sink: OutputSink | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        grace: float = 3.0,
    ) -> None:
        self.sink: OutputSink = sink or _default_sink
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.grace = grace
        self._managed: dict[str, _Managed] = {}

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._managed

    def pid(self, instance_id: str) -> int | None:
        """The pid of the entry's current process, if one is running."""
        managed = self._managed.get(instance_id)
        process = managed.process if managed else None
        return process.pid if process else None

    def failure(self, instance_id: str) -> str | None:
        """Why the entry's process could not start, if it could not (shown in the banner)."""
        managed = self._managed.get(instance_id)
        return managed.failed if managed else None

    async def settled(self, instance_id: str) -> None:
        """Wait until the entry's process has started, or failed to start, once."""
        managed = self._managed.get(instance_id)
        if managed is not None:
            await managed.settled.wait()

    async def spawned(self, instance_id: str) -> int:
        """Wait until the entry's process has been started at least once; its current pid."""
        managed = self._managed[instance_id]
        await managed.spawned.wait()
        assert managed.process is not None
        return managed.process.pid

    async def wait(self, instance_id: str) -> None:
        """Return once the entry's process has exited for good (its restart policy gave up)."""
        managed = self._managed.get(instance_id)
        if managed is not None:
            await asyncio.shield(managed.task)

    async def start(self, entry: WorkerEntry, engine_url: str) -> None:
        """Start supervising ``entry`` (replacing a running one with the same instance id)."""
        if not entry.is_process:
            raise ValueError(f"{entry.path}: the entry declares no command or exec")
        await self.stop(entry.instance_id)
        self._managed[entry.instance_id] = _Managed(entry, engine_url, self)

    async def stop(self, instance_id: str) -> None:
        """Stop the entry's process (SIGTERM, grace, SIGKILL to its group); no-op if unknown."""
        managed = self._managed.pop(instance_id, None)
        if managed is not None:
            await managed.stop()

    async def stop_all(self) -> None:
        """Stop every supervised process, concurrently."""
        managed, self._managed = list(self._managed.values()), {}
        await asyncio.gather(*(m.stop() for m in managed))
