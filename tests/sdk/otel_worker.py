"""A worker on our SDK with an OpenTelemetry SDK configured (in-memory exporter), run as a
subprocess by ``test_sdk_otel_spans.py`` so the global TracerProvider stays out of pytest.

``otel::outer`` calls ``otel::inner`` (same worker) through the engine; after each outer call
the finished spans are printed as one JSON line: ``SPANS [{name, kind, trace_id, span_id,
parent_span_id}]``. Prints ``READY`` once both functions are listed.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from iii_sdk import Worker

EXPORTER = InMemorySpanExporter()


def _dump() -> str:
    rows = []
    for span in EXPORTER.get_finished_spans():
        context = span.get_span_context()
        rows.append(
            {
                "name": span.name,
                "kind": span.kind.name.lower(),
                "trace_id": f"{context.trace_id:032x}",
                "span_id": f"{context.span_id:016x}",
                "parent_span_id": None if span.parent is None else f"{span.parent.span_id:016x}",
            }
        )
    return json.dumps(rows)


async def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)
    worker = Worker(os.environ["III_URL"], name="otel-worker")

    async def outer(payload: Any) -> Any:
        return await worker.trigger("otel::inner", payload)

    worker.register_function("otel::outer", outer)
    worker.register_function("otel::inner", lambda payload: {"inner": True})
    worker.register_function("otel::dump", lambda payload: _dump())
    async with worker:
        await worker.trigger("engine::functions::list", {})
        print("READY", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
