"""Cells: one measurement on fresh processes. Scenarios are built from them.

A cell starts its system, warms up, reads the router's CPU, runs the measured load, reads the CPU
again and the RSS, stops every process, and returns flat metrics: ``rate`` (ops/s), ``p50_us``,
``p99_us``, ``cpu_us`` (router CPU per operation), ``client_cpu_us`` (the load client's),
``rss_mb``, plus cell-specific figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from bench import load
from bench.frames import invoke_head
from bench.load import LoadResult
from bench.stats import percentile
from bench.systems import Options, System, SystemContext

if TYPE_CHECKING:
    from bench.load import RawSocket

Metrics = dict[str, float]
SystemFactory = Callable[[Options], SystemContext]


@dataclass(frozen=True)
class Budget:
    """Per-cell time and count bounds."""

    warmup: float
    duration: float
    max_ops: int


@dataclass
class Context:
    """What every cell needs: process options and load budget."""

    opts: Options
    budget: Budget
    quick: bool

    @property
    def logdir(self) -> Path:
        """Where child logs and generated configs go."""
        return self.opts.logdir


@dataclass(frozen=True)
class Cell:
    """A named measurement; ``key`` identifies it so scenarios can share cells within a rep."""

    key: str
    run: Callable[[Context], Awaitable[Metrics]]


def figures(result: LoadResult, system: System | None, meter: CpuMeter | None) -> Metrics:
    """The standard metrics of a load result."""
    out: Metrics = {
        "rate": result.rate,
        "ops": float(result.ops),
        "p50_us": percentile(result.latencies, 50) * 1e6,
        "p99_us": percentile(result.latencies, 99) * 1e6,
    }
    if meter is not None and result.ops:
        out["cpu_us"] = meter.router_s / result.ops * 1e6
        out["client_cpu_us"] = meter.client_s / result.ops * 1e6
    if system is not None:
        out["rss_mb"] = system.router.rss_kb() / 1024
    return out


class CpuMeter:
    """CPU seconds of the router process, and of this (load client) process, over a phase."""

    def __init__(self, system: System) -> None:
        self._proc = system.router
        self._router0 = 0.0
        self._client0 = 0.0
        self.router_s = 0.0
        self.client_s = 0.0

    @staticmethod
    def _own() -> float:
        times = os.times()
        return times.user + times.system

    def start(self) -> None:
        """Begin a measurement."""
        self._router0 = self._proc.cpu_seconds()
        self._client0 = self._own()

    def stop(self) -> CpuMeter:
        """End the measurement; the figures are in ``router_s`` and ``client_s``."""
        self.router_s = self._proc.cpu_seconds() - self._router0
        self.client_s = self._own() - self._client0
        return self


@contextlib.asynccontextmanager
async def raw_sockets(url: str, count: int) -> AsyncIterator[list[RawSocket]]:
    """``count`` raw client sockets to ``url``."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = [await load.connect_ws(session, url) for _ in range(count)]
        try:
            yield sockets
        finally:
            for ws in sockets:
                await ws.close()


def ws_cell(
    key: str,
    factory: SystemFactory,
    *,
    window: int,
    connections: int = 1,
    heads: Callable[[], list[bytes]] | None = None,
    payload: bytes = b'{"n":1}',
    function_id: str = "bench::echo",
    prime: tuple[str, Any] | None = None,
) -> Cell:
    """Raw client: ``connections`` sockets, each with ``window`` invocations in flight.

    ``prime`` is one ``(function_id, payload)`` call made before the warm-up (e.g. a state set
    so that the measured gets find a value).
    """

    async def run(ctx: Context) -> Metrics:
        frames = heads() if heads is not None else [invoke_head(function_id, payload)]
        b = ctx.budget
        per = max(1, b.max_ops // connections)
        async with factory(ctx.opts) as system, raw_sockets(system.ws_url, connections) as wss:
            if prime is not None:
                await load.call(wss[0], *prime)
            await _gather_pumps(wss, frames, window, per // 10 + window, b.warmup)
            meter = CpuMeter(system)
            meter.start()
            result = await _gather_pumps(wss, frames, window, per, b.duration)
            return figures(result.check(), system, meter.stop())

    return Cell(key, run)


async def _gather_pumps(
    wss: list[RawSocket],
    frames: list[bytes],
    window: int,
    max_ops: int,
    duration: float,
) -> LoadResult:
    results = await asyncio.gather(
        *(load.ws_pump(ws, frames, window=window, max_ops=max_ops, duration=duration) for ws in wss)
    )
    return load.merge(results)


def ws_batch_cell(key: str, factory: SystemFactory, *, batch: int = 8) -> Cell:
    """Raw client: batches of ``batch`` concurrent invocations; latency is per batch."""

    async def run(ctx: Context) -> Metrics:
        head = invoke_head("bench::echo", b'{"n":1}')
        b = ctx.budget
        async with factory(ctx.opts) as system, raw_sockets(system.ws_url, 1) as (ws,):
            await load.ws_batches(ws, head, batch=batch, max_ops=200, duration=b.warmup)
            result = await load.ws_batches(
                ws, head, batch=batch, max_ops=b.max_ops // batch, duration=b.duration
            )
            return figures(result.check(), system, None)

    return Cell(key, run)


HTTP_BODY = b'{"n":1,"text":"hello"}'


def http_cell(key: str, factory: SystemFactory, *, connections: int) -> Cell:
    """HTTP client: ``connections`` keep-alive connections, one request in flight on each."""

    async def run(ctx: Context) -> Metrics:
        b = ctx.budget
        async with factory(ctx.opts) as system, load.http_session(connections) as session:
            url = system.http_url
            await load.http_load(
                session,
                url,
                HTTP_BODY,
                window=connections,
                max_ops=b.max_ops // 10 + connections,
                duration=b.warmup,
            )
            meter = CpuMeter(system)
            meter.start()
            result = await load.http_load(
                session, url, HTTP_BODY, window=connections, max_ops=b.max_ops, duration=b.duration
            )
            return figures(result.check(), system, meter.stop())

    return Cell(key, run)


def http_batch_cell(key: str, factory: SystemFactory, *, batch: int = 8) -> Cell:
    """HTTP client: batches of ``batch`` concurrent requests; latency is per batch."""

    async def run(ctx: Context) -> Metrics:
        b = ctx.budget
        async with factory(ctx.opts) as system, load.http_session(batch) as session:
            url = system.http_url
            await load.http_batches(
                session, url, HTTP_BODY, batch=batch, max_ops=100, duration=b.warmup
            )
            result = await load.http_batches(
                session,
                url,
                HTTP_BODY,
                batch=batch,
                max_ops=b.max_ops // batch,
                duration=b.duration,
            )
            return figures(result.check(), system, None)

    return Cell(key, run)
