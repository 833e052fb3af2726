"""``python -m bench soak --minutes N``: sustained load on one engine, watching its memory.

The engine runs as its own process (``python -m iii_engine`` with a worker listener and an
in-memory ``iii-state``); this process drives it with SDK workers:

- callers invoke ``soak::echo`` (served by another worker) in closed loops, and every 20th call
  is a ``state::set`` / ``state::get`` pair on a bounded key space;
- once a second a short-lived worker connects, registers a function and a ``state`` trigger,
  and disconnects (registration and cleanup churn).

Every ``--interval`` seconds (10) it prints throughput, p50/p99 latency and the engine's RSS; at
the end, one row per minute. With ``--max-rss-growth-mb`` it exits 1 when the engine's RSS at
the end exceeds the first sample by more than that (a leak), and 1 whenever the engine died.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.procs import Proc, free_port, python_module, spawn
from bench.stats import percentile
from iii_sdk.worker import Worker

__all__ = ["main", "parse_args"]

CONFIG = """\
workers:
  - name: iii-worker-manager
    config: {{host: 127.0.0.1, port: {port}}}
  - name: iii-state
    config: {{adapter: {{name: memory}}}}
"""
STATE_KEYS = 500


@dataclass
class Sample:
    """One report line."""

    t_s: float
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    rss_mb: float


@dataclass
class Load:
    """Counters shared by the load tasks; the reporter swaps the window out."""

    calls: int = 0
    errors: int = 0
    window: list[float] = field(default_factory=list)
    minute: list[float] = field(default_factory=list)
    churned: int = 0

    def record(self, seconds: float) -> None:
        self.calls += 1
        self.window.append(seconds)
        self.minute.append(seconds)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The ``soak`` command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench soak", description="Sustained load; throughput, p99, engine RSS."
    )
    parser.add_argument("--minutes", type=float, default=1.0, help="how long (default 1)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between reports")
    parser.add_argument("--callers", type=int, default=2, help="caller workers (default 2)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="calls in flight per caller (default 16)"
    )
    parser.add_argument(
        "--max-rss-growth-mb",
        type=float,
        default=None,
        help="exit 1 when the engine's RSS grows more than this from the first sample",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write samples as JSON")
    return parser.parse_args(argv)


async def _caller_loop(worker: Worker, load: Load, stop: asyncio.Event, seed: int) -> None:
    n = seed
    while not stop.is_set():
        n += 1
        started = time.perf_counter()
        try:
            if n % 20 == 0:
                key = f"k{n % STATE_KEYS}"
                await worker.trigger("state::set", {"scope": "soak", "key": key, "value": n})
                await worker.trigger("state::get", {"scope": "soak", "key": key})
            else:
                await worker.trigger("soak::echo", {"n": n})
        except Exception:
            load.errors += 1
            continue
        load.record(time.perf_counter() - started)


async def _churn(url: str, load: Load, stop: asyncio.Event) -> None:
    while not stop.is_set():
        worker = Worker(url)
        name = f"soak::churn::{load.churned % 100}"
        worker.register_function(name, lambda payload: None)
        worker.register_trigger("state", name, {"scope": f"churn{load.churned % 100}"})
        with contextlib.suppress(Exception):
            await worker.connect()
            await worker.trigger("engine::functions::list", {})
        await worker.close()
        load.churned += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def _report(
    engine: Proc, load: Load, interval: float, samples: list[Sample], started: float
) -> None:
    last_calls, last_t = 0, time.monotonic()
    while True:
        await asyncio.sleep(interval)  # the reporting period itself, not a settle wait
        engine.check_alive()
        now = time.monotonic()
        window, load.window = load.window, []
        sample = Sample(
            t_s=round(now - started, 1),
            calls_per_s=(load.calls - last_calls) / (now - last_t),
            p50_ms=percentile(window, 50) * 1000,
            p99_ms=percentile(window, 99) * 1000,
            rss_mb=engine.rss_kb() / 1024,
        )
        last_calls, last_t = load.calls, now
        samples.append(sample)
        print(
            f"t={sample.t_s:7.1f}s  {sample.calls_per_s:9.0f} calls/s  "
            f"p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms  "
            f"engine RSS {sample.rss_mb:6.1f} MB  errors {load.errors}  churn {load.churned}",
            flush=True,
        )


def _minute_table(samples: list[Sample], interval: float) -> list[str]:
    per_minute = max(1, round(60 / interval))
    rows = [
        "| minute | calls/s | p99 ms (worst interval) | engine RSS MB (end) |",
        "| --- | --- | --- | --- |",
    ]
    for start in range(0, len(samples), per_minute):
        chunk = samples[start : start + per_minute]
        rate = sum(s.calls_per_s for s in chunk) / len(chunk)
        rows.append(
            f"| {start // per_minute + 1} | {rate:,.0f} | {max(s.p99_ms for s in chunk):.2f} "
            f"| {chunk[-1].rss_mb:.1f} |"
        )
    return rows


async def _drive(
    engine: Proc, port: int, args: argparse.Namespace, load: Load, samples: list[Sample]
) -> None:
    """Connect the workers, run the load for ``args.minutes`` and collect the samples."""
    stop = asyncio.Event()
    workers: list[Worker] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        url = f"ws://127.0.0.1:{port}"
        executor = Worker(url, name="soak-executor")
        executor.register_function("soak::echo", lambda payload: payload)
        await executor.connect()
        workers.append(executor)
        for i in range(args.callers):
            caller = Worker(url, name=f"soak-caller-{i}")
            await caller.connect()
            workers.append(caller)
            tasks += [
                asyncio.ensure_future(_caller_loop(caller, load, stop, 1_000_000 * i + j * 1000))
                for j in range(args.concurrency)
            ]
        tasks.append(asyncio.ensure_future(_churn(url, load, stop)))
        print(
            f"soak: {args.minutes:g} min, {args.callers} callers x {args.concurrency} in flight, "
            f"engine pid {engine.pid}, logs in {engine.log.parent}",
            flush=True,
        )
        started = time.monotonic()
        reporter = asyncio.ensure_future(_report(engine, load, args.interval, samples, started))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reporter), args.minutes * 60 + 0.5)
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for worker in workers:
            await worker.close()


def _verdict(args: argparse.Namespace, load: Load, samples: list[Sample], alive: bool) -> int:
    print()
    print("\n".join(_minute_table(samples, args.interval)) if samples else "no samples")
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in samples], indent=1))
    if not alive or not samples:
        print("FAIL: the engine died" if not alive else "FAIL: no samples")
        return 1
    growth = samples[-1].rss_mb - samples[0].rss_mb
    print(
        f"\n{load.calls:,} calls, {load.errors} errors, {load.churned} churned workers; "
        f"engine RSS {samples[0].rss_mb:.1f} -> {samples[-1].rss_mb:.1f} MB ({growth:+.1f})"
    )
    if args.max_rss_growth_mb is not None and growth > args.max_rss_growth_mb:
        print(f"FAIL: RSS grew {growth:.1f} MB (allowed {args.max_rss_growth_mb:g})")
        return 1
    if load.errors:
        print("FAIL: calls failed")
        return 1
    return 0


async def soak(args: argparse.Namespace) -> int:
    """Run the soak and print the reports; the exit status of ``python -m bench soak``."""
    logdir = Path(tempfile.mkdtemp(prefix="iii-soak-"))
    port = free_port()
    config = logdir / "config.yaml"
    config.write_text(CONFIG.format(port=port))
    argv = python_module("iii_engine", "--config", str(config))
    engine = await spawn("engine", argv, logdir, pipe_stdout=False)
    samples: list[Sample] = []
    load = Load()
    try:
        await engine.wait_port(port)
        await _drive(engine, port, args, load, samples)
    finally:
        alive = engine.proc.returncode is None
        if not alive:
            print(engine.tail())
        await engine.stop()
    status = _verdict(args, load, samples, alive)
    if status == 0:
        shutil.rmtree(logdir, ignore_errors=True)  # kept only when something failed
    return status


def main(argv: list[str] | None = None) -> int:
    """``python -m bench soak ...``."""
    return asyncio.run(soak(parse_args(argv)))
