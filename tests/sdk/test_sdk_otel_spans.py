"""iii_sdk with an OpenTelemetry SDK configured: handler and call spans nest with the engine's."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from iii_engine.engine import Engine
from tests.raw_client import raw_worker

SCRIPT = Path(__file__).with_name("otel_worker.py")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT = Path(__file__).resolve().parents[2]


async def test_handler_and_call_spans_join_the_engine_trace(iii_engine: Engine) -> None:
    env = {**os.environ, "III_URL": iii_engine.worker_url, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            while b"READY" not in await process.stdout.readline():
                pass
        async with raw_worker(iii_engine) as caller:
            frame = await caller.call(
                "otel::outer", {"x": 1}, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01"
            )
            assert frame["result"] == {"inner": True}, frame
            sdk_spans = json.loads(await caller.call_ok("otel::dump", {}))
            tree = await caller.call_ok("engine::traces::tree", {"trace_id": TRACE})
    finally:
        process.terminate()
        await process.wait()
    spans = {s["name"]: s for s in sdk_spans if s["trace_id"] == TRACE}
    # The SDK's spans stay in its own exporter, so the engine's inner call (whose parent is the
    # SDK's invoke span) is a second root of the engine's view of the trace.
    roots = {root["name"]: root for root in tree["roots"]}
    engine_outer, engine_inner = roots["call otel::outer"], roots["call otel::inner"]
    execute_outer = spans["execute otel::outer"]
    invoke_inner = spans["invoke otel::inner"]
    execute_inner = spans["execute otel::inner"]
    assert execute_outer["parent_span_id"] == engine_outer["span_id"]
    assert invoke_inner["kind"] == "client"
    assert invoke_inner["parent_span_id"] == execute_outer["span_id"]
    assert engine_inner["parent_span_id"] == invoke_inner["span_id"]
    assert execute_inner["parent_span_id"] == engine_inner["span_id"]
