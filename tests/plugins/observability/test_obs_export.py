"""OTLP export (gRPC and HTTP/protobuf) decoded with opentelemetry-proto, and the Prometheus
endpoint parsed with prometheus-client's text parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import grpc
import pytest
from aiohttp import web
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from iii_engine.testing import start_engine
from tests.raw_client import RawWorker, raw_worker

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
Received = dict[str, "asyncio.Queue[Any]"]


def _queues() -> Received:
    return {kind: asyncio.Queue() for kind in ("traces", "logs", "metrics")}


@asynccontextmanager
async def http_receiver() -> AsyncIterator[tuple[str, Received]]:
    """An OTLP/HTTP collector on a free port: every request decoded onto a queue."""
    received = _queues()
    kinds = {
        "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, "traces"),
        "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, "logs"),
        "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, "metrics"),
    }

    async def handle(request: web.Request) -> web.Response:
        message_type, kind = kinds[request.path]
        received[kind].put_nowait(message_type.FromString(await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    for path in kinds:
        app.router.add_post(path, handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


@asynccontextmanager
async def grpc_receiver() -> AsyncIterator[tuple[str, Received]]:
    """An OTLP/gRPC collector on a free port."""
    received = _queues()

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
        async def Export(self, request: Any, context: Any) -> Any:
            received["traces"].put_nowait(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):  # type: ignore[misc]
        async def Export(self, request: Any, context: Any) -> Any:
            received["logs"].put_nowait(request)
            return logs_service_pb2.ExportLogsServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
        async def Export(self, request: Any, context: Any) -> Any:
            received["metrics"].put_nowait(request)
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await server.stop(None)


async def _next(received: Received, kind: str) -> Any:
    async with asyncio.timeout(15):
        return await received[kind].get()


async def _traffic(w: RawWorker, executor: RawWorker) -> None:
    await executor.register_function("svc::echo")
    invocation_id = await w.invoke("svc::echo", 1, traceparent=f"00-{TRACE}-00f067aa0ba902b7-01")
    await executor.reply(await executor.invocation("svc::echo"), 1)
    await w.result(invocation_id)
    await w.call_ok(
        "engine::log::error",
        {"message": "exported", "data": {"k": "v"}},
        traceparent=f"00-{TRACE}-00f067aa0ba902b7-01",
    )


def _attrs(attributes: Any) -> dict[str, Any]:
    return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in attributes}


async def _check_export(endpoint: str, received: Received) -> None:
    config = {
        "exporter": "both",
        "endpoint": endpoint,
        "logs_exporter": "otlp",
        "logs_flush_interval_ms": 100,
        "metrics_exporter": "otlp",
        "service_name": "iii-exported",
    }
    entry = {"name": "iii-observability", "config": config}
    async with (
        start_engine(workers=[entry]) as engine,
        raw_worker(engine) as w,
        raw_worker(engine) as executor,
    ):
        await _traffic(w, executor)
        traces = await _next(received, "traces")
        spans = [
            (resource.resource, span)
            for resource in traces.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        resource, span = next((r, s) for r, s in spans if s.name == "call svc::echo")
        assert span.trace_id.hex() == TRACE
        assert span.parent_span_id.hex() == "00f067aa0ba902b7"
        assert _attrs(span.attributes)["iii.function.id"] == "svc::echo"
        assert _attrs(resource.attributes)["service.name"] == "iii-exported"
        logs = await _next(received, "logs")
        records = [r for rl in logs.resource_logs for sl in rl.scope_logs for r in sl.log_records]
        record = next(r for r in records if r.body.string_value == "exported")
        assert record.severity_text == "ERROR" and record.severity_number == 17
        assert record.trace_id.hex() == TRACE
        metrics = await _next(received, "metrics")
        names = {
            m.name for rm in metrics.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        }
        assert {"iii.invocations", "iii.workers.connected"} <= names
        # memory is kept too with exporter "both"
        assert (await w.call_ok("engine::traces::list", {"trace_id": TRACE}))["total"] == 1


async def test_otlp_grpc_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    async with grpc_receiver() as (endpoint, received):
        await _check_export(endpoint, received)


async def test_otlp_http_protobuf_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    async with http_receiver() as (endpoint, received):
        await _check_export(endpoint, received)


async def test_prometheus_endpoint_text_format() -> None:
    config = {"prometheus": {"enabled": True, "host": "127.0.0.1", "port": 0}}
    http = {"name": "iii-http", "config": {"port": 0, "host": "127.0.0.1"}}
    entry = {"name": "iii-observability", "config": config}
    async with (
        start_engine(workers=[entry, http]) as engine,
        raw_worker(engine) as w,
        raw_worker(engine) as executor,
    ):
        await executor.register_function("svc::echo")
        await executor.register_function("svc::fail")
        await executor.register_function("web::get")
        await executor.send(
            {
                "type": "registertrigger",
                "id": "h1",
                "trigger_type": "http",
                "function_id": "web::get",
                "config": {"api_path": "/ok", "http_method": "GET"},
            }
        )
        await executor.barrier()
        invocation_id = await w.invoke("svc::echo", 1)
        await executor.reply(await executor.invocation("svc::echo"), 1)
        await w.result(invocation_id)
        invocation_id = await w.invoke("svc::fail", 1)
        await executor.reply(
            await executor.invocation("svc::fail"), error={"code": "x", "message": "y"}
        )
        await w.result(invocation_id)
        http_port = engine.builtin("iii-http").port  # type: ignore[attr-defined]
        metrics_port = engine.builtin("iii-observability").port  # type: ignore[attr-defined]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{http_port}/missing") as response:
                assert response.status == 404  # no route: not a traced request
            request = asyncio.ensure_future(session.get(f"http://127.0.0.1:{http_port}/ok"))
            await executor.reply(await executor.invocation("web::get"), {"status_code": 202})
            (await request).release()
            async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("iii_invocations_total", (("function_id", "svc::echo"),))] == 1
    assert samples[("iii_invocation_errors_total", (("function_id", "svc::fail"),))] == 1
    assert samples[("iii_invocation_errors_total", (("function_id", "svc::echo"),))] == 0
    count = ("iii_invocation_duration_seconds_count", (("function_id", "svc::echo"),))
    assert samples[count] == 1
    inf = ("iii_invocation_duration_seconds_bucket", (("function_id", "svc::echo"), ("le", "+Inf")))
    assert samples[inf] == 1
    assert samples[("iii_http_requests_total", (("method", "GET"), ("status", "202")))] == 1
    assert samples[("iii_workers_connected", ())] == 2
    assert samples[("iii_invocations_in_flight", ())] == 0
