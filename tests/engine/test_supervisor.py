"""The process supervisor, with real subprocesses: output, env, restarts, watch, stop."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iii_engine.config.schema import WorkerEntry, parse_config
from iii_engine.processes.supervisor import Supervisor, glob_to_regex

PY = sys.executable
DEADLINE_S = 20.0


class Lines:
    """An output sink that can be awaited for a given line."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self._changed = asyncio.Condition()
        self._loop = asyncio.get_running_loop()

    def __call__(self, stream: str, line: str) -> None:
        self.seen.append((stream, line))
        self._loop.create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, line: str, stream: str = "stdout", within: float = DEADLINE_S) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: (stream, line) in self.seen)

    async def wait_count(self, line: str, count: int, within: float = DEADLINE_S) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.stdout().count(line) >= count)

    async def wait_prefix(self, prefix: str) -> str:
        def first() -> str | None:
            return next((line for line in self.stdout() if line.startswith(prefix)), None)

        async with asyncio.timeout(DEADLINE_S), self._changed:
            found = await self._changed.wait_for(first)
        assert found is not None
        return found

    def stdout(self) -> list[str]:
        return [line for stream, line in self.seen if stream == "stdout"]


@pytest.fixture
async def lines() -> Lines:
    return Lines()


@pytest.fixture
async def supervisor(lines: Lines) -> AsyncIterator[Supervisor]:
    sup = Supervisor(sink=lines, backoff_initial=0.05, backoff_max=0.2, grace=0.5)
    yield sup
    await sup.stop_all()


def entry(tmp_path: Path, yaml_body: str) -> WorkerEntry:
    return parse_config(f"workers:\n  - name: w\n{yaml_body}", base_dir=tmp_path).workers[0]


def script(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(code)
    return str(path)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"  # a zombie waiting for a reaper is dead


async def until_gone(pid: int) -> None:
    # The kernel reaps asynchronously and there is no event for another process's death.
    async with asyncio.timeout(DEADLINE_S):
        while not gone(pid):  # noqa: ASYNC110 (no event exists for this)
            await asyncio.sleep(0.02)


async def test_output_is_prefixed_and_env_is_set(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    code = (
        "import os, sys\n"
        "print('url', os.environ['III_URL'])\n"
        "print('name', os.environ['III_WORKER_NAME'], os.environ['EXTRA'])\n"
        "print('cwd', os.getcwd())\n"
        "print('oops', file=sys.stderr)\n"
        "sys.stdout.write('no newline at the end')\n"
    )
    path = script(tmp_path, "w.py", code)
    (tmp_path / "sub").mkdir()
    item = entry(tmp_path, f"    command: [{PY}, {path}]\n    cwd: sub\n    env: {{EXTRA: x}}\n")
    await supervisor.start(item, "ws://127.0.0.1:1234")
    await lines.wait_for("[w] oops", stream="stderr")
    await lines.wait_for("[w] no newline at the end")
    assert "[w] url ws://127.0.0.1:1234" in lines.stdout()
    assert "[w] name w x" in lines.stdout()
    assert f"[w] cwd {(tmp_path / 'sub').resolve()}" in lines.stdout()


async def test_restarts_on_failure_until_success(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    marker = tmp_path / "runs"
    code = (
        "import pathlib, sys\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "n = len(m.read_text()) + 1 if m.exists() else 1\n"
        "m.write_text('x' * n)\n"
        "print('run', n)\n"
        "sys.exit(0 if n >= 3 else 1)\n"
    )
    item = entry(tmp_path, f"    command: [{PY}, {script(tmp_path, 'w.py', code)}]\n")
    await supervisor.start(item, "ws://x")
    async with asyncio.timeout(DEADLINE_S):
        await supervisor.wait("w")
    assert lines.stdout() == ["[w] run 1", "[w] run 2", "[w] run 3"]


async def test_never_does_not_restart(tmp_path: Path, supervisor: Supervisor, lines: Lines) -> None:
    item = entry(tmp_path, "    command: sh -c 'echo once; exit 3'\n    restart: never\n")
    await supervisor.start(item, "ws://x")
    async with asyncio.timeout(DEADLINE_S):
        await supervisor.wait("w")
    assert lines.stdout() == ["[w] once"]


async def test_always_restarts_after_success(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    marker = tmp_path / "n"
    item = entry(
        tmp_path,
        f"    command: sh -c 'echo x >> {marker}; wc -l < {marker}'\n    restart: always\n",
    )
    await supervisor.start(item, "ws://x")
    await lines.wait_for("[w] 3")
    assert lines.stdout()[:3] == ["[w] 1", "[w] 2", "[w] 3"]


async def test_stop_kills_the_whole_group(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    item = entry(tmp_path, "    command: sh -c 'sleep 300 & echo child $!; wait'\n")
    await supervisor.start(item, "ws://x")
    child = await _child_pid(lines)
    leader = supervisor.pid("w")
    assert leader is not None and not gone(child)
    await supervisor.stop("w")
    assert "w" not in supervisor
    await until_gone(child)
    await until_gone(leader)


async def test_sigterm_ignored_escalates_to_sigkill(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    item = entry(tmp_path, "    command: sh -c \"trap '' TERM; sleep 300 & echo child $!; wait\"\n")
    await supervisor.start(item, "ws://x")
    child = await _child_pid(lines)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await supervisor.stop("w")
    assert loop.time() - started >= supervisor.grace * 0.9
    await until_gone(child)


async def _child_pid(lines: Lines) -> int:
    return int((await lines.wait_prefix("[w] child ")).split()[-1])


async def test_exec_pipeline_runs_in_order_and_aborts_on_failure(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    item = parse_config(
        "workers:\n  - name: iii-exec\n    config:\n"
        "      exec: ['echo one', 'echo two; exit 4', 'echo never']\n",
        base_dir=tmp_path,
    ).workers[0]
    await supervisor.start(item, "ws://x")
    async with asyncio.timeout(DEADLINE_S):
        await supervisor.wait("iii-exec")
    assert lines.stdout() == ["[iii-exec] one", "[iii-exec] two"]


async def test_watch_restarts_on_change(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    marker = tmp_path / "n"
    item = entry(
        tmp_path,
        f"    command: sh -c 'echo x >> {marker}; echo start $(wc -l < {marker}); exec sleep 300'\n"
        "    watch: ['src/**/*.py']\n",
    )
    await supervisor.start(item, "ws://x")
    await lines.wait_for("[w] start 1")
    (src / "ignored.txt").write_text("not watched")
    # The watcher arms asynchronously; touch the file until the restart shows (bounded).
    (src / "pkg").mkdir()
    async with asyncio.timeout(DEADLINE_S):
        for i in itertools.count():
            (src / "pkg" / "mod.py").write_text(f"x = {i}\n")
            with contextlib.suppress(TimeoutError):
                await lines.wait_for("[w] start 2", within=0.5)
                break
    assert lines.stdout()[:2] == ["[w] start 1", "[w] start 2"]


HOST_SCRIPT = """
import asyncio, sys
from pathlib import Path
from iii_engine.config.schema import parse_config
from iii_engine.processes.supervisor import Supervisor

async def main():
    entry = parse_config(sys.argv[1], base_dir=Path(".")).workers[0]
    await Supervisor().start(entry, "ws://x")
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
async def test_children_die_with_a_killed_engine(tmp_path: Path) -> None:
    config = "workers:\n  - name: w\n    command: sh -c 'echo pid $$; exec sleep 300'\n"
    host = await asyncio.create_subprocess_exec(
        PY, "-c", HOST_SCRIPT, config, stdout=asyncio.subprocess.PIPE, cwd=tmp_path
    )
    assert host.stdout is not None
    line = await asyncio.wait_for(host.stdout.readline(), DEADLINE_S)
    child = int(line.decode().split()[-1])  # "[w] pid N"
    assert not gone(child)
    host.kill()
    await host.wait()
    await until_gone(child)


async def test_watch_reruns_a_finished_exec_pipeline(
    tmp_path: Path, supervisor: Supervisor, lines: Lines
) -> None:
    (tmp_path / "src").mkdir()
    item = parse_config(
        "workers:\n  - name: iii-exec\n    config:\n"
        "      exec: ['echo build', 'echo run']\n      watch: ['src/*.txt']\n",
        base_dir=tmp_path,
    ).workers[0]
    await supervisor.start(item, "ws://x")
    await lines.wait_for("[iii-exec] run")
    async with asyncio.timeout(DEADLINE_S):
        for i in itertools.count():  # the watcher arms asynchronously: touch until seen
            (tmp_path / "src" / "a.txt").write_text(str(i))
            with contextlib.suppress(TimeoutError):
                await lines.wait_count("[iii-exec] run", 2, within=0.5)
                break
    assert lines.stdout()[:4] == ["[iii-exec] build", "[iii-exec] run"] * 2


def test_glob_to_regex() -> None:
    rx = glob_to_regex("/a/**/*.py")
    assert rx.match("/a/x.py") and rx.match("/a/b/c/x.py")
    assert not rx.match("/a/x.pyc") and not rx.match("/b/x.py")
    assert glob_to_regex("/a/*.py").match("/a/x.py")
    assert not glob_to_regex("/a/*.py").match("/a/b/x.py")


async def test_start_rejects_non_process_entry(tmp_path: Path, supervisor: Supervisor) -> None:
    with pytest.raises(ValueError, match="no command"):
        await supervisor.start(entry(tmp_path, ""), "ws://x")
    assert "w" not in supervisor
