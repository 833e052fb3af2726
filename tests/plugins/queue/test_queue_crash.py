"""``kill -9`` of an engine (file adapter) with thousands of messages queued and in flight.

After the restart every acknowledged message runs to completion; duplicates are only jobs that
held a consumer slot when the engine died; FIFO groups resume in order; and the SDK workers,
which stayed up, reconnect and keep consuming on their own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from iii_sdk.errors import InvocationError
from iii_sdk.worker import Worker
from tests.plugins.queue.engine_proc import EngineProcess

pytestmark = pytest.mark.slow

TOTAL = 3000
GROUPS = [f"g{i}" for i in range(4)]
FIFO_PER_GROUP = 150
CONCURRENCY = 8
QUEUE = {
    "name": "iii-queue",
    "config": {
        "queue_configs": {
            "work": {"concurrency": CONCURRENCY, "max_retries": 50, "backoff_ms": 20},
            "fifo": {
                "type": "fifo",
                "message_group_field": "g",
                "concurrency": len(GROUPS),
                "max_retries": 50,
                "backoff_ms": 20,
            },
        }
    },
}


class Tally:
    """What was acknowledged to the producer and what the consumer ran."""

    def __init__(self) -> None:
        self.processed: Counter[int] = Counter()
        self.fifo_seen: dict[str, list[int]] = {g: [] for g in GROUPS}
        self.acked: set[int] = set()
        self.fifo_acked: dict[str, list[int]] = {g: [] for g in GROUPS}
        self.reached = asyncio.Event()
        self.complete = asyncio.Event()
        self.killed = False

    async def work(self, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.002)  # simulated work, so jobs pile up and stay in flight
        self.processed[payload["n"]] += 1
        if len(self.processed) >= TOTAL // 10:
            self.reached.set()
        self.check()

    async def ordered(self, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.001)
        self.fifo_seen[payload["g"]].append(payload["n"])
        self.check()

    def check(self) -> None:
        """Set ``complete`` once (after the crash) every acknowledged message ran."""
        fifo_done = all(set(self.fifo_acked[g]) <= set(self.fifo_seen[g]) for g in GROUPS)
        if self.killed and fifo_done and self.acked <= set(self.processed):
            self.complete.set()

    async def produce(self, producer: Worker, lane: int) -> None:
        for n in range(lane, TOTAL, 32):
            if self.killed:
                return
            action = {"type": "enqueue", "queue": "work"}
            try:
                await producer.trigger("crash::work", {"n": n}, action=action)
            except InvocationError:
                return  # the engine died: this one is not acknowledged
            self.acked.add(n)

    async def produce_group(self, producer: Worker, group: str) -> None:
        for n in range(FIFO_PER_GROUP):
            if self.killed:
                return
            action = {"type": "enqueue", "queue": "fifo"}
            try:
                await producer.trigger("crash::ordered", {"g": group, "n": n}, action=action)
            except InvocationError:
                return
            self.fifo_acked[group].append(n)


async def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, [QUEUE])
    await engine.start()
    tally = Tally()
    consumer = Worker(engine.url, name="consumer")
    producer = Worker(engine.url, name="producer")
    consumer.register_function("crash::work", tally.work)
    consumer.register_function("crash::ordered", tally.ordered)
    try:
        await consumer.connect()
        await producer.connect()
        producers = [asyncio.ensure_future(tally.produce(producer, lane)) for lane in range(32)]
        producers += [asyncio.ensure_future(tally.produce_group(producer, g)) for g in GROUPS]
        await asyncio.wait_for(tally.reached.wait(), 60)
        await engine.kill()
        tally.killed = True
        await asyncio.gather(*producers)
        assert len(tally.acked) > sum(tally.processed.values())  # jobs were still queued
        await engine.start()
        tally.check()
        await asyncio.wait_for(tally.complete.wait(), 60)
    finally:
        await producer.close()
        await consumer.close()
        await engine.stop()

    duplicates = sum(count - 1 for count in tally.processed.values() if count > 1)
    duplicates += sum(len(seen) - len(set(seen)) for seen in tally.fifo_seen.values())
    bound = CONCURRENCY + len(GROUPS)  # the slots that can hold a job when the engine dies
    print(f"acknowledged {len(tally.acked)} + FIFO, duplicates {duplicates} (bound {bound})")
    assert duplicates <= bound
    for group, seen in tally.fifo_seen.items():
        first_runs = list(dict.fromkeys(seen))
        assert first_runs == sorted(first_runs), group
        assert first_runs[: len(tally.fifo_acked[group])] == tally.fifo_acked[group]
