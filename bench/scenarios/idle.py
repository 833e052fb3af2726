"""Scenario 19: what an idle engine costs when nothing happens.

An engine with every built-in worker (state on its durable file store, HTTP, queue, cron,
stream, pubsub, observability, console) and one connected ``iii_sdk`` worker, left alone: how
often its event loop wakes up and how much CPU all its threads use. Users run engines on
laptops and leave them running; an idle engine should cost nothing measurable. Before the
engine's periodic work was made to wait for its next deadline, the config watcher and the HTTP
timeout sweep woke it ~50 times a second (~0.8 % of a core).
"""

from __future__ import annotations

import asyncio

from bench.cells import Cell, Context, Metrics
from bench.procs import free_port, schedstat
from bench.scenarios.base import Results, Row, Scenario, Target, metric
from bench.systems import engine, engine_available

__all__ = ["IDLE_SCENARIOS"]

STARTUP_S = 1.5
"""Left for the engine's start-up after its worker connected: the start-up banner polls every
50 ms until the workers have been quiet for 0.3 s (measured: busy for ~0.6 s)."""
WINDOW_S = 6.0
"""The measured stretch, in quick runs too: longer than the engine's slowest periodic work
(the config watcher's check-in and the functions-available poll, every 5 s), so a window
always holds one of each instead of none or all of them."""


def _every_builtin() -> list[dict[str, object]]:
    """The built-in workers beside the WebSocket and HTTP listeners, each on its own port."""
    return [
        {
            "name": "iii-state",
            "config": {
                "adapter": {
                    "name": "kv",
                    "config": {"store_method": "file_based", "file_path": "./idle/state.db"},
                }
            },
        },
        {"name": "iii-queue"},
        {"name": "iii-cron"},
        {"name": "iii-stream", "config": {"host": "127.0.0.1", "port": free_port()}},
        {"name": "iii-pubsub"},
        {"name": "iii-console", "config": {"host": "127.0.0.1", "port": free_port()}},
    ]


async def _idle(ctx: Context) -> Metrics:
    async with engine(ctx.opts, http=True, worker="sdk", extra=_every_builtin()) as system:
        pid = system.router.pid
        await asyncio.sleep(STARTUP_S)
        cpu0, wakes0 = schedstat(pid)
        await asyncio.sleep(WINDOW_S)  # the measurement: nothing happens for this long
        cpu1, wakes1 = schedstat(pid)
    return {
        "wakeups_per_s": (wakes1 - wakes0) / WINDOW_S,
        "cpu_pct": (cpu1 - cpu0) / WINDOW_S * 100,
    }


IDLE = Cell("engine idle, every built-in worker", _idle)


def _rows(r: Results) -> list[Row]:
    return [
        Row(
            "idle engine: event-loop wake-ups per second",
            metric(r, IDLE.key, "wakeups_per_s"),
            Target("<=", 2),
            "/s",
        ),
        Row(
            "idle engine: CPU of all its threads",
            metric(r, IDLE.key, "cpu_pct"),
            Target("<=", 0.5),
            "%",
        ),
    ]


IDLE_SCENARIOS = [
    Scenario(
        "19",
        "an idle engine with every built-in worker: wake-ups and CPU",
        lambda ctx: [IDLE],
        _rows,
        engine_available,
    ),
]
