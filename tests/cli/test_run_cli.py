"""``python -m iii_engine``: config errors, subcommands, and the engine run as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from iii_engine._version import ENGINE_VERSION
from iii_engine.cli._rawclient import RawClient
from tests.cli.clirun import QUICKSTART, WAIT_S, cli_env, free_port, iii

# --- configuration errors (the engine never starts) -------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "workers:\n  - name: iii-worker-manager\n    config: {port: abc}\n",
            "Error: workers[0].config.port: expected int, got str\n",
        ),
        ("workers: []\nworker: []\n", "Error: worker: unknown top-level key"),
        ("workers:\n  - name: no-such-worker\n", "Error: workers[0].name: unknown worker"),
        ("workers:\n  - name: a\n    command: [x]\n    restart: maybe\n", "workers[0].restart"),
        ("workers:\n  - name: x\n    config: {p: ${III_TEST_NOT_SET}}\n", "'III_TEST_NOT_SET'"),
    ],
)
async def test_bad_config_exits_1_naming_the_key(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml_text)
    run = await iii("--config", str(bad))
    assert run.code == 1
    assert message in run.err
    assert run.err.startswith("Error: ")
    assert "Traceback" not in run.err


async def test_port_in_use_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "c.yaml"
        manager = f"{{host: 127.0.0.1, port: {port}}}"
        config.write_text(f"workers:\n  - name: iii-worker-manager\n    config: {manager}\n")
        run = await iii("--config", str(config))
    assert run.code == 1
    # Built-ins (iii-observability runs always) start before the listeners: their "worker
    # started" lines may come first; the error is the last line.
    assert run.err.splitlines()[-1].startswith("Error: cannot start the engine:")
    assert run.err.endswith("(another engine running? `iii status` shows what answers there)\n")
    assert "Traceback" not in run.err


async def test_config_from_env_and_cwd(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("workers:\n  - name: iii-worker-manager\n    config: {hots: x}\n")
    hots_error = "Error: workers[0].config.hots: unknown key (did you mean host?)\n"
    run = await iii(env=cli_env(III_CONFIG=str(bad)))
    assert (run.code, run.err) == (1, hots_error)
    run = await iii(cwd=tmp_path)
    assert (run.code, run.err) == (1, hots_error)


async def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    run = await iii("--config", str(tmp_path / "nope.yaml"))
    assert run.code == 1
    assert "cannot read config file" in run.err
    assert not (tmp_path / "nope.yaml").exists()


async def test_version() -> None:
    for flag in ("-v", "--version"):
        run = await iii(flag)
        assert (run.code, run.out) == (0, f"iii {ENGINE_VERSION}\n")


async def test_check_config(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "workers:\n  - name: iii-worker-manager\n    config: {port: 1}\n"
        "  - name: w\n    command: [python, w.py]\n"
    )
    run = await iii("check-config", str(good))
    assert run.code == 0, run.err
    assert "OK" in run.out and "iii-worker-manager, w" in run.out
    bad = tmp_path / "bad.yaml"
    bad.write_text("workers:\n  - name: iii-worker-manager\n    config: {port: [1]}\n")
    run = await iii("check-config", str(bad))
    assert (run.code, run.err) == (1, "Error: workers[0].config.port: expected int, got array\n")


async def test_plugins_lists_the_builtins() -> None:
    run = await iii("plugins")
    assert "PLUGIN" in run.out and "WORKER" in run.out
    assert "iii-http" in run.out


async def test_status_unreachable_exits_1() -> None:
    run = await iii("status", "--port", str(free_port()), "--timeout-ms", "300")
    assert run.code == 1
    assert run.err.startswith("Error: no engine answering at ws://localhost:")


async def test_unknown_option_exits_2() -> None:
    run = await iii("--no-such-flag")
    assert run.code == 2


# --- the engine as a process, with the quickstart's worker process -----------------------------


@pytest.fixture
async def quickstart(
    tmp_path: Path,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int, int]]:
    """``python -m iii_engine --config examples/quickstart/config.yaml`` on free ports, its
    state in ``tmp_path`` (yields the process, the worker port and the HTTP port)."""
    port, http_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        "--config",
        str(QUICKSTART / "config.yaml"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(
            III_PORT=str(port),
            III_HTTP_PORT=str(http_port),
            III_CONSOLE_PORT="0",
            III_STATE_DIR=str(tmp_path),
        ),
    )
    try:
        yield process, port, http_port
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


async def _wait_listed(port: int, function: str, listing: str = "functions") -> None:
    """Until ``engine::<listing>::list`` has a row for ``function`` (a function id)."""
    # The engine announces no event for "a remote worker registered X"; poll with a deadline.
    key = listing.replace("-", "_")
    async with RawClient(f"ws://127.0.0.1:{port}", timeout_s=WAIT_S, name="test") as client:
        async with asyncio.timeout(WAIT_S):
            while True:
                listed = await client.call(f"engine::{listing}::list", {})
                if any(row["function_id"] == function for row in listed[key]):
                    return
                await asyncio.sleep(0.05)


async def _worker_pid(port: int, name: str) -> int:
    async with RawClient(f"ws://127.0.0.1:{port}", timeout_s=WAIT_S, name="test") as client:
        info = await client.call("engine::workers::info", {"name": name})
    pid: int = info["worker"]["pid"]
    return pid


def _alive(pid: int) -> bool:
    with contextlib.suppress(FileNotFoundError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


async def test_quickstart_end_to_end(
    quickstart: tuple[asyncio.subprocess.Process, int, int],
) -> None:
    engine, port, http_port = quickstart
    assert engine.stdout is not None
    banner = await asyncio.wait_for(engine.stdout.readline(), WAIT_S)
    assert banner.decode().startswith(f"iii engine {ENGINE_VERSION}")
    await _wait_listed(port, "math::add")

    run = await iii("trigger", "math::add", "a=2", "b=3", "--port", str(port))
    assert (run.code, run.out, run.err) == (0, '{\n  "c": 5\n}\n', "")

    # The quickstart's route, served by its TypeScript caller-worker (compiled by scripts/test).
    await _wait_listed(port, "math::add_two_numbers", "registered-triggers")
    url = f"http://127.0.0.1:{http_port}/math/add-two-numbers"
    async with aiohttp.ClientSession() as http, http.post(url, json={"a": 2, "b": 3}) as response:
        assert (response.status, await response.json()) == (200, {"c": 5, "running_total": 5})

    status = await iii("status", "--port", str(port))
    assert status.code == 0, status.err
    assert "math-worker" in status.out and "math::add" in status.out
    assert "TRIGGER TYPE" in status.out

    worker_pid = await _worker_pid(port, "math-worker")
    assert _alive(worker_pid)
    engine.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(engine.communicate(), WAIT_S)
    assert engine.returncode == 0, err.decode()
    assert "[math-worker] started python math_worker.py" in err.decode()
    assert not _alive(worker_pid)
