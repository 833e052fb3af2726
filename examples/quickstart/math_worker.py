"""The quickstart's Python worker: exports ``math::add``, also served as ``POST /math/add``.

The engine starts it as a process (see ``config.yaml``) with ``III_URL`` and ``III_WORKER_NAME``
set, which ``Worker()`` reads. To run it by hand against a running engine::

    III_URL=ws://127.0.0.1:49134 python math_worker.py
"""

from __future__ import annotations

from typing import Any

import msgspec

from iii_sdk import Worker


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


def main() -> None:
    """Register ``math::add`` (and its HTTP route) and serve until SIGINT/SIGTERM."""
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
    worker.run_forever()


if __name__ == "__main__":
    main()
