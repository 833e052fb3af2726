"""Acknowledged means committed: items answered by ``stream::set`` survive ``kill -9``."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import yaml

from iii_sdk.worker import Worker
from tests.cli.clirun import WAIT_S, cli_env, free_port


async def _engine(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iii_engine",
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=cli_env(),
    )


@contextlib.asynccontextmanager
async def _client(port: int) -> AsyncIterator[Worker]:
    """An SDK worker; it retries until the engine process listens (its only readiness signal)."""
    worker = Worker(f"ws://127.0.0.1:{port}", name="test")
    try:
        async with asyncio.timeout(WAIT_S):
            await worker.connect()
            await wait_for_function(worker, "stream::set")
        yield worker
    finally:
        await worker.close()


async def wait_for_function(worker: Worker, function_id: str) -> None:
    """Until the engine lists ``function_id`` (built-ins start with the engine, not before)."""
    while True:
        listed = await worker.trigger("engine::functions::list", {})
        if function_id in {row["function_id"] for row in listed["functions"]}:
            return
        await asyncio.sleep(0.05)


async def test_acknowledged_items_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "workers": [
                    {"name": "iii-worker-manager", "config": {"host": "127.0.0.1", "port": port}},
                    {"name": "stream", "config": {"host": "127.0.0.1", "port": 0}},
                ]
            }
        )
    )
    where = {"stream_name": "s", "group_id": "g"}
    process = await _engine(config)
    try:
        async with _client(port) as client:
            calls = [
                client.trigger("stream::set", {**where, "item_id": f"i{i}", "data": i})
                for i in range(50)
            ]
            await asyncio.gather(*calls)
    finally:
        process.kill()
        await process.wait()
    assert (tmp_path / "data" / "stream.sqlite3").is_file()

    process = await _engine(config)
    try:
        async with _client(port) as client:
            listed = await client.trigger("stream::list", where)
        assert sorted(listed) == list(range(50))
    finally:
        process.terminate()
        await process.wait()
