"""Scenario 9: durable queues, enqueue -> worker -> ack, against arq on Redis in the same run.

Every cell starts its own processes: a ``redis-server`` (for the redis adapter and for arq), the
engine with ``iii-queue`` and the raw queue consumer (``bench.peers.queue_worker``). A raw
client keeps 64 enqueues in flight; a job counts when the consumer has run it, so a rate is
``N / (first enqueue .. last job done)``. arq (``bench/setup`` installs it) runs its own worker
process (64 concurrent jobs) fed by 64 concurrent ``enqueue_job`` calls. Also here: the
``state::set`` rate of the file adapter, whose writes are acknowledged only once committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from aiohttp import WSMsgType

from bench.cells import Cell, Context, CpuMeter, Metrics, raw_sockets, ws_cell
from bench.frames import decode_envelope, next_id
from bench.load import LoadError, call
from bench.procs import REPO, Proc, free_port, spawn
from bench.scenarios.base import Results, Row, Scenario, Target, metric, ratio
from bench.systems import Options, System, _python, _running, engine, engine_available

__all__ = [
    "QUEUE_SCENARIOS",
    "enqueue_frame",
    "pump_enqueues",
    "queue_entry",
    "redis_process",
    "redis_server",
]

_TEXT = WSMsgType.TEXT
WINDOW = 64
STATE_PAYLOAD = b'{"scope":"bench","key":"k","value":{"n":1,"text":"hello"}}'


def queue_entry(adapter: dict[str, Any]) -> dict[str, object]:
    """The ``iii-queue`` config entry: queue ``bench`` (concurrency 64, retries 3, no backoff)."""
    queues = {"bench": {"concurrency": WINDOW, "max_retries": 3, "backoff_ms": 0}}
    return {"name": "iii-queue", "config": {"adapter": adapter, "queue_configs": queues}}


@contextlib.asynccontextmanager
async def redis_process(opts: Options) -> AsyncIterator[tuple[str, Proc]]:
    """A fresh ``redis-server`` (no persistence) on a free port; yields its URL and process."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(opts.logdir)]
    proc = await spawn(f"redis-{port}", argv, opts.logdir, pipe_stdout=False)
    try:
        await proc.wait_port(port)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        await proc.stop()


@contextlib.asynccontextmanager
async def redis_server(opts: Options) -> AsyncIterator[str]:
    """:func:`redis_process`, yielding only the URL."""
    async with redis_process(opts) as (url, _):
        yield url


@contextlib.asynccontextmanager
async def _queue_system(opts: Options, kind: str) -> AsyncIterator[System]:
    async with contextlib.AsyncExitStack() as stack:
        if kind == "redis":
            url = await stack.enter_async_context(redis_server(opts))
            adapter = {"name": "redis", "config": {"redis_url": url}}
        else:
            adapter = {"name": "file", "config": {"path": f"queue-{free_port()}.sqlite3"}}
        system = await stack.enter_async_context(
            engine(opts, worker=None, extra=[queue_entry(adapter)])
        )
        consumer = await _python(
            opts, "queue-worker", "bench.peers.queue_worker", "--url", system.ws_url
        )
        stack.push_async_callback(consumer.stop)
        await consumer.wait_line("ready")
        yield system


def enqueue_frame(i: int, fail: bool) -> bytes:
    """An ``invokefunction`` enqueueing job ``i`` of ``bench::job`` on queue ``bench``."""
    data = msgspec.json.encode({"i": i, "t": time.time(), "f": fail})
    return (
        b'{"type":"invokefunction","function_id":"bench::job","action":{"type":"enqueue",'
        b'"queue":"bench"},"data":%s,"invocation_id":"%s"}' % (data, next_id().encode())
    )


async def pump_enqueues(
    ws: Any, n: int, fail_every: int, first: int = 0, window: int = WINDOW
) -> None:
    """``n`` enqueues (job ids from ``first``) with ``window`` in flight; raises on an error."""
    sent = 0
    in_flight = 0
    while sent < min(window, n):
        i = first + sent
        await ws.send_frame(enqueue_frame(i, bool(fail_every) and i % fail_every == 0), _TEXT)
        sent += 1
        in_flight += 1
    while in_flight:
        msg = await ws.receive()
        if msg.type is not _TEXT and msg.type is not WSMsgType.BINARY:
            raise LoadError(f"socket ended: {msg.type.name}")
        env = decode_envelope(msg.data)
        if env.type != "invocationresult":
            continue
        if env.error is not None:
            raise LoadError(f"enqueue failed: {env.error.code}: {env.error.message}")
        in_flight -= 1
        if sent < n:
            i = first + sent
            await ws.send_frame(enqueue_frame(i, bool(fail_every) and i % fail_every == 0), _TEXT)
            sent += 1
            in_flight += 1


async def _until_done(ws: Any, n: int, within: float = 120.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            stats: dict[str, Any] = await call(ws, "bench::jobstats", {})
            if stats["done"] >= n:
                return stats
            await asyncio.sleep(0.002)


def _jobs(ctx: Context) -> int:
    return 2_000 if ctx.quick else 10_000


def queue_cell(key: str, kind: str, *, fail_every: int = 0) -> Cell:
    """Throughput of ``kind`` (file | redis): jobs run per second, 64 enqueues in flight."""

    async def run(ctx: Context) -> Metrics:
        n = _jobs(ctx)
        async with _queue_system(ctx.opts, kind) as system, raw_sockets(system.ws_url, 2) as wss:
            ws, probe = wss
            await pump_enqueues(ws, n // 10, fail_every)
            await _until_done(probe, n // 10)
            await call(probe, "bench::jobstats", {"reset": True})
            meter = CpuMeter(system)
            meter.start()
            start = time.perf_counter()
            await pump_enqueues(ws, n, fail_every, first=n)
            stats = await _until_done(probe, n)
            elapsed = time.perf_counter() - start
            meter.stop()
            return {
                "rate": n / elapsed,
                "ops": float(n),
                "failed": float(stats["failed"]),
                "cpu_us": meter.router_s / n * 1e6,
                "client_cpu_us": meter.client_s / n * 1e6,
            }

    return Cell(key, run)


def latency_cell(key: str, kind: str) -> Cell:
    """Enqueue-to-start delay on an idle queue: one job at a time."""

    async def run(ctx: Context) -> Metrics:
        n = 100 if ctx.quick else 400
        async with _queue_system(ctx.opts, kind) as system, raw_sockets(system.ws_url, 2) as wss:
            ws, probe = wss
            for i in range(20):  # warm-up
                await pump_enqueues(ws, 1, 0, first=i)
                await _until_done(probe, i + 1)
            await call(probe, "bench::jobstats", {"reset": True})
            for i in range(n):
                await pump_enqueues(ws, 1, 0, first=100 + i)
                await _until_done(probe, i + 1)
            stats = await call(probe, "bench::jobstats", {})
            return {"p50_us": float(stats["p50_us"]), "ops": float(stats["done"])}

    return Cell(key, run)


ARQ_PYTHON = REPO / ".venv-arq" / "bin" / "python"


def _arq_available() -> str | None:
    if not ARQ_PYTHON.exists():
        return "arq not installed (run bench/setup; it uses its own venv, .venv-arq)"
    if shutil.which("redis-server") is None:
        return "redis-server not installed"
    return None


async def _arq(ctx: Context) -> Metrics:
    why = _arq_available()
    if why is not None:
        raise LoadError(f"skipped: {why}")
    n = _jobs(ctx) // 4
    module = [str(ARQ_PYTHON), "-m", "bench.peers.arq_worker"]
    async with redis_server(ctx.opts) as url:
        procs: list[Proc] = []
        async with _running(procs):
            procs.append(await spawn("arq-worker", [*module, "worker", "--redis", url], ctx.logdir))
            await procs[0].wait_line("ready")
            argv = [*module, "produce", "--redis", url, "--jobs", str(n)]
            producer = await spawn("arq-producer", argv, ctx.logdir)
            procs.append(producer)
            assert producer.proc.stdout is not None
            async with asyncio.timeout(300):
                line = await producer.proc.stdout.readline()
            if not line.startswith(b"rate "):
                producer.check_alive()
                raise LoadError(f"arq producer said {line!r}:\n{producer.tail()}")
    return {"rate": float(line.split()[1]), "ops": float(n)}


def _state_file(opts: Options) -> Any:
    state: dict[str, object] = {
        "name": "iii-state",
        "config": {"adapter": {"name": "file", "config": {"path": f"state-{free_port()}.sqlite3"}}},
    }
    return engine(opts, worker=None, extra=[state])


FILE = queue_cell("queue file w64", "file")
FILE_FAILING = queue_cell("queue file w64 10% failing once", "file", fail_every=10)
REDIS = queue_cell("queue redis w64", "redis")
LATENCY = latency_cell("queue file idle enqueue-to-start", "file")
ARQ = Cell("arq redis w64", _arq)
STATE_SET_FILE = ws_cell(
    "engine state::set file w64",
    _state_file,
    window=64,
    function_id="state::set",
    payload=STATE_PAYLOAD,
)


def _cells(ctx: Context) -> list[Cell]:
    return [ARQ, FILE, REDIS, LATENCY, FILE_FAILING, STATE_SET_FILE]


def _rows(r: Results) -> list[Row]:
    return [
        Row(
            "queue file / arq jobs per second",
            ratio(r, (FILE.key, "rate"), (ARQ.key, "rate")),
            Target(">=", 5),
        ),
        Row(
            "queue redis / arq jobs per second",
            ratio(r, (REDIS.key, "rate"), (ARQ.key, "rate")),
            Target(">=", 2),
        ),
        Row(
            "enqueue-to-start p50, idle (file)",
            metric(r, LATENCY.key, "p50_us"),
            Target("<=", 1000),
            "us",
        ),
        Row(
            "10% failing once / all succeed (file)",
            ratio(r, (FILE_FAILING.key, "rate"), (FILE.key, "rate")),
            Target(">=", 0.8),
        ),
        Row("queue file jobs/s (info)", metric(r, FILE.key, "rate"), None, "/s"),
        Row("engine CPU per job, file (info)", metric(r, FILE.key, "cpu_us"), None, "us"),
        Row("engine CPU per job, redis (info)", metric(r, REDIS.key, "cpu_us"), None, "us"),
        Row("queue redis jobs/s (info)", metric(r, REDIS.key, "rate"), None, "/s"),
        Row("arq jobs/s (info)", metric(r, ARQ.key, "rate"), None, "/s"),
        Row(
            "state::set file, committed before the answer, w64 (info)",
            metric(r, STATE_SET_FILE.key, "rate"),
            None,
            "/s",
        ),
    ]


def _skip() -> str | None:
    # The comparison is the point of the scenario: without arq (or Redis) it is skipped whole.
    return engine_available() or _arq_available()


QUEUE_SCENARIOS = [
    Scenario("9", "queue: enqueue -> worker -> ack vs arq on Redis", _cells, _rows, _skip)
]
