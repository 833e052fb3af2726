"""``python -m bench scale --queue``: competing consumers of one queue, 1 to 8 engines on Redis.

A function id has one live owner per engine (a second worker registering it is rejected), and
distinct functions bound to one queue each get every message (fan-out). Competing consumer
*processes* of one queue are therefore several engines sharing the queue through the ``redis``
adapter (one Redis Streams consumer group; each engine is a consumer), each with its own
consumer worker (``bench/peers/queue_worker.py``) registering the same ``bench::job``.

For each count N (default 1, 2, 4, 8) a fresh ``redis-server``, N engines (queue ``bench``,
concurrency 64 each, as in scenario 9) and N consumer workers start; the producer (this
process) keeps ``--window`` enqueues in flight in total, spread evenly over one socket per
engine (``--via all``, the default: in a deployment producers talk to the engine near them, and
one engine taking every enqueue would measure that engine's enqueue path, not the consumers),
or all through the first engine (``--via first``). After a warm-up of a tenth of the jobs,
``--jobs`` jobs are timed from the first enqueue to the last job done (as in scenario 9), and
the CPU of the engines, the workers, redis-server and the producer is read over that window.
A last row runs one engine with the ``file`` adapter (no Redis) for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cells import raw_sockets
from bench.load import LoadError, call
from bench.procs import Proc, free_port
from bench.scenarios.queue import pump_enqueues, queue_entry, redis_process
from bench.stats import summarize
from bench.systems import Options, _python, engine

POLL_S = 0.01
"""Drain poll period: 8 probes polled every 2 ms would cost the engines thousands of calls/s."""
DRAIN_TIMEOUT_S = 300.0


@dataclass
class Cluster:
    """The started processes of one count."""

    urls: list[str]
    engines: list[Proc]
    workers: list[Proc]
    redis: Proc | None = None


@contextlib.asynccontextmanager
async def cluster(opts: Options, n: int, kind: str) -> AsyncIterator[Cluster]:
    """``n`` engine + consumer pairs on one fresh Redis (``kind`` redis) or one file engine."""
    async with contextlib.AsyncExitStack() as stack:
        redis: Proc | None = None
        if kind == "redis":
            url, redis = await stack.enter_async_context(redis_process(opts))
            adapter: dict[str, Any] = {"name": "redis", "config": {"redis_url": url}}
        else:
            adapter = {"name": "file", "config": {"path": f"queue-{free_port()}.sqlite3"}}
        entry = queue_entry(adapter)
        systems = [
            await stack.enter_async_context(engine(opts, worker=None, extra=[entry]))
            for _ in range(n)
        ]
        workers: list[Proc] = []
        for i, system in enumerate(systems):
            proc = await _python(
                opts, f"queue-worker-{i}", "bench.peers.queue_worker", "--url", system.ws_url
            )
            stack.push_async_callback(proc.stop)
            workers.append(proc)
        await asyncio.gather(*(w.wait_line("ready") for w in workers))
        yield Cluster([s.ws_url for s in systems], [s.router for s in systems], workers, redis)


def _cpu(procs: list[Proc]) -> float:
    return sum(p.cpu_seconds() for p in procs)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _done_counts(probes: list[Any]) -> list[int]:
    stats = await asyncio.gather(*(call(ws, "bench::jobstats", {}) for ws in probes))
    return [int(s["done"]) for s in stats]


async def _until_done(probes: list[Any], n: int, engines: list[Proc]) -> list[int]:
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        while True:
            counts = await _done_counts(probes)
            if sum(counts) >= n:
                return counts
            for proc in engines:
                proc.check_alive()
            await asyncio.sleep(POLL_S)


async def _produce(producers: list[Any], jobs: int, first: int, window: int) -> None:
    """``jobs`` enqueues spread evenly over ``producers``, ``window`` in flight in total."""
    share, rest = divmod(jobs, len(producers))
    per_socket = max(1, window // len(producers))
    pumps = []
    start = first
    for i, ws in enumerate(producers):
        count = share + (1 if i < rest else 0)
        pumps.append(pump_enqueues(ws, count, 0, first=start, window=per_socket))
        start += count
    await asyncio.gather(*pumps)


@dataclass
class Measured:
    """One count's figures."""

    label: str
    jobs: int
    elapsed: float
    enqueue_s: float
    engines_s: float
    workers_s: float
    redis_s: float | None
    """None without Redis (the file adapter)."""
    producer_s: float
    counts: list[int]

    @property
    def total_s(self) -> float:
        """CPU seconds of every process: engines, workers, redis-server, producer."""
        return self.engines_s + self.workers_s + (self.redis_s or 0.0) + self.producer_s

    def line(self) -> str:
        """The table row."""
        per = 1e6 / self.jobs
        redis_s = self.redis_s or 0.0
        total = self.total_s
        redis_us = "-" if self.redis_s is None else f"{redis_s * per:.1f}"
        redis_cores = "-" if self.redis_s is None else f"{redis_s / self.elapsed:.2f}"
        done = sum(self.counts)
        top, low = max(self.counts) / max(done, 1), min(self.counts) / max(done, 1)
        rate, enqueued = self.jobs / self.elapsed, self.jobs / self.enqueue_s
        return (
            f"{self.label:>10}{rate:>10,.0f}{enqueued:>11,.0f}"
            f"{self.engines_s * per:>9.1f}{self.workers_s * per:>9.1f}{redis_us:>8}"
            f"{self.producer_s * per:>9.1f}{total * per:>8.1f}{total / self.elapsed:>7.2f}"
            f"{self.engines_s / self.elapsed:>11.2f}{redis_cores:>12}"
            f"   {100 * low:.0f}-{100 * top:.0f}%"
            # a job run twice (at least once delivery) would show here
            + (f"  extra runs {done - self.jobs}" if done > self.jobs else "")
        )


HEAD = (
    f"{'engines':>10}{'jobs/s':>10}{'enqueue/s':>11}{'eng us':>9}{'wrk us':>9}{'redis':>8}"
    f"{'prod us':>9}{'total':>8}{'cores':>7}{'eng cores':>11}{'redis cores':>12}   "
    "jobs per engine"
)


async def measure(opts: Options, n: int, kind: str, args: argparse.Namespace) -> Measured:
    """Start ``n`` pairs, warm up, time ``args.jobs`` jobs, stop everything."""
    jobs = args.jobs
    async with cluster(opts, n, kind) as c:
        targets = c.urls if args.via == "all" else c.urls[:1]
        async with contextlib.AsyncExitStack() as stack:
            producers = [(await stack.enter_async_context(raw_sockets(u, 1)))[0] for u in targets]
            probes = [(await stack.enter_async_context(raw_sockets(u, 1)))[0] for u in c.urls]
            await _produce(producers, jobs // 10, 0, args.window)
            await _until_done(probes, jobs // 10, c.engines)
            await asyncio.gather(*(call(ws, "bench::jobstats", {"reset": True}) for ws in probes))
            redis = [c.redis] if c.redis is not None else []
            e0, w0, r0, p0 = _cpu(c.engines), _cpu(c.workers), _cpu(redis), _own_cpu()
            t0 = time.perf_counter()
            await _produce(producers, jobs, jobs, args.window)
            t_enq = time.perf_counter() - t0
            counts = await _until_done(probes, jobs, c.engines)
            elapsed = time.perf_counter() - t0
            e1, w1, r1, p1 = _cpu(c.engines), _cpu(c.workers), _cpu(redis), _own_cpu()
    label = f"{n} {kind}"
    redis_s = r1 - r0 if c.redis is not None else None
    return Measured(label, jobs, elapsed, t_enq, e1 - e0, w1 - w0, redis_s, p1 - p0, counts)


async def run(args: argparse.Namespace) -> int:
    """Measure each engine count on Redis, then the single-engine file baseline."""
    if shutil.which("redis-server") is None:
        print("skipped: redis-server not installed")
        return 2
    logdir = Path(tempfile.mkdtemp(prefix="iii-bench-scale-queue-"))
    opts = Options(args.uvloop, logdir)
    via = "spread over every engine" if args.via == "all" else "all through the first engine"
    print(
        f"one queue (concurrency 64 per engine), N engine + consumer pairs on one redis-server; "
        f"{args.jobs:,} jobs per count, {args.window} enqueues in flight {via}; "
        f"loop {'uvloop' if args.uvloop else 'asyncio'}; CPU in us per job"
    )
    print(HEAD)
    failed = False
    counts = [(n, "redis") for n in args.engines] + ([(1, "file")] if args.file else [])
    runs: dict[str, list[Measured]] = {}
    for rep in range(args.reps):  # rep -> count: drift on a shared machine hits every count
        for n, kind in counts:
            try:
                measured = await measure(opts, n, kind, args)
            except (LoadError, OSError, RuntimeError, TimeoutError) as exc:
                failed = True
                print(f"{n:>8} {kind}: failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            runs.setdefault(measured.label, []).append(measured)
            print(measured.line() + (f"  (rep {rep + 1})" if args.reps > 1 else ""), flush=True)
    if args.reps > 1:
        print(f"\nmedian [min-max] of {args.reps} reps")
        print(f"{'engines':>10}{'jobs/s':>28}{'CPU us/job, all processes':>34}")
        for label, reps in runs.items():
            rates = summarize([m.jobs / m.elapsed for m in reps])
            cpu = summarize([m.total_s * 1e6 / m.jobs for m in reps])
            print(f"{label:>10}{rates!s:>28}{cpu!s:>34}")
    if failed:
        print(f"logs kept in {logdir}")
        return 2
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--queue`` mode's options."""
    parser.add_argument(
        "--engines",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 4, 8],
        help="engine + consumer pair counts, comma-separated (default 1,2,4,8)",
    )
    parser.add_argument("--jobs", type=int, default=10_000, help="timed jobs per count")
    parser.add_argument("--reps", type=int, default=1, help="repetitions of the whole sweep")
    parser.add_argument(
        "--via",
        choices=("all", "first"),
        default="all",
        help="enqueue through every engine (default) or only the first",
    )
    parser.add_argument(
        "--no-file", dest="file", action="store_false", help="skip the file-adapter baseline"
    )
