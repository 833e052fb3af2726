"""An engine run as a real ``python -m iii_engine`` process, for crash tests (``kill -9``)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.cli.clirun import cli_env

__all__ = ["EngineProcess"]

WAIT_S = 30.0


class EngineProcess:
    """``iii --config <dir>/config.yaml``, restartable in place on the same worker port.

    Without ``port`` the first start binds port 0 and reads the port from the banner: a port
    probed free beforehand can be taken meanwhile (another engine's outgoing connections use
    the same ephemeral range), which made starts fail now and then with "address in use".
    """

    def __init__(
        self,
        directory: Path,
        workers: list[dict[str, Any]],
        port: int | None = None,
        args: tuple[str, ...] = (),
    ):
        self.directory = directory
        self.port = port or 0
        self.workers = workers
        self.config = directory / "config.yaml"
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.output: list[bytes] = []

    def _write_config(self) -> None:
        manager = {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": self.port}}
        self.config.write_text(yaml.safe_dump({"workers": [manager, *self.workers]}))

    @property
    def url(self) -> str:
        """The worker WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start the engine and return once it printed its banner (it is listening)."""
        # Written only while no engine runs: the engine hot-reloads its config file, so
        # rewriting it under a running engine would restart its listener and drop its workers.
        self._write_config()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iii_engine",
            "--config",
            str(self.config),
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=cli_env(),
        )
        stdout = self.process.stdout
        assert stdout is not None
        async with asyncio.timeout(WAIT_S):
            while not (line := await stdout.readline()).startswith(b"iii engine"):
                self.output.append(line)
                assert line, b"".join(self.output)  # exited before its banner
            if self.port == 0:  # the banner names the bound address: "  workers   ws://h:p"
                while not (line := await stdout.readline()).lstrip().startswith(b"workers"):
                    self.output.append(line)
                    assert line, b"".join(self.output)
                self.port = int(line.split()[1].rsplit(b":", 1)[1])  # a restart reuses it
        self._drain = asyncio.ensure_future(self._read(self.process.stdout))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.output.append(line)

    async def kill(self) -> None:
        """``kill -9`` the engine and reap it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await self._drain

    async def stop(self) -> None:
        """SIGTERM (or nothing if it already exited) and reap."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), WAIT_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
            await self._drain
