"""``kill -9`` of the engine loses no acknowledged ``state::set`` (file adapter)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker
from tests.plugins.queue.engine_proc import EngineProcess

pytestmark = pytest.mark.slow

STATE = {"name": "iii-state", "config": {"adapter": {"name": "file"}}}


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, [STATE])
    await engine.start()
    client = Worker(engine.url, name="writer")
    acked: set[str] = set()
    enough = asyncio.Event()
    stop = False

    async def writer(lane: int) -> None:
        n = 0
        while not stop:
            key = f"k{lane}-{n}"
            try:
                value = {"key": key}
                await client.trigger("state::set", {"scope": "crash", "key": key, "value": value})
            except InvocationError:
                return  # the engine died before answering: not acknowledged
            acked.add(key)
            n += 1
            if len(acked) >= 2000:
                enough.set()

    try:
        await client.connect()
        lanes = [asyncio.ensure_future(writer(lane)) for lane in range(64)]
        await asyncio.wait_for(enough.wait(), 60)
        await engine.kill()  # writes are still in flight
        stop = True
        await asyncio.gather(*lanes)
        await engine.start()
        stored = await client.trigger("state::list", {"scope": "crash"})  # after reconnecting
    finally:
        await client.close()
        await engine.stop()
    assert acked <= {value["key"] for value in stored}
