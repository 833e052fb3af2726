"""Scale and footprint scenarios: 7 (10,000 functions), 10 (memory)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import WSMsgType

from bench.cells import Cell, Context, Metrics, ws_cell
from bench.frames import (
    PING,
    decode_envelope,
    invoke,
    invoke_head,
    next_id,
    register_function,
    worker_register,
)
from bench.load import LoadError, call, connect_ws
from bench.scenarios.base import Results, Row, Scenario, Target, metric, ratio
from bench.scenarios.invoke import ENGINE_64, RELAY_64
from bench.stats import percentile
from bench.systems import (
    Options,
    SystemContext,
    engine,
    engine_available,
    relay_floor,
)

if TYPE_CHECKING:
    from bench.load import RawSocket

_TEXT = WSMsgType.TEXT
_now = time.perf_counter
WORKERS, PER_WORKER = 100, 100
BIG = 10_000
PROBE_CADENCE = 0.001
BASELINE_TICKS = 100
CLEANUP_DEADLINE = 10.0


def _grid_heads() -> list[bytes]:
    # Interleave workers so consecutive calls go to different sockets.
    return [
        invoke_head(f"bench7::c{c}::f{i}", b'{"n":1}')
        for i in range(PER_WORKER)
        for c in range(WORKERS)
    ]


def _grid_engine(opts: Options) -> SystemContext:
    return engine(opts, connections=WORKERS, functions=PER_WORKER, prefix="bench7")


GRID_64 = ws_cell(
    f"engine ws {WORKERS}x{PER_WORKER} functions w64", _grid_engine, window=64, heads=_grid_heads
)


def _one_worker_heads() -> list[bytes]:
    # The same 10,000-function registry, calls spread over the 100 functions of one worker:
    # isolates what the registry size costs from what 100 busy sockets cost (the info rows).
    return [invoke_head(f"bench7::c0::f{i}", b'{"n":1}') for i in range(PER_WORKER)]


GRID_ONE_64 = ws_cell(
    f"engine ws {WORKERS}x{PER_WORKER} functions, calls to one worker w64",
    _grid_engine,
    window=64,
    heads=_one_worker_heads,
)


def _grid_relay(opts: Options) -> SystemContext:
    return relay_floor(opts, connections=WORKERS, functions=PER_WORKER, prefix="bench7")


RELAY_GRID_64 = ws_cell(
    f"relay ws {WORKERS}x{PER_WORKER} functions w64", _grid_relay, window=64, heads=_grid_heads
)


def unlimited_session() -> aiohttp.ClientSession:
    """A client session with no cap on concurrent connections (sockets hold theirs)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


async def until_pong(ws: RawSocket, within: float = 60.0) -> None:
    """Read frames until a ``pong`` arrives (frames before it are dropped)."""
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
                raise LoadError(f"socket ended while waiting for pong: {msg.type.name}")
            if decode_envelope(msg.data).type == "pong":
                return


async def _register(ws: RawSocket, name: str, ids: list[str]) -> None:
    await ws.send_frame(worker_register(name, os.getpid()), _TEXT)
    for fid in ids:
        await ws.send_frame(register_function(fid), _TEXT)
    await ws.send_frame(PING, _TEXT)
    await until_pong(ws)


async def _count_listed(ws: RawSocket, prefix: str) -> int:
    listed = await call(ws, "engine::functions::list", {"prefix": prefix})
    return len(listed.get("functions", []))


async def _register_big(
    url: str, session: aiohttp.ClientSession, probe: RawSocket
) -> tuple[RawSocket, float]:
    """Register BIG functions on a new socket; seconds until the engine lists them all."""
    big = await connect_ws(session, url)
    t0 = _now()
    await _register(big, f"bench-big-{os.getpid()}", [f"bench7big::f{i}" for i in range(BIG)])
    t_pong = _now() - t0
    deadline = _now() + CLEANUP_DEADLINE
    while await _count_listed(probe, "bench7big::") < BIG:
        if _now() > deadline:
            raise LoadError("10k functions never all listed")
        await asyncio.sleep(0.01)
        t_pong = _now() - t0
    return big, t_pong


class _Probe:
    """Pings at a fixed cadence and invokes the big worker's last function until it is gone."""

    def __init__(self, ws: RawSocket) -> None:
        self.ws = ws
        self.pings: collections.deque[float] = collections.deque()
        self.rtts: list[float] = []
        self.gone_at: float | None = None
        self.head = invoke_head(f"bench7big::f{BIG - 1}", b'{"n":1}')

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
                return
            env = decode_envelope(msg.data)
            if env.type == "pong" and self.pings:
                self.rtts.append(_now() - self.pings.popleft())
            elif env.error is not None and env.error.code == "function_not_found":
                self.gone_at = self.gone_at or _now()

    async def tick(self) -> None:
        self.pings.append(_now())
        await self.ws.send_frame(PING, _TEXT)
        if self.gone_at is None:
            await self.ws.send_frame(invoke(self.head, next_id()), _TEXT)


async def _reg_cleanup(ctx: Context) -> Metrics:
    async with engine(ctx.opts, worker=None) as system, unlimited_session() as session:
        probe_ws = await connect_ws(session, system.ws_url)
        big, reg_s = await _register_big(system.ws_url, session, probe_ws)
        probe = _Probe(probe_ws)
        reader = asyncio.create_task(probe.read())
        # The same probe without a cleanup: on a shared 2-core machine the scheduler alone can
        # delay a pong by several ms, and the report should show that next to the stall.
        for _ in range(BASELINE_TICKS):
            await probe.tick()
            await asyncio.sleep(PROBE_CADENCE)
        baseline = list(probe.rtts)
        probe.rtts.clear()
        t_close = _now()
        closing = asyncio.create_task(big.close())
        while probe.gone_at is None and _now() - t_close < CLEANUP_DEADLINE:
            await probe.tick()
            await asyncio.sleep(PROBE_CADENCE)
        for _ in range(20):  # a few more pings: a stall may outlast the removal
            await probe.tick()
            await asyncio.sleep(PROBE_CADENCE)
        await closing
        await probe_ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        if probe.gone_at is None:
            raise LoadError("the 10k-function worker's functions were never removed")
        return {
            "register_s": reg_s,
            "cleanup_ms": (probe.gone_at - t_close) * 1000,
            "stall_ms": max(probe.rtts, default=0.0) * 1000,
            "ping_p50_us": percentile(baseline, 50) * 1e6,
            "idle_ping_max_ms": max(baseline, default=0.0) * 1000,
            "rss_mb": system.router.rss_kb() / 1024,
        }


REG_CLEANUP = Cell(f"engine register+cleanup {BIG} functions", _reg_cleanup)


def _s7_rows(r: Results) -> list[Row]:
    return [
        Row(
            f"{WORKERS * PER_WORKER:,} functions registered / 1 function rate, 64 in flight",
            ratio(r, (GRID_ONE_64.key, "rate"), (ENGINE_64.key, "rate")),
            Target(">=", 0.95),
        ),
        Row(
            f"calls spread over all {WORKERS} workers / 1 function (info)",
            ratio(r, (GRID_64.key, "rate"), (ENGINE_64.key, "rate")),
        ),
        Row(
            "relay: same spread / 1 function (info: what 100 sockets cost)",
            ratio(r, (RELAY_GRID_64.key, "rate"), (RELAY_64.key, "rate")),
        ),
        Row(
            "engine / relay rate, both spread over 100x100 (info)",
            ratio(r, (GRID_64.key, "rate"), (RELAY_GRID_64.key, "rate")),
        ),
        Row(
            f"register {BIG:,} functions",
            metric(r, REG_CLEANUP.key, "register_s"),
            Target("<", 1),
            "s",
        ),
        Row(
            f"cleanup of a {BIG:,}-function worker",
            metric(r, REG_CLEANUP.key, "cleanup_ms"),
            Target("<", 50),
            "ms",
        ),
        Row(
            "max ping round trip during cleanup (loop stall)",
            metric(r, REG_CLEANUP.key, "stall_ms"),
            Target("<=", 20),
            "ms",
        ),
        Row(
            "max ping round trip, same probe, no cleanup (info: noise)",
            metric(r, REG_CLEANUP.key, "idle_ping_max_ms"),
            None,
            "ms",
        ),
    ]


async def _memory(ctx: Context) -> Metrics:
    idle_n = 100 if ctx.quick else 300
    async with engine(ctx.opts, worker=None) as system, unlimited_session() as session:
        eng = system.router
        url = system.ws_url
        probe = await connect_ws(session, url)
        await probe.send_frame(PING, _TEXT)
        await until_pong(probe)
        rss0 = eng.rss_kb()
        idle = [await connect_ws(session, url) for _ in range(idle_n)]
        await asyncio.gather(*(_register(ws, f"bench-idle-{i}", []) for i, ws in enumerate(idle)))
        rss1 = eng.rss_kb()
        functions = await connect_ws(session, url)
        await _register(functions, "bench-functions", [f"bench10::f{i}" for i in range(BIG)])
        rss2 = eng.rss_kb()
        sink = await connect_ws(session, url)
        await _register(sink, "bench-sink", ["bench10::sink"])
        head = invoke_head("bench10::sink", b'{"n":1}')
        for _ in range(BIG):
            await probe.send_frame(invoke(head, next_id()), _TEXT)
        received = 0
        async with asyncio.timeout(60):
            while received < BIG:
                msg = await sink.receive()
                if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
                    raise LoadError("sink socket ended")
                received += decode_envelope(msg.data).type == "invokefunction"
        rss3 = eng.rss_kb()
        for ws in (*idle, functions, sink, probe):
            await ws.close()
        return {
            "idle_worker_kb": (rss1 - rss0) / idle_n,
            "function_kb": (rss2 - rss1) / BIG,
            "pending_kb": (rss3 - rss2) / BIG,
            "rss_mb": rss3 / 1024,
        }


MEMORY = Cell("engine memory (RSS deltas)", _memory)


def _s10_rows(r: Results) -> list[Row]:
    return [
        Row("RSS per idle worker", metric(r, MEMORY.key, "idle_worker_kb"), Target("<=", 25), "KB"),
        Row("RSS per function", metric(r, MEMORY.key, "function_kb"), Target("<=", 1), "KB"),
        Row(
            "RSS per pending invocation", metric(r, MEMORY.key, "pending_kb"), Target("<=", 2), "KB"
        ),
    ]


SCALE_SCENARIOS = [
    Scenario(
        "7",
        f"{BIG:,} functions over {WORKERS} workers; register; cleanup",
        lambda ctx: [ENGINE_64, GRID_ONE_64, GRID_64, RELAY_64, RELAY_GRID_64, REG_CLEANUP],
        _s7_rows,
        engine_available,
    ),
    Scenario(
        "10",
        "memory per idle worker / function / pending invocation",
        lambda ctx: [MEMORY],
        _s10_rows,
        engine_available,
    ),
]
