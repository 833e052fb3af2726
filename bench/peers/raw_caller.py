"""A load client process for ``python -m bench scale``: one raw socket, ``--window`` in flight.

Connects, prints ``ready``, waits until the wall-clock ``--start-at``, keeps ``--window`` sync
invocations in flight for ``--duration`` seconds and prints ``done OPS ELAPSED``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.cells import raw_sockets
from bench.frames import invoke_head
from bench.load import ws_pump

MAX_OPS = 10_000_000


async def run(args: argparse.Namespace) -> None:
    """Connect, wait for the common start, pump, report."""
    head = invoke_head(args.function, b'{"n":1}')
    async with raw_sockets(args.url, 1) as (ws,):
        print("ready", flush=True)
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        result = await ws_pump(
            ws, [head], window=args.window, max_ops=MAX_OPS, duration=args.duration
        )
    print(f"done {result.ops} {result.elapsed:.6f} {result.errors}", flush=True)


def main() -> None:
    """``python -m bench.peers.raw_caller --url WS --start-at T --duration S [--window W]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--function", default="bench::echo")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--duration", type=float, default=2.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
