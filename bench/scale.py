"""``python -m bench scale``: how one engine's throughput grows with caller processes.

One engine and one raw echo worker; for each count N (default 1, 4, 16, 64) N raw caller
processes (``bench/peers/raw_caller.py``, one socket each, ``--window`` calls in flight) start
together and run for ``--duration`` seconds. Printed per N: calls per second, the engine's CPU
per call, the share of a core the engine used (1.00 = one core saturated: a single engine
process cannot go faster), and the worker's share. On a 2-core machine the callers compete with
the engine for the CPU, so the rate flattens before the engine saturates; the engine's share and
CPU per call still show where one engine process stops scaling.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from bench import scale_queue
from bench.procs import Proc
from bench.runner import loop_factory
from bench.systems import Options, _python, engine

START_MARGIN_S = 1.0


async def _one(
    opts: Options, url: str, engine_proc: Proc, worker: Proc, n: int, args: argparse.Namespace
) -> str:
    callers: list[Proc] = []
    try:
        start_at = time.time() + START_MARGIN_S + 0.15 * n
        callers = [
            await _python(
                opts,
                f"caller-{n}-{i}",
                "bench.peers.raw_caller",
                "--url",
                url,
                "--window",
                str(args.window),
                "--start-at",
                f"{start_at:.6f}",
                "--duration",
                str(args.duration),
            )
            for i in range(n)
        ]
        await asyncio.gather(*(p.wait_line("ready") for p in callers))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        e0, w0, t0 = engine_proc.cpu_seconds(), worker.cpu_seconds(), time.monotonic()
        outs = await asyncio.gather(*(_done(p, args.duration + 30) for p in callers))
        e1, w1, t1 = engine_proc.cpu_seconds(), worker.cpu_seconds(), time.monotonic()
    finally:
        await asyncio.gather(*(p.stop() for p in callers))
    ops = sum(o for o, _ in outs)
    elapsed = max(e for _, e in outs)
    wall = t1 - t0
    rate = ops / elapsed if elapsed else 0.0
    return (
        f"{n:>8}{rate:>14,.0f}{1e6 * (e1 - e0) / max(ops, 1):>16.1f}"
        f"{(e1 - e0) / wall:>14.2f}{(w1 - w0) / wall:>14.2f}"
    )


async def _done(proc: Proc, within: float) -> tuple[int, float]:
    assert proc.proc.stdout is not None
    async with asyncio.timeout(within):
        while True:
            line = await proc.proc.stdout.readline()
            if not line:
                await proc.proc.wait()
                proc.check_alive()
            if line.startswith(b"done "):
                _, ops, elapsed, _errors = line.split()
                return int(ops), float(elapsed)


async def run(args: argparse.Namespace) -> int:
    """Start the engine and worker once, then measure each caller count in turn."""
    logdir = Path(tempfile.mkdtemp(prefix="iii-bench-scale-"))
    opts = Options(args.uvloop, logdir)
    print(
        f"one engine, one raw echo worker; raw callers x {args.window} in flight, "
        f"{args.duration:g} s per count, loop {'uvloop' if args.uvloop else 'asyncio'}"
    )
    head = ("callers", "calls/s", "engine us/call", "engine cores", "worker cores")
    print(f"{head[0]:>8}{head[1]:>14}{head[2]:>16}{head[3]:>14}{head[4]:>14}")
    async with engine(opts) as system:
        worker = system.procs[-1]
        for n in args.callers:
            print(await _one(opts, system.ws_url, system.router, worker, n, args), flush=True)
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


def main(argv: list[str]) -> int:
    """``python -m bench scale [--callers 1,4,16,64] [--window 16] [--duration 3] [--uvloop]``,
    or ``python -m bench scale --queue [--engines 1,2,4,8] [--jobs N] [--via all|first]``."""
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument(
        "--callers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 4, 16, 64],
        help="caller process counts, comma-separated (default 1,4,16,64)",
    )
    parser.add_argument(
        "--window",
        type=int,
        help="calls in flight per caller (default 16); with --queue, enqueues in flight (64)",
    )
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per count")
    parser.add_argument("--uvloop", action="store_true", help="run every process on uvloop")
    parser.add_argument(
        "--queue",
        action="store_true",
        help="competing consumers of one queue: 1..8 engines on one Redis (bench/scale_queue.py)",
    )
    scale_queue.add_arguments(parser)
    args = parser.parse_args(argv)
    args.window = args.window or (64 if args.queue else 16)
    # With --uvloop the producer / this process's loop is uvloop too, like every child.
    with asyncio.Runner(loop_factory=loop_factory(args.uvloop)) as runner:
        return runner.run(scale_queue.run(args) if args.queue else run(args))
