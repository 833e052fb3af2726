"""The quickstart's Python worker: exports ``math::add``.

The engine starts it as a process (see ``config.yaml``) with ``III_URL`` and ``III_WORKER_NAME``
set, which ``Worker()`` reads. To run it by hand against a running engine::

    III_URL=ws://127.0.0.1:49134 python math_worker.py
"""

from __future__ import annotations

import msgspec

from iii_sdk import Worker


class AddInput(msgspec.Struct):
    """Two numbers to add."""

    a: float
    b: float


def add(payload: dict[str, float]) -> dict[str, float]:
    """Return ``{"c": a + b}``."""
    return {"c": payload["a"] + payload["b"]}


def main() -> None:
    """Register ``math::add`` and serve until SIGINT/SIGTERM."""
    worker = Worker()
    worker.register_function(
        "math::add",
        add,
        description="Add two numbers: {a, b} -> {c}",
        request_format=AddInput,
    )
    worker.run_forever()


if __name__ == "__main__":
    main()
