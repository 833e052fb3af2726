"""A worker built on the OFFICIAL Python iii-sdk, run as a subprocess by the compat tests.

Usage: ``III_URL=ws://... python official_worker.py <mode>``. Prints ``READY`` once its
functions are listed by ``engine::functions::list``, then serves until killed. OpenTelemetry is
left at the SDK's default (on), so the SDK also opens its ``/otel`` socket to the engine.

Modes:
- ``hang``: ``offpy::hang`` prints ``INVOKED <json payload>`` and never answers.
- ``echo``: ``offpy::echo`` returns ``{"echo": payload}``.
- ``chain``: ``offpy::chain`` (async) calls ``node::probe`` with its payload and returns the
  answer: the first hop of the cross-language trace test (OpenTelemetry on, spans to ``/otel``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from iii import InitOptions, register_worker

FOREVER = threading.Event()


def hang(payload: Any) -> Any:
    print("INVOKED", json.dumps(payload), flush=True)
    FOREVER.wait()
    return None


def echo(payload: Any) -> Any:
    return {"echo": payload}


CLIENTS: list[Any] = []


async def chain(payload: Any) -> Any:
    return await CLIENTS[0].trigger_async({"function_id": "node::probe", "payload": payload})


MODES = {
    "hang": ("offpy::hang", hang),
    "echo": ("offpy::echo", echo),
    "chain": ("offpy::chain", chain),
}


def main() -> None:
    function_id, handler = MODES[sys.argv[1]]
    client = register_worker(options=InitOptions(worker_name=f"official-py-{sys.argv[1]}"))
    CLIENTS.append(client)
    client.register_function(function_id, handler)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listing = client.trigger({"function_id": "engine::functions::list", "payload": {}})
        if any(row["function_id"] == function_id for row in listing["functions"]):
            print("READY", client.worker_id, flush=True)
            break
        time.sleep(0.02)
    else:
        print("NOT-READY", flush=True)
        sys.exit(1)
    FOREVER.wait()


if __name__ == "__main__":
    main()
