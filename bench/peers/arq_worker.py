"""arq on Redis, the scenario-9 peer (runs in its own venv: arq pins an older redis client).

``python -m bench.peers.arq_worker worker --redis URL``: an arq ``Worker`` (max_jobs 64) whose
one job, ``bench_job``, increments ``bench:arq:done``; prints ``ready`` when started.

``python -m bench.peers.arq_worker produce --redis URL --jobs N``: enqueues N jobs with 64
``enqueue_job`` calls in flight, waits until the worker counted them all, and prints
``rate <jobs per second>``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

DONE_KEY = "bench:arq:done"
WINDOW = 64


async def bench_job(ctx: dict[str, Any], n: int) -> None:
    """One job: count it."""
    await ctx["redis"].incr(DONE_KEY)


async def work(url: str) -> None:
    """Run the worker until terminated."""
    worker = Worker(
        functions=[bench_job],
        redis_settings=RedisSettings.from_dsn(url),
        max_jobs=WINDOW,
        handle_signals=True,
        poll_delay=0.005,
        keep_result=0,
    )
    print("ready", flush=True)
    await worker.async_run()


async def produce(url: str, jobs: int) -> None:
    """Enqueue ``jobs`` jobs, wait for all of them, print the rate."""
    pool = await create_pool(RedisSettings.from_dsn(url))
    try:
        await pool.delete(DONE_KEY)
        sem = asyncio.Semaphore(WINDOW)

        async def one(i: int) -> None:
            async with sem:
                await pool.enqueue_job("bench_job", i)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(jobs)))
        async with asyncio.timeout(300):
            # arq signals nothing when a job finishes: poll its counter, bounded.
            while int(await pool.get(DONE_KEY) or 0) < jobs:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        print(f"rate {jobs / (time.perf_counter() - start)}", flush=True)
    finally:
        await pool.aclose()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["worker", "produce"])
    parser.add_argument("--redis", required=True)
    parser.add_argument("--jobs", type=int, default=1000)
    args = parser.parse_args()
    if args.mode == "worker":
        asyncio.run(work(args.redis))
    else:
        asyncio.run(produce(args.redis, args.jobs))


if __name__ == "__main__":
    main()
