"""The engine::* functions of iii-observability: exact shapes, bad queries, bounded stores."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
STORED_SPAN_KEYS = {
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "status",
    "attributes",
    "service_name",
    "events",
    "links",
    "kind",
    "flags",
}
STORED_LOG_KEYS = {
    "timestamp_unix_nano",
    "observed_timestamp_unix_nano",
    "severity_number",
    "severity_text",
    "body",
    "attributes",
    "trace_id",
    "span_id",
    "resource",
    "service_name",
}


@asynccontextmanager
async def observed(**config: Any) -> AsyncIterator[tuple[Engine, RawWorker]]:
    entry = {"name": "iii-observability", "config": config}
    async with start_engine(workers=[entry]) as engine, raw_worker(engine) as w:
        yield engine, w


async def _echo_calls(w: RawWorker, executor: RawWorker, n: int, **fields: Any) -> None:
    for i in range(n):
        invocation_id = await w.invoke("svc::echo", i, **fields)
        await executor.reply(await executor.invocation("svc::echo"), i)
        await w.result(invocation_id)


async def test_traces_list_shape_and_filters() -> None:
    async with observed() as (engine, w), raw_worker(engine) as executor:
        await executor.register_function("svc::echo")
        await _echo_calls(w, executor, 3)
        listing = await w.call_ok("engine::traces::list", {})
        assert set(listing) == {"spans", "total", "offset", "limit", "storage"}
        assert listing["total"] == 3 and listing["limit"] == 100 and listing["offset"] == 0
        assert all(set(span) == STORED_SPAN_KEYS for span in listing["spans"])
        starts = [s["start_time_unix_nano"] for s in listing["spans"]]
        assert starts == sorted(starts, reverse=True)  # newest first by default
        assert listing["storage"]["max_spans"] == 10000
        page = await w.call_ok("engine::traces::list", {"limit": 1, "offset": 1})
        assert [s["span_id"] for s in page["spans"]] == [listing["spans"][1]["span_id"]]
        named = await w.call_ok("engine::traces::list", {"name": "ECHO", "status": "ok"})
        assert named["total"] == 3
        none = await w.call_ok("engine::traces::list", {"min_duration_ms": 60_000})
        assert none["total"] == 0
        # engine::* calls (this very query) are internal: hidden unless asked for.
        internal = await w.call_ok(
            "engine::traces::list", {"include_internal": True, "name": "engine::traces"}
        )
        assert internal["total"] >= 1
        attrs = await w.call_ok(
            "engine::traces::list", {"attributes": [["iii.function.id", "svc::echo"]]}
        )
        assert attrs["total"] == 3
        excluded = await w.call_ok(
            "engine::traces::list", {"exclude_attributes": [["iii.function.id", "svc::echo"]]}
        )
        assert excluded["total"] == 0


async def test_bad_queries_get_clear_errors() -> None:
    async with observed() as (_, w):
        unknown = await w.call("engine::traces::tree", {"trace_id": TRACE})
        assert unknown["error"]["code"] == "NOT_FOUND"
        assert TRACE in unknown["error"]["message"]
        malformed = await w.call("engine::traces::tree", {"trace_id": "nope"})
        assert malformed["error"]["code"] == "INVALID_ARGUMENTS"
        assert "32 hexadecimal" in malformed["error"]["message"]
        missing = await w.call("engine::traces::tree", {})
        assert missing["error"]["code"] == "deserialization_error"
        inverted = await w.call("engine::traces::list", {"start_time": 2000, "end_time": 1000})
        assert inverted["error"]["code"] == "INVALID_ARGUMENTS"
        assert "start_time (2000) is after end_time (1000)" in inverted["error"]["message"]
        negative = await w.call("engine::logs::list", {"limit": -1})
        assert negative["error"]["code"] == "INVALID_ARGUMENTS"
        sort = await w.call("engine::traces::list", {"sort_by": "colour"})
        assert sort["error"]["code"] == "deserialization_error"
        group = await w.call("engine::traces::group_by", {})
        assert group["error"]["code"] == "deserialization_error"


async def test_tree_clear_and_group_by() -> None:
    async with observed() as (engine, w), raw_worker(engine) as executor:
        await executor.register_function("svc::echo")
        await _echo_calls(w, executor, 2, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01")
        tree = await w.call_ok("engine::traces::tree", {"trace_id": TRACE.upper()})
        assert set(tree) == {"roots", "storage"}
        assert len(tree["roots"]) == 2 and all(r["children"] == [] for r in tree["roots"])
        groups = await w.call_ok("engine::traces::group_by", {"attribute": "iii.function.id"})
        [group] = groups["groups"]
        assert set(group) == {
            "value",
            "label",
            "trace_ids",
            "span_count",
            "first_seen_ms",
            "last_seen_ms",
            "duration_ms",
            "error_count",
        }
        assert group["value"] == "svc::echo" and group["trace_ids"] == [TRACE]
        assert group["span_count"] == 2 and group["error_count"] == 0
        assert await w.call_ok("engine::traces::clear", {}) == {"success": True}
        assert (await w.call_ok("engine::traces::list", {}))["total"] == 0


async def test_span_store_is_bounded_by_count() -> None:
    async with observed(memory_max_spans=5) as (engine, w), raw_worker(engine) as executor:
        await executor.register_function("svc::echo")
        await _echo_calls(w, executor, 8)
        listing = await w.call_ok(
            "engine::traces::list", {"include_internal": True, "search_all_spans": True}
        )
        assert listing["total"] <= 5
        assert listing["storage"]["dropped_spans"] >= 3


async def test_sampling_ratio_zero_keeps_no_new_trace_but_honours_sampled_parents() -> None:
    async with observed(sampling_ratio=0.0) as (engine, w), raw_worker(engine) as executor:
        await executor.register_function("svc::echo")
        invocation_id = await w.invoke("svc::echo", 1)
        invocation = await executor.invocation("svc::echo")
        assert invocation["traceparent"].endswith("-00")  # not sampled, still propagated
        await executor.reply(invocation, 1)
        await w.result(invocation_id)
        assert (await w.call_ok("engine::traces::list", {}))["total"] == 0
        await _echo_calls(w, executor, 1, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01")
        assert (await w.call_ok("engine::traces::list", {}))["total"] == 1
        rules = await w.call_ok("engine::sampling::rules", {})
        assert set(rules) == {"traces", "logs", "timestamp"}
        assert rules["traces"] == {"default_ratio": 0.0, "rules": [], "parent_based": True}
        assert rules["logs"] == {"sampling_ratio": 1.0}


async def test_sampling_rules_pick_operations() -> None:
    sampling = {"default": 0.0, "rules": [{"operation": "svc::*", "rate": 1.0}]}
    async with observed(sampling=sampling) as (engine, w), raw_worker(engine) as executor:
        await executor.register_function("svc::echo")
        await executor.register_function("other::fn")
        await _echo_calls(w, executor, 1)
        invocation_id = await w.invoke("other::fn", 1)
        await executor.reply(await executor.invocation("other::fn"), 1)
        await w.result(invocation_id)
        names = [s["name"] for s in (await w.call_ok("engine::traces::list", {}))["spans"]]
        assert names == ["call svc::echo"]
        rules = await w.call_ok("engine::sampling::rules", {})
        assert rules["traces"]["rules"] == [{"operation": "svc::*", "service": None, "rate": 1.0}]


async def test_logs_carry_the_callers_trace_and_are_listed() -> None:
    async with observed(logs_max_count=3) as (_, w):
        parent = "00f067aa0ba902b7"
        await w.call_ok(
            "engine::log::warn",
            {"message": "careful", "data": {"n": 1}},
            traceparent=f"00-{TRACE}-{parent}-01",
        )
        await w.call_ok("engine::log::info", {"message": "plain", "service_name": "billing"})
        listing = await w.call_ok("engine::logs::list", {})
        assert set(listing) == {"logs", "total", "query", "timestamp"}
        assert listing["total"] == 2
        newest, oldest = listing["logs"]
        assert set(oldest) == STORED_LOG_KEYS
        assert (oldest["body"], oldest["severity_number"], oldest["severity_text"]) == (
            "careful",
            13,
            "WARN",
        )
        assert (oldest["trace_id"], oldest["span_id"]) == (TRACE, parent)
        assert oldest["attributes"] == {"data": {"n": 1}}
        assert newest["service_name"] == "billing"
        by_trace = await w.call_ok("engine::logs::list", {"trace_id": TRACE})
        assert [r["body"] for r in by_trace["logs"]] == ["careful"]
        severe = await w.call_ok("engine::logs::list", {"severity_min": 13})
        assert severe["total"] == 1
        for i in range(5):  # bounded: logs_max_count=3
            await w.call_ok("engine::log::debug", {"message": f"m{i}"})
        assert (await w.call_ok("engine::logs::list", {}))["total"] == 3
        cleared = await w.call_ok("engine::logs::clear", {})
        assert cleared["success"] is True
        assert (await w.call_ok("engine::logs::list", {}))["total"] == 0


async def test_metrics_and_health_shapes() -> None:
    async with observed() as (engine, w), raw_worker(engine) as executor:
        await executor.register_function("svc::echo")
        await _echo_calls(w, executor, 2)
        metrics = await w.call_ok("engine::metrics::list", {})
        assert set(metrics) == {"engine_metrics", "sdk_metrics", "timestamp"}
        engine_metrics = metrics["engine_metrics"]
        assert set(engine_metrics) == {"invocations", "workers", "performance"}
        invocations = engine_metrics["invocations"]
        assert invocations["by_function"]["svc::echo"]["total"] == 2
        assert invocations["by_function"]["svc::echo"]["error"] == 0
        assert {"total", "success", "error", "deferred", "by_function"} <= set(invocations)
        assert engine_metrics["workers"]["active"] == 2
        assert set(engine_metrics["performance"]) == {
            f"{k}_duration_ms" for k in ("avg", "p50", "p95", "p99", "min", "max")
        }
        health = await w.call_ok("engine::health::check", {})
        assert set(health) == {"status", "components", "timestamp", "version"}
        assert set(health["components"]) == {"otel", "metrics", "logs", "spans"}
        assert all(
            set(c) == {"status", "details"} and c["status"] == "healthy"
            for c in health["components"].values()
        )


async def test_sdk_telemetry_frames_land_in_the_same_stores() -> None:
    now = time.time_ns()
    span = {
        "traceId": TRACE,
        "spanId": "1111111111111111",
        "parentSpanId": "2222222222222222",
        "name": "execute svc::echo",
        "kind": 1,
        "startTimeUnixNano": str(now - 5_000_000),
        "endTimeUnixNano": str(now),
        "attributes": [{"key": "n", "value": {"intValue": "3"}}],
        "status": {"code": 2, "message": "bad"},
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "node-w"}}]}
    traces = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    log = {
        "timeUnixNano": str(now),
        "severityNumber": 17,
        "severityText": "ERROR",
        "body": {"stringValue": "from node"},
        "traceId": TRACE,
        "spanId": "1111111111111111",
    }
    logs = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [log]}]}]}
    metric = {"name": "requests", "sum": {"dataPoints": [{"asInt": "4"}]}}
    metrics = {"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": [metric]}]}]}
    async with observed() as (_, w):
        await w.send_bytes(b"OTLP" + json.dumps(traces).encode())
        await w.send_bytes(b"LOGS" + json.dumps(logs).encode())
        await w.send_bytes(b"MTRC" + json.dumps(metrics).encode())
        await w.send_bytes(b"OTLP{broken")  # dropped, the socket stays open
        tree = await w.call_ok("engine::traces::tree", {"trace_id": TRACE})
        [root] = tree["roots"]
        assert root["name"] == "execute svc::echo" and root["service_name"] == "node-w"
        assert root["status"] == "error" and root["attributes"] == [["n", 3]]
        found = await w.call_ok("engine::logs::list", {"trace_id": TRACE})
        assert [r["body"] for r in found["logs"]] == ["from node"]
        sdk = (await w.call_ok("engine::metrics::list", {}))["sdk_metrics"]
        assert [m["name"] for m in sdk] == ["requests"]


async def test_baggage_functions_read_the_callers_baggage() -> None:
    async with observed() as (_, w):
        baggage = "user=alice%20b,tenant=t1;ttl=3"
        got = await w.call_ok("engine::baggage::get", {"key": "user"}, baggage=baggage)
        assert got == {"value": "alice b"}
        everything = await w.call_ok("engine::baggage::get_all", {}, baggage=baggage)
        assert everything == {"baggage": {"user": "alice b", "tenant": "t1"}}
        assert (await w.call_ok("engine::baggage::get", {"key": "nope"}))["value"] is None
        answer = await w.call_ok("engine::baggage::set", {"key": "k", "value": "v"})
        assert answer["success"] is True and "note" in answer
