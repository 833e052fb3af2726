"""Echo worker written with ``iii_sdk.Worker``: what a user's worker costs.

Registers ``--function`` (an async handler returning its payload), connects, confirms with a
ping round trip through ``engine::functions::list`` is left to the bench, prints ``ready``.
With ``--routes N`` it also registers ``bench::http`` and N HTTP triggers ``POST bench/r<i>``
answering a constant HTTP response, as the raw worker does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from iii_sdk import Worker


async def echo(payload: Any) -> Any:
    """Return the payload unchanged."""
    return payload


async def http_ok(request: Any) -> Any:
    """A constant HTTP response (the raw worker's ``bench::http``)."""
    return HTTP_RESPONSE


HTTP_FUNCTION = "bench::http"
HTTP_RESPONSE = {"status_code": 200, "body": {"ok": True}}


async def run(url: str, function_id: str, routes: int = 0) -> None:
    """Connect, register, report readiness, serve until SIGTERM."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    worker = Worker(url, name=f"bench-sdk-{os.getpid()}")
    worker.register_function(function_id, echo)
    if routes:
        worker.register_function(HTTP_FUNCTION, http_ok)
        for i in range(routes):
            worker.register_trigger(
                "http", HTTP_FUNCTION, {"api_path": f"bench/r{i}", "http_method": "POST"}
            )
    await worker.connect()
    print("ready", flush=True)
    await stop.wait()
    await worker.close()


def main() -> None:
    """Entry point: ``python -m bench.peers.sdk_worker --url WS --function ID``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--function", default="bench::echo")
    parser.add_argument("--routes", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.function, args.routes))


if __name__ == "__main__":
    main()
