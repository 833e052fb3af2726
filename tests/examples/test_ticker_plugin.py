"""The example third-party plugin (examples/ticker_plugin), installed and fired end to end.

The test set-up installs it with ``pip install --no-deps -e examples/ticker_plugin``; the engine
must then find it through the ``iii`` entry-point group, like any third-party plugin.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

import pytest

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker

ConnectWorker = Callable[..., Awaitable[Worker]]

INSTALL = ".venv/bin/python -m pip install --no-deps -e examples/ticker_plugin"


@pytest.fixture(autouse=True)
def ticker_installed() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="iii")}
    if found.get("ticker") != "iii_ticker.plugin":
        pytest.fail(
            "the example plugin iii-ticker is not installed (no `ticker = iii_ticker.plugin` in "
            f"the `iii` entry-point group; found {found}); install it with: {INSTALL}"
        )


class Ticks:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[dict[str, Any], Any]] = asyncio.Queue()

    async def __call__(self, payload: dict[str, Any], metadata: Any) -> None:
        self.queue.put_nowait((payload, metadata))

    async def take(self, n: int) -> list[tuple[dict[str, Any], Any]]:
        return [await asyncio.wait_for(self.queue.get(), 10) for _ in range(n)]


async def test_ticker_fires_the_bound_function_with_metadata(
    iii_worker: ConnectWorker,
) -> None:
    async with start_engine(workers=[{"name": "iii-ticker"}]) as engine:
        worker = await iii_worker(engine, name="ticker-test")
        ticks = Ticks()
        worker.register_function("test::tick", ticks)
        handle = worker.register_trigger(
            "ticker", "test::tick", {"interval_ms": 10, "max_fires": 3}, metadata={"who": "t"}
        )
        got = await ticks.take(3)
        payloads = sorted((p for p, _ in got), key=lambda p: p["fire"])
        assert [p["fire"] for p in payloads] == [1, 2, 3]
        assert all(p["trigger"] == "ticker" and p["trigger_id"] == handle.id for p in payloads)
        assert all(metadata == {"who": "t"} for _, metadata in got)
        times = [datetime.fromisoformat(p["scheduled_at"]) for p in payloads]
        gaps_ms = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(times)]
        # Fixed rate: ticks are 10 ms apart (a multiple of it if a loaded loop skipped some).
        assert all(gap >= 9 and min(gap % 10, 10 - gap % 10) <= 1 for gap in gaps_ms), gaps_ms
        # max_fires reached: the binding fired exactly three times.
        status = await worker.trigger("ticker::status", {})
        assert status["fires"][handle.id] == 3


async def test_unregistering_stops_the_ticker(iii_worker: ConnectWorker) -> None:
    async with start_engine(workers=[{"name": "ticker"}]) as engine:
        worker = await iii_worker(engine, name="ticker-stop")
        ticks = Ticks()
        worker.register_function("test::forever", ticks)
        handle = worker.register_trigger("ticker", "test::forever", {"interval_ms": 5})
        await ticks.take(2)
        handle.unregister()
        # Frames from one worker are applied in order: the status call sees the removal.
        status = await worker.trigger("ticker::status", {})
        assert handle.id not in status["fires"]


async def test_a_bad_config_rejects_the_binding(iii_worker: ConnectWorker) -> None:
    workers = [{"name": "iii-ticker", "config": {"min_interval_ms": 50}}]
    async with start_engine(workers=workers) as engine:
        worker = await iii_worker(engine, name="ticker-bad")
        worker.register_function("test::never", Ticks())
        too_fast = worker.register_trigger("ticker", "test::never", {"interval_ms": 10})
        missing = worker.register_trigger("ticker", "test::never", {"max_fires": 2})
        error = await asyncio.wait_for(too_fast.rejected(), 10)
        assert error.code == "trigger_registration_failed"
        assert "interval_ms must be at least 50" in error.message
        error = await asyncio.wait_for(missing.rejected(), 10)
        assert error.code == "trigger_registration_failed"
        assert "interval_ms" in error.message
