"""The quickstart's ``math-worker``: a Python worker that registers ``math::add``.

``math::add`` takes ``{a, b}`` and returns ``{c}``, the sum. Anything connected to the engine
can call it: ``iii trigger math::add a=2 b=3`` from a shell, ``worker.trigger("math::add", ...)``
from code, and the TypeScript ``caller-worker`` (``caller_worker.ts``), whose
``math::add_two_numbers`` calls it through the engine.

The engine starts this file as a process (see ``config.yaml``) with ``III_URL`` and
``III_WORKER_NAME`` set, which ``Worker()`` reads. To run it by hand against a running engine::

    III_URL=ws://127.0.0.1:49134 III_WORKER_NAME=math-worker python math_worker.py
"""

from __future__ import annotations

import msgspec

from iii_sdk import Worker


class AddInput(msgspec.Struct):
    """Two numbers to add (also the function's request schema, shown by ``iii trigger --help``)."""

    a: float
    b: float


def add(payload: dict[str, float]) -> dict[str, float]:
    """``math::add``: return ``{"c": a + b}``."""
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
