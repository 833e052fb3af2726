"""OTLP export of spans, logs and metrics through the OpenTelemetry SDK's own exporters.

Needs the ``otel`` extra (``opentelemetry-sdk``, ``opentelemetry-exporter-otlp``); imported only
when the config asks for OTLP, never on the engine's hot path. The tracer's records are queued
as they finish (a bounded deque: a slow collector drops the oldest, never the engine) and a
background task converts each batch to the SDK's ``ReadableSpan`` / ``ReadableLogRecord`` and
hands it to the exporter in a thread (exporters block).

Protocol: gRPC to ``endpoint`` (default ``http://localhost:4317``); with
``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf``, HTTP to ``<endpoint>/v1/traces``,
``/v1/logs`` and ``/v1/metrics``. Metrics are the engine's counters as observable
instruments, read by a periodic reader every ``OTEL_METRIC_EXPORT_INTERVAL`` ms (60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from plugins.observability.config import ObservabilityConfig
from plugins.observability.spans import SpanRecord
from plugins.observability.stats import EngineStats

__all__ = ["BatchExport", "start_exporters"]

log = logging.getLogger("iii.observability")

QUEUE_LIMIT = 20_000
"""Records waiting for export; beyond it the oldest are dropped."""

STOP_FLUSH_S = 1.0
"""How long stopping waits for the last batches."""

EXPORT_TIMEOUT_S = 3.0
"""Per export (retries included): a dead collector delays only its own batches and the
final flush when the engine stops."""


def _protocol() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc").strip().lower()


def _http_url(endpoint: str, path: str) -> str:
    return endpoint.rstrip("/") + path


class BatchExport:
    """Queue records, export them in batches from a background task."""

    def __init__(
        self,
        name: str,
        exporter: Any,
        convert: Callable[[list[Any]], Sequence[Any]],
        interval_s: float,
        batch_size: int = 512,
    ) -> None:
        self.name = name
        self.exporter = exporter
        self.convert = convert
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.queue: deque[Any] = deque(maxlen=QUEUE_LIMIT)
        self.exported = 0
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def add(self, record: Any) -> None:
        """Queue one record (called inline by the tracer or the log service)."""
        self.queue.append(record)
        if len(self.queue) >= self.batch_size:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Export everything queued now."""
        while self.queue:
            batch = [self.queue.popleft() for _ in range(min(self.batch_size, len(self.queue)))]
            try:
                items = self.convert(batch)
                await asyncio.to_thread(self.exporter.export, items)
                self.exported += len(batch)
            except Exception:
                log.warning("OTLP %s export failed", self.name, exc_info=True)

    async def stop(self) -> None:
        """Export what is left (for at most :data:`STOP_FLUSH_S`), then shut the exporter down
        (which also ends the retries of an export still waiting on a dead collector)."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), STOP_FLUSH_S)
        await asyncio.to_thread(self.exporter.shutdown)


class MetricsExport:
    """The engine counters as OTel observable instruments, pushed by a periodic reader."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    async def stop(self) -> None:
        """Flush and shut the meter provider down."""
        await asyncio.to_thread(self.provider.shutdown)


class _Converter:
    """SpanRecord / StoredLog -> the SDK's readable records."""

    def __init__(self, config: ObservabilityConfig) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self.config = config
        self._resources: dict[str, Any] = {}
        self._resource_type = Resource
        self.scope = InstrumentationScope("iii-engine", config.service_version or "")

    def resource(self, service: str) -> Any:
        found = self._resources.get(service)
        if found is None:
            attributes: dict[str, Any] = {"service.name": service}
            if service == self.config.service_name:
                if self.config.service_version:
                    attributes["service.version"] = self.config.service_version
                if self.config.service_namespace:
                    attributes["service.namespace"] = self.config.service_namespace
            found = self._resources[service] = self._resource_type.create(attributes)
        return found

    def spans(self, batch: list[SpanRecord]) -> list[Any]:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        kinds = {
            "server": SpanKind.SERVER,
            "client": SpanKind.CLIENT,
            "producer": SpanKind.PRODUCER,
            "consumer": SpanKind.CONSUMER,
        }
        codes = {"ok": StatusCode.OK, "error": StatusCode.ERROR}
        flags = TraceFlags(TraceFlags.SAMPLED)
        out = []
        for span in batch:
            trace_id = int(span.trace_id, 16)
            parent = None
            if span.parent_span_id is not None:
                parent = SpanContext(trace_id, int(span.parent_span_id, 16), True, flags)
            out.append(
                ReadableSpan(
                    name=span.name,
                    context=SpanContext(trace_id, int(span.span_id, 16), False, flags),
                    parent=parent,
                    resource=self.resource(span.service_name),
                    attributes={k: _primitive(v) for k, v in span.attribute_pairs()},
                    kind=kinds.get(span.kind, SpanKind.INTERNAL),
                    status=Status(codes.get(span.status, StatusCode.UNSET), span.status_description)
                    if span.status == "error"
                    else Status(codes.get(span.status, StatusCode.UNSET)),
                    start_time=span.start_ns,
                    end_time=span.end_ns,
                    instrumentation_scope=self.scope,
                )
            )
        return out

    def logs(self, batch: list[dict[str, Any]]) -> list[Any]:
        from opentelemetry._logs import LogRecord, SeverityNumber
        from opentelemetry.sdk._logs import ReadableLogRecord

        out = []
        for record in batch:
            trace_id, span_id = record.get("trace_id"), record.get("span_id")
            entry = LogRecord(
                timestamp=record["timestamp_unix_nano"],
                observed_timestamp=record["observed_timestamp_unix_nano"],
                trace_id=int(trace_id, 16) if trace_id else 0,
                span_id=int(span_id, 16) if span_id else 0,
                severity_text=record["severity_text"],
                severity_number=SeverityNumber(min(24, max(0, record["severity_number"]))),
                body=_primitive(record["body"]),
                attributes={k: _primitive(v) for k, v in record["attributes"].items()},
            )
            out.append(
                ReadableLogRecord(
                    entry, self.resource(record.get("service_name") or "iii"), self.scope
                )
            )
        return out


def _primitive(value: Any) -> Any:
    if isinstance(value, str | bool | int | float) or value is None:
        return "" if value is None else value
    import json

    return json.dumps(value, default=str)


def start_exporters(
    config: ObservabilityConfig,
    span_listeners: list[Callable[[SpanRecord], None]],
    log_listeners: list[Callable[[dict[str, Any]], None]],
    stats: EngineStats,
) -> list[Any]:
    """Start the OTLP exports the config asks for; returns objects with ``async stop()``.

    Exports subscribe to the tracer's ``span_listeners`` and the log service's
    ``log_listeners``; metrics read ``stats``."""
    grpc = _protocol() != "http/protobuf"
    convert = _Converter(config)
    started: list[Any] = []
    if config.exports_otlp:
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            span_exporter: Any = OTLPSpanExporter(
                endpoint=config.endpoint, insecure=True, timeout=EXPORT_TIMEOUT_S
            )
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter as HttpSpanExporter,
            )

            span_exporter = HttpSpanExporter(
                endpoint=_http_url(config.endpoint, "/v1/traces"), timeout=EXPORT_TIMEOUT_S
            )
        spans = BatchExport("spans", span_exporter, convert.spans, 0.5)
        span_listeners.append(spans.add)
        started.append(spans)
    if config.logs_exporter in ("otlp", "both"):
        if grpc:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

            log_exporter: Any = OTLPLogExporter(
                endpoint=config.endpoint, insecure=True, timeout=EXPORT_TIMEOUT_S
            )
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import (
                OTLPLogExporter as HttpLogExporter,
            )

            log_exporter = HttpLogExporter(
                endpoint=_http_url(config.endpoint, "/v1/logs"), timeout=EXPORT_TIMEOUT_S
            )
        logs = BatchExport(
            "logs",
            log_exporter,
            convert.logs,
            config.logs_flush_interval_ms / 1000,
            config.logs_batch_size,
        )
        log_listeners.append(logs.add)
        started.append(logs)
    if config.metrics_exporter == "otlp":
        started.append(_metrics(config, stats, grpc, convert))
    return started


def _metrics(
    config: ObservabilityConfig, stats: EngineStats, grpc: bool, convert: _Converter
) -> MetricsExport:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if grpc:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter: Any = OTLPMetricExporter(
            endpoint=config.endpoint, insecure=True, timeout=EXPORT_TIMEOUT_S
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        exporter = HttpMetricExporter(
            endpoint=_http_url(config.endpoint, "/v1/metrics"), timeout=EXPORT_TIMEOUT_S
        )
    reader = PeriodicExportingMetricReader(exporter)  # OTEL_METRIC_EXPORT_INTERVAL, 60 s
    provider = MeterProvider(
        resource=convert.resource(config.service_name), metric_readers=[reader]
    )
    meter = provider.get_meter("iii-engine")

    def invocations(options: CallbackOptions) -> list[Observation]:
        return [
            Observation(fn.total, {"function_id": function_id})
            for function_id, fn in list(stats.functions.items())
        ]

    def errors(options: CallbackOptions) -> list[Observation]:
        return [
            Observation(fn.errors, {"function_id": function_id})
            for function_id, fn in list(stats.functions.items())
        ]

    meter.create_observable_counter("iii.invocations", [invocations])
    meter.create_observable_counter("iii.invocation.errors", [errors])
    meter.create_observable_gauge(
        "iii.workers.connected", [lambda options: [Observation(stats.workers_active)]]
    )
    meter.create_observable_gauge(
        "iii.invocations.in_flight", [lambda options: [Observation(stats.in_flight)]]
    )
    return MetricsExport(provider)
