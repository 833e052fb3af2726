"""Worker processes that cannot start, or keep crashing: reported, not retried in silence."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iii_engine.config.preflight import process_problem
from iii_engine.config.schema import WorkerEntry, parse_config
from iii_engine.processes.supervisor import Supervisor


def entry(tmp_path: Path, yaml_body: str) -> WorkerEntry:
    return parse_config(f"workers:\n  - name: w\n{yaml_body}", base_dir=tmp_path).workers[0]


@pytest.fixture
async def supervisor() -> AsyncIterator[Supervisor]:
    sup = Supervisor(sink=lambda stream, line: None, backoff_initial=0.01, backoff_max=0.04)
    yield sup
    await sup.stop_all()


def test_preflight_finds_what_cannot_start(tmp_path: Path) -> None:
    missing = entry(tmp_path, "    command: [no-such-program-iii]\n")
    assert process_problem(missing) == (
        "workers[0].command",
        "'no-such-program-iii' is not found on PATH (install it, or give its full path)",
    )
    no_dir = entry(tmp_path, "    command: [sh]\n    cwd: nowhere\n")
    assert process_problem(no_dir) == (
        "workers[0].cwd",
        f"directory {str(tmp_path / 'nowhere')!r} does not exist",
    )
    relative = entry(tmp_path, "    command: [./run.sh]\n")
    assert process_problem(relative) is not None
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    assert process_problem(relative) == (
        "workers[0].command",
        f"'./run.sh' is not executable ({tmp_path / 'run.sh'})",
    )
    (tmp_path / "run.sh").chmod(0o755)
    assert process_problem(relative) is None
    assert process_problem(entry(tmp_path, f"    command: [{sys.executable}]\n")) is None


async def test_a_process_that_cannot_start_is_failed_once_not_retried(
    tmp_path: Path, supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="iii.supervisor")
    await supervisor.start(entry(tmp_path, "    command: [no-such-program-iii]\n"), "ws://x")
    await supervisor.settled("w")
    reason = "'no-such-program-iii' is not found on PATH (install it, or give its full path)"
    assert supervisor.failure("w") == reason
    await supervisor.wait("w")  # the run loop ended: no restart loop
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"[w] failed: {reason}; not restarting"]


class _Waiter(logging.Handler):
    """Sets ``done`` once a record containing ``text`` is logged (on the loop's thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.done = asyncio.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if self.text in self.messages[-1]:
            self.done.set()


async def test_crash_loop_restarts_are_numbered_and_capped(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    waiter = _Waiter("restart 4 in")
    logger = logging.getLogger("iii.supervisor")
    logger.addHandler(waiter)
    try:
        crash = f"    command: [{sys.executable}, -c, 'raise SystemExit(3)']\n    restart: always\n"
        await supervisor.start(entry(tmp_path, crash), "ws://x")
        async with asyncio.timeout(20):
            await waiter.done.wait()
    finally:
        logger.removeHandler(waiter)
    assert supervisor.failure("w") is None
    restarts = [m for m in waiter.messages if "; restart " in m]
    assert restarts[:4] == [
        f"[w] exited with code 3; restart {n} in {delay}s (backoff doubles up to 0.04s)"
        for n, delay in ((1, "0.01"), (2, "0.02"), (3, "0.04"), (4, "0.04"))
    ]
