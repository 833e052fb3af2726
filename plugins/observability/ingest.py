"""Telemetry frames from the SDKs: ``OTLP`` (spans), ``LOGS`` and ``MTRC`` + OTLP-JSON.

The official SDKs send these over the worker socket or ``/otel`` (protocol §1.2). Spans become
:class:`SpanRecord` objects in the same store as the engine's own, logs become StoredLog
records, metrics are kept as ``sdk_metrics`` entries. Ids are lowercase hex as the SDKs send
them; base64 ids (the protobuf JSON mapping) are accepted too. A malformed frame raises
:class:`ValueError` (the engine logs and drops it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import msgspec

from plugins.observability.spans import SpanRecord

__all__ = ["KINDS", "attributes_dict", "decode_frame", "logs_from_otlp", "spans_from_otlp"]

KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {0: "unset", 1: "ok", 2: "error"}


def decode_frame(frame: bytes) -> tuple[str, dict[str, Any]]:
    """``(prefix, body)`` of a telemetry frame."""
    prefix = bytes(frame[:4]).decode("ascii", "replace")
    try:
        body = msgspec.json.decode(frame[4:])
    except msgspec.DecodeError as exc:
        raise ValueError(f"telemetry frame {prefix}: not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError(f"telemetry frame {prefix}: not a JSON object")
    return prefix, body


def _value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "arrayValue" in value:
        return [_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return attributes_dict((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes_dict(attributes: Any) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue: …}}]`` as a plain dict."""
    result: dict[str, Any] = {}
    for item in attributes or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            result[item["key"]] = _value(item.get("value"))
    return result


def _hex_id(value: Any, size: int) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if len(value) == size * 2:
        try:
            int(value, 16)
        except ValueError:
            pass
        else:
            return None if int(value, 16) == 0 else value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size and any(raw) else None


def _nanos(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def spans_from_otlp(body: dict[str, Any], default_service: str) -> list[SpanRecord]:
    """Every span of an ``ExportTraceServiceRequest`` in OTLP-JSON."""
    records: list[SpanRecord] = []
    for resource_spans in body.get("resourceSpans") or []:
        resource = attributes_dict((resource_spans.get("resource") or {}).get("attributes"))
        service = str(resource.get("service.name") or default_service)
        for scope_spans in resource_spans.get("scopeSpans") or []:
            scope = scope_spans.get("scope") or {}
            for raw in scope_spans.get("spans") or []:
                span = _span(raw, service, scope)
                if span is not None:
                    records.append(span)
    return records


def _span(raw: dict[str, Any], service: str, scope: dict[str, Any]) -> SpanRecord | None:
    trace_id = _hex_id(raw.get("traceId"), 16)
    span_id = _hex_id(raw.get("spanId"), 8)
    if trace_id is None or span_id is None:
        return None
    kind = raw.get("kind", 0)
    span = SpanRecord(
        trace_id,
        span_id,
        _hex_id(raw.get("parentSpanId"), 8),
        str(raw.get("name") or ""),
        KINDS.get(kind, "internal") if isinstance(kind, int) else str(kind).lower(),
        service,
        True,
        None,
    )
    span.start_ns = _nanos(raw.get("startTimeUnixNano"))
    span.end_ns = _nanos(raw.get("endTimeUnixNano"))
    status = raw.get("status") or {}
    code = status.get("code", 0)
    span.status = _STATUS.get(code, "unset") if isinstance(code, int) else _status_name(code)
    if status.get("message"):
        span.status_description = str(status["message"])
    attributes = attributes_dict(raw.get("attributes"))
    if attributes:
        span.attributes = attributes
    span.events = [
        {
            "name": event.get("name", ""),
            "time_unix_nano": _nanos(event.get("timeUnixNano")),
            "attributes": [[k, v] for k, v in attributes_dict(event.get("attributes")).items()],
        }
        for event in raw.get("events") or []
    ]
    span.links = [
        {
            "trace_id": _hex_id(link.get("traceId"), 16),
            "span_id": _hex_id(link.get("spanId"), 8),
            "attributes": [[k, v] for k, v in attributes_dict(link.get("attributes")).items()],
        }
        for link in raw.get("links") or []
    ]
    span.scope_name = scope.get("name") or None
    span.scope_version = scope.get("version") or None
    span.trace_state = raw.get("traceState") or None
    return span


def _status_name(code: Any) -> str:
    text = str(code).upper()
    if "ERROR" in text:
        return "error"
    return "ok" if "OK" in text else "unset"


def logs_from_otlp(body: dict[str, Any], default_service: str) -> list[dict[str, Any]]:
    """Every record of an ``ExportLogsServiceRequest`` as StoredLog dicts."""
    logs: list[dict[str, Any]] = []
    for resource_logs in body.get("resourceLogs") or []:
        resource = attributes_dict((resource_logs.get("resource") or {}).get("attributes"))
        service = str(resource.get("service.name") or default_service)
        for scope_logs in resource_logs.get("scopeLogs") or []:
            scope = scope_logs.get("scope") or {}
            for raw in scope_logs.get("logRecords") or []:
                timestamp = _nanos(raw.get("timeUnixNano")) or _nanos(
                    raw.get("observedTimeUnixNano")
                )
                record: dict[str, Any] = {
                    "timestamp_unix_nano": timestamp,
                    "observed_timestamp_unix_nano": _nanos(raw.get("observedTimeUnixNano"))
                    or timestamp,
                    "severity_number": int(raw.get("severityNumber") or 0),
                    "severity_text": str(raw.get("severityText") or ""),
                    "body": _value(raw.get("body")),
                    "attributes": attributes_dict(raw.get("attributes")),
                    "trace_id": _hex_id(raw.get("traceId"), 16),
                    "span_id": _hex_id(raw.get("spanId"), 8),
                    "resource": resource,
                    "service_name": service,
                }
                if scope.get("name"):
                    record["instrumentation_scope_name"] = scope["name"]
                if scope.get("version"):
                    record["instrumentation_scope_version"] = scope["version"]
                logs.append(record)
    return logs


def metrics_from_otlp(body: dict[str, Any], now_ms: Callable[[], int]) -> list[dict[str, Any]]:
    """Every metric of an ``ExportMetricsServiceRequest``, one entry per metric."""
    entries: list[dict[str, Any]] = []
    for resource_metrics in body.get("resourceMetrics") or []:
        resource = attributes_dict((resource_metrics.get("resource") or {}).get("attributes"))
        service = resource.get("service.name")
        for scope_metrics in resource_metrics.get("scopeMetrics") or []:
            for metric in scope_metrics.get("metrics") or []:
                kind = next(
                    (
                        k
                        for k in ("sum", "gauge", "histogram", "exponentialHistogram", "summary")
                        if k in metric
                    ),
                    "unknown",
                )
                points = (metric.get(kind) or {}).get("dataPoints") or []
                entries.append(
                    {
                        "name": metric.get("name", ""),
                        "description": metric.get("description", ""),
                        "unit": metric.get("unit", ""),
                        "type": kind,
                        "service_name": service,
                        "data_points": [
                            {**p, "attributes": attributes_dict(p.get("attributes"))}
                            for p in points
                            if isinstance(p, dict)
                        ],
                        "timestamp": now_ms(),
                    }
                )
    return entries


__all__ += ["metrics_from_otlp"]
