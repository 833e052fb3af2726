"""arq on Redis, the scenario-9 peer: a worker whose job counts itself in Redis.

``python -m bench.peers.arq_worker --redis URL``: runs an arq ``Worker`` (max_jobs 64) with one
job function, ``bench_job``, that increments ``bench:arq:done``. Prints ``ready`` when started.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

DONE_KEY = "bench:arq:done"


async def bench_job(ctx: dict[str, Any], n: int) -> None:
    """One job: count it."""
    await ctx["redis"].incr(DONE_KEY)


async def run(url: str) -> None:
    """Run the worker until terminated."""
    worker = Worker(
        functions=[bench_job],
        redis_settings=RedisSettings.from_dsn(url),
        max_jobs=64,
        handle_signals=True,
        poll_delay=0.005,
        keep_result=0,
    )
    print("ready", flush=True)
    await worker.async_run()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", required=True)
    asyncio.run(run(parser.parse_args().redis))


if __name__ == "__main__":
    main()
