"""Cells whose load client is a library: ``iii_sdk.Worker``, the official ``iii-sdk`` (0.23 in
this process, 0.25 in a subprocess of its own venv), nats-py.

These show what users of each client see; the raw client of :mod:`bench.cells` shows the
engine's own cost.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from bench import load
from bench.cells import Cell, Context, CpuMeter, Metrics, SystemFactory, figures
from bench.load import DRAIN_GRACE, LoadError, LoadResult
from bench.procs import REPO, Proc, spawn
from bench.systems import READY_TIMEOUT, System

Load = Callable[[int, float], Awaitable[LoadResult]]
"""Runs a load of at most N operations for S seconds."""

SHUTDOWN_WAIT = 10.0


async def _measure(ctx: Context, system: System, run_load: Load, window: int) -> Metrics:
    b = ctx.budget
    await run_load(b.max_ops // 10 + window, b.warmup)
    meter = CpuMeter(system)
    meter.start()
    result = await run_load(b.max_ops, b.duration)
    return figures(result.check(), system, meter.stop())


def sdk_cell(key: str, factory: SystemFactory, *, window: int) -> Cell:
    """``iii_sdk.Worker`` as the client: ``window`` sync triggers in flight."""

    async def run(ctx: Context) -> Metrics:
        import iii_sdk

        async with factory(ctx.opts) as system:
            worker = iii_sdk.Worker(system.ws_url)
            await worker.connect()

            def run_load(max_ops: int, duration: float) -> Awaitable[LoadResult]:
                return load.sdk_load(
                    worker.trigger,
                    "bench::echo",
                    {"n": 1},
                    window=window,
                    max_ops=max_ops,
                    duration=duration,
                )

            try:
                return await _measure(ctx, system, run_load, window)
            finally:
                await load.close_quietly(worker.close)

    return Cell(key, run)


def official_available() -> bool:
    """True when the official Python SDK (``iii-sdk``, import name ``iii``) is installed."""
    return importlib.util.find_spec("iii") is not None


def official_cell(key: str, factory: SystemFactory, *, window: int) -> Cell:
    """The official ``iii-sdk`` client: ``trigger_async`` driven on the SDK's own loop thread."""

    async def run(ctx: Context) -> Metrics:
        iii: Any = importlib.import_module("iii")
        async with factory(ctx.opts) as system:
            init = iii.InitOptions(
                worker_name=f"bench-official-{os.getpid()}", otel={"enabled": False}
            )
            client = await asyncio.to_thread(iii.register_worker, system.ws_url, init)

            def run_load(max_ops: int, duration: float) -> Awaitable[LoadResult]:
                coro = load.sdk_load(
                    client.trigger_async,
                    "bench::echo",
                    {"n": 1},
                    window=window,
                    max_ops=max_ops,
                    duration=duration,
                )
                return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, client._loop))

            try:
                return await _measure(ctx, system, run_load, window)
            finally:
                await _close_official(client)

    return Cell(key, run)


async def _close_official(client: Any) -> None:
    # Its shutdown() stops the SDK's thread but leaves that thread's loop open.
    await asyncio.to_thread(client.shutdown)
    await asyncio.to_thread(client._thread.join, SHUTDOWN_WAIT)
    if not client._thread.is_alive() and not client._loop.is_closed():
        client._loop.close()


def nats_cell(key: str, factory: SystemFactory, *, window: int) -> Cell:
    """nats-py request/reply with ``window`` requests in flight."""

    async def run(ctx: Context) -> Metrics:
        nats: Any = importlib.import_module("nats")
        async with factory(ctx.opts) as system:
            nc = await nats.connect(system.nats_url)

            def run_load(max_ops: int, duration: float) -> Awaitable[LoadResult]:
                return load.nats_load(
                    nc, "bench.echo", b'{"n":1}', window=window, max_ops=max_ops, duration=duration
                )

            try:
                return await _measure(ctx, system, run_load, window)
            finally:
                await load.close_quietly(nc.close)

    return Cell(key, run)


SDK025_PYTHON = REPO / ".venv-sdk025" / "bin" / "python"


def official025_missing() -> str | None:
    """None when the official ``iii-sdk`` 0.25 venv exists, else why its rows are skipped."""
    if not SDK025_PYTHON.exists():
        return "skipped: .venv-sdk025 missing (scripts/test creates it: ensure_sdk025)"
    return None


def official025_cell(key: str, factory: SystemFactory, *, window: int) -> Cell:
    """The official ``iii-sdk`` 0.25 client, run by its own venv's interpreter in a subprocess
    (``bench/peers/official_client.py``); the engine's CPU is read around the measured phase the
    driver announces with ``start``, the driver's own CPU from /proc."""

    async def run(ctx: Context) -> Metrics:
        why = official025_missing()
        if why is not None:
            raise LoadError(why)
        b = ctx.budget
        async with factory(ctx.opts) as system:
            args = ["--url", system.ws_url, "--window", str(window), "--warmup", str(b.warmup)]
            args += ["--duration", str(b.duration), "--max-ops", str(b.max_ops)]
            # That venv has no uvloop: the driver stays on asyncio even under --uvloop.
            argv = [str(SDK025_PYTHON), "-m", "bench.launch", "bench.peers.official_client"]
            driver = await spawn("official-0.25", [*argv, *args], ctx.logdir)
            try:
                await driver.wait_line("start", READY_TIMEOUT)
                meter = CpuMeter(system)
                meter.start()
                driver0 = driver.cpu_seconds()
                line = await _done_line(driver, b.duration + DRAIN_GRACE + SHUTDOWN_WAIT)
                driver_s = driver.cpu_seconds() - driver0
                meter.stop()
                rss_mb = system.router.rss_kb() / 1024
            finally:
                await driver.stop()
        out = json.loads(line)
        result = LoadResult(ops=out["ops"], elapsed=out["elapsed"], errors=out["errors"])
        result.first_error = out["first_error"]
        result.check()
        ops = max(result.ops, 1)
        return {
            "rate": result.rate,
            "ops": float(result.ops),
            "p50_us": float(out["p50_us"]),
            "p99_us": float(out["p99_us"]),
            "cpu_us": meter.router_s / ops * 1e6,
            "client_cpu_us": driver_s / ops * 1e6,
            "rss_mb": rss_mb,
        }

    return Cell(key, run)


async def _done_line(proc: Proc, within: float) -> str:
    assert proc.proc.stdout is not None
    async with asyncio.timeout(within):
        while True:
            line = await proc.proc.stdout.readline()
            if not line:
                await proc.proc.wait()
                proc.check_alive()
                raise LoadError(f"{proc.name} ended without a result:\n{proc.tail()}")
            if line.startswith(b"done "):
                return line[5:].decode()
