"""A newcomer's first hour with ``iii`` as a real process: banner, routes, a failing worker,
``iii trigger`` and ``iii status`` against it, and what the log says along the way."""

from __future__ import annotations

import asyncio
import json
import shlex
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.cli.clirun import WAIT_S, cli_env, free_port, iii

WORKER = """\
from iii_sdk import Worker

worker = Worker()
worker.register_function(
    "demo::add",
    lambda p: {"status_code": 200, "body": {"c": p["body"]["a"] + p["body"]["b"]}},
    description="Add two numbers",
)
worker.register_trigger("http", "demo::add", {"api_path": "demo/add", "http_method": "POST"})
worker.register_function("demo::div", lambda p: {"q": p["a"] / p["b"]})
worker.run_forever()
"""


async def _read_until(stream: asyncio.StreamReader, prefix: str) -> list[str]:
    lines: list[str] = []
    async with asyncio.timeout(WAIT_S):
        while True:
            raw = await stream.readline()
            assert raw, f"stdout closed before {prefix!r}: {lines}"
            lines.append(raw.decode().rstrip("\n"))
            if lines[-1].startswith(prefix):
                return lines


@pytest.mark.slow
async def test_first_hour_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    port, http_port = free_port(), free_port()
    (tmp_path / "config.yaml").write_text(
        f"""\
workers:
  - name: iii-worker-manager
    config: {{host: 0.0.0.0, port: {port}}}
  - name: iii-http
    config: {{host: 0.0.0.0, port: {http_port}}}
  - name: demo-worker
    command: [{json.dumps(sys.executable)}, worker.py]
  - name: typo-worker
    command: [no-such-program-iii, run]
"""
    )
    engine = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        "--config",
        str(tmp_path / "config.yaml"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=cli_env(),
    )
    assert engine.stdout is not None and engine.stderr is not None
    stderr = asyncio.create_task(engine.stderr.read())
    try:
        out = await _read_until(engine.stdout, "  try ")
        banner = "\n".join(out)
        assert (
            f"  workers   ws://0.0.0.0:{port}  (every interface; locally ws://127.0.0.1:{port})"
            in out
        )
        assert (
            f"  http      http://0.0.0.0:{http_port}  (iii-http; every interface; locally "
            f"http://127.0.0.1:{http_port})" in out
        )
        assert "  ready     demo-worker" in out
        assert (
            "  failed    typo-worker: 'no-such-program-iii' is not found on PATH "
            "(install it, or give its full path)" in out
        )
        assert "  routes    POST /demo/add -> demo::add" in out, banner
        try_line = out[-1]
        assert try_line.startswith(f"  try       curl -s http://127.0.0.1:{http_port}/demo/add")

        # The example call works as printed (a JSON POST).
        argv = shlex.split(try_line.split(None, 1)[1])
        url = argv[2]
        async with aiohttp.ClientSession() as http, http.post(url, json={"a": 1, "b": 2}) as resp:
            assert resp.status == 200

        flags = ["--port", str(port)]
        run = await iii("trigger", "demo::ad", *flags)
        assert run.code == 1
        assert "(did you mean demo::add?)" in run.err
        run = await iii("trigger", "demo::div", "a=1", "b=0", *flags)
        assert run.err.splitlines()[0] == "Error: invocation_failed: division by zero"

        status = await iii("status", *flags)
        assert status.code == 0, status.err
        assert "http     POST /demo/add  demo::add  demo-worker" in status.out
    finally:
        engine.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT_S):
            await engine.wait()
        log = (await stderr).decode()
    assert engine.returncode == 0, log
    assert "worker connected: demo-worker (python, pid " in log
    assert "[typo-worker] failed: 'no-such-program-iii' is not found on PATH" in log
    assert "iii-cli:" not in log  # the CLI's own connections log at DEBUG only
    assert "POST /demo/add 200 " in log and log.count("iii.http.access") == 1
    assert log.rstrip().endswith("engine stopped")
