"""Child processes of the bench: start, readiness, CPU and RSS from /proc, stop."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: a bench killed mid-run must not leave an engine or worker running.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ProcessFailed(RuntimeError):
    """A child exited early or never became ready; the message carries its log tail."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def schedstat(pid: int) -> tuple[float, int]:
    """CPU seconds of all of ``pid``'s threads, and how many times its main thread was put on
    a CPU (``/proc/<pid>/task/*/schedstat``: nanoseconds on a CPU, time waiting, timeslices).

    For an event loop's process the main thread's timeslices count its wake-ups; nanoseconds
    make tiny idle CPU measurable where clock ticks (:func:`cpu_seconds`) read zero.
    """
    total_ns = 0
    main_slices = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            on_cpu, _waited, slices = Path(task, "schedstat").read_text().split()[:3]
        except OSError:  # a thread that ended meanwhile
            continue
        total_ns += int(on_cpu)
        if task.name == str(pid):
            main_slices = int(slices)
    return total_ns / 1e9, main_slices


def rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Proc:
    """One child process; stdout is a pipe (for ``ready``), stderr goes to a log file."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.proc = proc
        self.log = log

    @property
    def pid(self) -> int:
        """The child's pid."""
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU time used so far (user + system)."""
        return cpu_seconds(self.pid)

    def rss_kb(self) -> int:
        """Resident set size now."""
        return rss_kb(self.pid)

    def tail(self, lines: int = 15) -> str:
        """The last lines of the child's log, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def check_alive(self) -> None:
        """Raise :class:`ProcessFailed` if the child has exited."""
        if self.proc.returncode is not None:
            raise ProcessFailed(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    async def wait_line(self, token: str, within: float = 30.0) -> None:
        """Wait until the child prints a line equal to ``token`` on stdout."""
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(within):
                while True:
                    line = await self.proc.stdout.readline()
                    if not line:
                        await self.proc.wait()
                        self.check_alive()
                    if line.strip() == token.encode():
                        return
        except TimeoutError:
            raise ProcessFailed(f"{self.name} not ready in {within}s:\n{self.tail()}") from None

    async def wait_port(self, port: int, within: float = 30.0) -> None:
        """Wait until ``127.0.0.1:port`` accepts a connection (polling: there is no event)."""
        deadline = time.monotonic() + within
        delay = 0.005
        while True:
            self.check_alive()
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
            if time.monotonic() > deadline:
                raise ProcessFailed(
                    f"{self.name}: port {port} closed after {within}s\n{self.tail()}"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
        if self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await self.proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            await self.proc.wait()


async def spawn(
    name: str,
    argv: list[str],
    logdir: Path,
    *,
    env: dict[str, str] | None = None,
    pipe_stdout: bool = True,
) -> Proc:
    """Start ``argv`` in its own session (so :meth:`Proc.stop` reaches its children).

    ``pipe_stdout=False`` sends stdout to the log too: for chatty children nobody reads.
    """
    log = logdir / f"{name}.log"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE if pipe_stdout else err,
            stderr=err,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=REPO,
            env=full_env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    return Proc(name, proc, log)


def python_module(*args: str, uvloop: bool = False) -> list[str]:
    """argv running ``[--cprofile FILE] MODULE ARGS...`` through :mod:`bench.launch`."""
    return [sys.executable, "-m", "bench.launch", *(["--uvloop"] if uvloop else []), *args]
