"""Logs joined to traces: the SDK's engine log handler, and the engine's JSON log lines."""

from __future__ import annotations

import json
import logging
from typing import Any

from iii_engine.cli._logsetup import JsonFormatter
from iii_engine.engine import Engine
from iii_sdk.logs import get_logger, level_name
from iii_sdk.observer import CURRENT
from iii_sdk.worker import Worker
from plugins.observability.spans import SpanRecord
from tests.raw_client import raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_sdk_logger_records_carry_the_trace_and_reach_the_engine(
    iii_engine: Engine, iii_worker: Any
) -> None:
    worker: Worker = await iii_worker(iii_engine, name="billing")
    log = get_logger(worker)

    def charge(payload: Any) -> Any:
        log.warning("charging", extra={"data": {"amount": payload["amount"]}})
        return "ok"

    worker.register_function("billing::charge", charge)
    async with raw_worker(iii_engine) as caller:
        await worker.trigger("engine::functions::list", {})  # registration applied
        invocation_id = await caller.invoke(
            "billing::charge", {"amount": 12}, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01"
        )
        assert (await caller.result(invocation_id))["result"] == "ok"
        tree = await caller.call_ok("engine::traces::tree", {"trace_id": TRACE})
        engine_span = tree["roots"][0]["span_id"]
        # The log call is a void frame queued before the handler's result: already applied.
        logs = await caller.call_ok("engine::logs::list", {"trace_id": TRACE})
    [record] = logs["logs"]
    assert record["body"] == "charging"
    assert record["severity_text"] == "WARN"
    assert record["attributes"] == {"data": {"amount": 12}}
    assert record["span_id"] == engine_span  # the engine span the handler ran under
    assert record["service_name"] == "billing"


def test_level_names() -> None:
    assert [level_name(n) for n in (5, 10, 20, 30, 40, 50)] == [
        "trace",
        "debug",
        "info",
        "warn",
        "error",
        "error",
    ]


def test_engine_json_log_lines_carry_trace_and_span_ids() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord("iii.worker", logging.INFO, __file__, 1, "hello", None, None)
    assert "trace_id" not in json.loads(formatter.format(record))
    span = SpanRecord(TRACE, "1111111111111111", None, "call x", "server", "iii", True, None)
    token = CURRENT.set(span)
    try:
        line = json.loads(formatter.format(record))
    finally:
        CURRENT.reset(token)
    assert (line["trace_id"], line["span_id"]) == (TRACE, "1111111111111111")
    record.trace_id = "f" * 32
    record.span_id = "2" * 16
    line = json.loads(formatter.format(record))
    assert (line["trace_id"], line["span_id"]) == ("f" * 32, "2" * 16)
