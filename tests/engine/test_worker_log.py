"""The engine's worker connection log lines: named, reconnects told apart, the CLI quiet."""

from __future__ import annotations

import asyncio
import logging
import os

from iii_engine.cli._rawclient import RawClient
from iii_engine.testing import start_engine
from iii_sdk.worker import Worker


class _Lines(logging.Handler):
    """Collects ``iii.engine`` records; ``wait(text)`` returns once one contains ``text``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changed.set()

    async def wait(self, text: str) -> logging.LogRecord:
        async with asyncio.timeout(10):
            while True:
                for record in self.records:
                    if text in record.getMessage():
                        return record
                self._changed.clear()
                await self._changed.wait()


async def test_connect_reconnect_and_cli_lines() -> None:
    lines = _Lines()
    logger = logging.getLogger("iii.engine")
    level = logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        async with start_engine() as engine, Worker(engine.worker_url, name="w1") as worker:
            first = await lines.wait("worker connected: w1 ")
            assert first.levelno == logging.INFO
            assert first.getMessage() == (
                f"worker connected: w1 (python, pid {os.getpid()}, id {worker.worker_id})"
            )
            conn = engine.workers.names[("default", "w1")]
            await conn.close(code=1012)  # the engine drops it; the SDK reconnects
            again = await lines.wait("worker reconnected: w1 ")
            assert again.levelno == logging.INFO
            gone = await lines.wait("worker disconnected: w1 ")
            assert gone.levelno == logging.INFO

            async with RawClient(engine.worker_url, timeout_s=10, name="iii-cli:test") as cli:
                await cli.call("engine::workers::list", {})
            cli_lines = [r for r in lines.records if "iii-cli:test" in r.getMessage()]
            assert cli_lines and all(r.levelno == logging.DEBUG for r in cli_lines)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
