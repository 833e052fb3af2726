"""A load driver using an official ``iii-sdk`` client, run by that SDK's own interpreter.

The bench process can import one official SDK only (0.23 and 0.25 share the import name
``iii``), so 0.25 runs here, in a subprocess started with ``.venv-sdk025/bin/python``. This
module needs nothing but the standard library and ``iii``: that venv has no msgspec.

``python -m bench.peers.official_client --url WS --window W --warmup S --duration S
--max-ops N``: connects with ``register_worker``, runs a warm-up of ``max_ops // 10 + window``
calls (at most ``--warmup`` seconds), prints ``start``, keeps ``window`` sync triggers of
``bench::echo`` in flight on the SDK's own loop thread (as the bench's 0.23 cell does) for
``--duration`` seconds or ``--max-ops`` calls, then prints ``done {json}`` with ``ops``,
``elapsed``, ``errors``, ``first_error``, ``p50_us``, ``p99_us`` and ``version``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import time
from typing import Any

DRAIN_GRACE = 15.0
SHUTDOWN_WAIT = 10.0
_now = time.perf_counter


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def closed_loop(client: Any, *, window: int, max_ops: int, duration: float) -> dict[str, Any]:
    """``window`` sequential loops of one sync trigger each, bounded in count and time."""
    request = {"function_id": "bench::echo", "payload": {"n": 1}}
    latencies: list[float] = []
    errors = [0]
    first_error = [""]
    budget = [max_ops]
    start = _now()
    deadline = start + duration

    async def loop() -> None:
        while budget[0] > 0 and _now() < deadline:
            budget[0] -= 1
            t0 = _now()
            try:
                await client.trigger_async(request)
            except Exception as exc:
                errors[0] += 1
                first_error[0] = first_error[0] or repr(exc)
            latencies.append(_now() - t0)

    async with asyncio.timeout(duration + DRAIN_GRACE):
        await asyncio.gather(*(loop() for _ in range(window)))
    return {
        "ops": len(latencies),
        "elapsed": _now() - start,
        "errors": errors[0],
        "first_error": first_error[0],
        "p50_us": _percentile(latencies, 50) * 1e6,
        "p99_us": _percentile(latencies, 99) * 1e6,
    }


def main() -> None:
    """Connect, warm up, measure, print, shut the client down."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--max-ops", type=int, default=1_000_000)
    args = parser.parse_args()
    import iii

    init = iii.InitOptions(worker_name=f"bench-official-{os.getpid()}", otel={"enabled": False})
    client = iii.register_worker(args.url, init)

    def on_sdk_loop(max_ops: int, duration: float) -> dict[str, Any]:
        coro = closed_loop(client, window=args.window, max_ops=max_ops, duration=duration)
        return asyncio.run_coroutine_threadsafe(coro, client._loop).result()

    try:
        on_sdk_loop(args.max_ops // 10 + args.window, args.warmup)
        print("start", flush=True)
        result = on_sdk_loop(args.max_ops, args.duration)
        result["version"] = importlib.metadata.version("iii-sdk")
        print("done " + json.dumps(result), flush=True)
    finally:
        client.shutdown()
        client._thread.join(SHUTDOWN_WAIT)


if __name__ == "__main__":
    main()
