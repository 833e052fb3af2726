"""NATS request/reply responder: replies to every request on ``bench.echo`` with its payload."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
from typing import Any

SUBJECT = "bench.echo"


async def run(url: str) -> None:
    """Subscribe, flush (the server has the subscription), report readiness, serve."""
    nats: Any = importlib.import_module("nats")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    nc = await nats.connect(url)

    async def reply(msg: Any) -> None:
        await msg.respond(msg.data)

    await nc.subscribe(SUBJECT, cb=reply)
    await nc.flush()
    print("ready", flush=True)
    await stop.wait()
    await nc.close()


def main() -> None:
    """Entry point: ``python -m bench.peers.nats_echo --url nats://127.0.0.1:N``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    asyncio.run(run(parser.parse_args().url))


if __name__ == "__main__":
    main()
