"""Scenario 13: 1,000 cron triggers firing every second.

* lateness of ``actual_time`` against ``scheduled_time`` (p50, p99; target p99 <= 10 ms), and of
  the worker's receipt (delivery, info);
* engine CPU per firing, measured while only the cron jobs run;
* the sync-invoke rate at 64 in flight while the jobs fire, against the same engine and worker
  processes with the jobs unregistered, in alternating windows (target >= 0.95 x).

Cells span at least two whole ticks (a tick is a burst of 1,000 firings on the second).
"""

from __future__ import annotations

import asyncio
import time

from bench.cells import Cell, Context, CpuMeter, Metrics, _gather_pumps, raw_sockets
from bench.frames import invoke_head
from bench.load import call
from bench.scenarios.base import Results, Row, Scenario, Target, metric
from bench.systems import engine, engine_available

JOBS = 1000
MIN_WINDOW_S = 2.0
SETTLE_S = 1.2
"""Warm-up: the first tick after the jobs are registered, before measuring."""


def _window(ctx: Context) -> float:
    return max(MIN_WINDOW_S, ctx.budget.duration)


async def _fire(ctx: Context) -> Metrics:
    async with (
        engine(ctx.opts, worker=None, cron_jobs=JOBS) as system,
        raw_sockets(system.ws_url, 1) as (ws,),
    ):
        await asyncio.sleep(SETTLE_S)
        await call(ws, "bench13::stats", {"reset": True})
        meter = CpuMeter(system)
        meter.start()
        started = time.monotonic()
        await asyncio.sleep(_window(ctx))
        meter.stop()
        elapsed = time.monotonic() - started
        stats = await call(ws, "bench13::stats", {"reset": True})
        rss_mb = system.router.rss_kb() / 1024
    firings = float(stats.get("firings", 0))
    if not firings:
        raise RuntimeError("no cron firing recorded")
    out: Metrics = {k: float(v) for k, v in stats.items()}
    out["cpu_us"] = meter.router_s / firings * 1e6
    out["rate"] = firings / elapsed
    out["rss_mb"] = rss_mb
    return out


CRON_FIRE = Cell(f"engine + {JOBS} cron jobs every second", _fire)


async def _load(ctx: Context) -> Metrics:
    """Alternate windows with the jobs off and on, in the same processes; rates of each."""
    head = invoke_head("bench::echo", b'{"n":1}')
    budget = ctx.budget
    pairs = 1 if ctx.quick else 2
    totals = {False: [0, 0.0], True: [0, 0.0]}  # jobs on? -> [ops, seconds]
    async with (
        engine(ctx.opts, cron_jobs=JOBS) as system,
        raw_sockets(system.ws_url, 2) as (ws, control),
    ):
        await _gather_pumps([ws], [head], 64, budget.max_ops // 10 + 64, budget.warmup)
        for _ in range(pairs):
            for on in (False, True):
                await call(control, "bench13::jobs", {"on": on})
                if on:
                    await asyncio.sleep(SETTLE_S)  # the jobs' first tick
                result = await _gather_pumps([ws], [head], 64, budget.max_ops * 4, _window(ctx))
                result.check()
                totals[on][0] += result.ops
                totals[on][1] += result.elapsed
    off = totals[False][0] / totals[False][1]
    on_rate = totals[True][0] / totals[True][1]
    return {"rate": on_rate, "rate_without": off, "ratio": on_rate / off}


CRON_LOAD_64 = Cell(f"engine ws w64, {JOBS} cron jobs on / off in turn", _load)


def _cells(ctx: Context) -> list[Cell]:
    return [CRON_FIRE, CRON_LOAD_64]


def _ms(value: float | None) -> float | None:
    return None if value is None else value / 1000


def _rows(r: Results) -> list[Row]:
    fire = CRON_FIRE.key
    return [
        Row(
            "lateness p50 (actual_time - scheduled_time)",
            _ms(metric(r, fire, "lateness_p50_us")),
            unit="ms",
        ),
        Row(
            "lateness p99 (actual_time - scheduled_time)",
            _ms(metric(r, fire, "lateness_p99_us")),
            Target("<=", 10.0),
            unit="ms",
        ),
        Row(
            "delivery p99 (received - scheduled_time) (info)",
            _ms(metric(r, fire, "delivery_p99_us")),
            unit="ms",
        ),
        Row("firings per second (info)", metric(r, fire, "rate"), unit="/s"),
        Row("engine CPU per firing (info)", metric(r, fire, "cpu_us"), unit="us"),
        Row(
            "sync-invoke rate with / without the cron jobs, 64 in flight",
            metric(r, CRON_LOAD_64.key, "ratio"),
            Target(">=", 0.95),
        ),
    ]


CRON_SCENARIOS = [
    Scenario(
        "13",
        f"cron: {JOBS:,} triggers firing every second",
        _cells,
        _rows,
        skip=engine_available,
    )
]
