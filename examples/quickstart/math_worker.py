"""The quickstart's Python worker: ``math::add``, and ``math::add_to_total`` with a running total.

``math::add`` is also served as ``POST /math/add``. ``math::add_to_total`` adds ``a`` and ``b``
and adds the sum to a running total kept in the engine's state (``iii-state``, scope ``math``,
key ``running_total``), so the total survives restarts of this worker and of the engine; the
TypeScript worker serves it as ``POST /math/add-two-numbers``.

The engine starts this file as a process (see ``config.yaml``) with ``III_URL`` and
``III_WORKER_NAME`` set, which ``Worker()`` reads. To run it by hand against a running engine::

    III_URL=ws://127.0.0.1:49134 python math_worker.py
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from iii_sdk import Worker
from iii_sdk.errors import DESERIALIZATION_ERROR, InvocationError

TOTAL_SCOPE = "math"
TOTAL_KEY = "running_total"


class AddInput(msgspec.Struct):
    """Two numbers to add."""

    a: float
    b: float


def add(payload: dict[str, float]) -> dict[str, float]:
    """Return ``{"c": a + b}``."""
    return {"c": payload["a"] + payload["b"]}


def add_http(request: dict[str, Any]) -> dict[str, Any]:
    """``math::add`` behind ``POST /math/add``: an HTTP trigger passes the request (``body``,
    ``headers``, ``query_params`` …) and sends back ``status_code`` and ``body``."""
    body = request.get("body")
    if not isinstance(body, dict) or not {"a", "b"} <= body.keys():
        return {"status_code": 400, "body": {"error": "send a JSON object {a, b}"}}
    return {"status_code": 200, "body": add(body)}


class RunningTotal:
    """``math::add_to_total``: ``{a, b}`` -> ``{c, running_total}``, the total in ``iii-state``."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        # state::get then state::set is not atomic: one update at a time in this worker.
        self.lock = asyncio.Lock()

    async def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Add ``a + b`` to the running total and return both."""
        if not isinstance(payload, dict) or not {"a", "b"} <= payload.keys():
            raise InvocationError(DESERIALIZATION_ERROR, "expected a JSON object {a, b}")
        c = add(payload)["c"]
        address = {"scope": TOTAL_SCOPE, "key": TOTAL_KEY}
        async with self.lock:
            total = await self.worker.trigger("state::get", address) or 0
            total += c
            await self.worker.trigger("state::set", {**address, "value": total})
        return {"c": c, "running_total": total}


def main() -> None:
    """Register the functions (and the ``POST /math/add`` route); serve until SIGINT/SIGTERM."""
    worker = Worker()
    worker.register_function(
        "math::add",
        add,
        description="Add two numbers: {a, b} -> {c}",
        request_format=AddInput,
    )
    worker.register_function("math::add_http", add_http, description="POST /math/add")
    worker.register_trigger(
        "http", "math::add_http", {"api_path": "/math/add", "http_method": "POST"}
    )
    worker.register_function(
        "math::add_to_total",
        RunningTotal(worker),
        description="Add two numbers to the running total (state math/running_total): "
        "{a, b} -> {c, running_total}",
        request_format=AddInput,
    )
    worker.run_forever()


if __name__ == "__main__":
    main()
