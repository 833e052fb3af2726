"""Cells whose load client is a library: ``iii_sdk.Worker``, the official ``iii-sdk``, nats-py.

These show what users of each client see; the raw client of :mod:`bench.cells` shows the
engine's own cost.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
from collections.abc import Awaitable, Callable
from typing import Any

from bench import load
from bench.cells import Cell, Context, CpuMeter, Metrics, SystemFactory, figures
from bench.load import LoadResult
from bench.systems import System

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
