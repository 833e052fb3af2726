"""Logs: ``engine::log::{trace,debug,info,warn,error}``, ``engine::logs::list/clear``, the log
store and the ``log`` trigger type (workers.md §8.2, §8.3).

A record logged through the engine without ``trace_id`` / ``span_id`` takes them from the call
that carried it: the caller's span (the parent of the engine's ``call engine::log::*`` span), so
a worker's logs land in its trace without the worker doing anything. With
``logs_console_output`` records are also written to the engine's ``iii.worker`` logger (the
engine's own output, JSON with ``--log-format json``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from random import random
from time import time_ns
from typing import Any

import msgspec

from iii_sdk.observer import CURRENT
from iii_sdk.plugin import (
    Trigger,
    TriggerContext,
    TriggerType,
    WorkerContext,
    decode_config,
    decode_input,
)
from plugins.observability.config import ObservabilityConfig
from plugins.observability.query import bounds_ns, page
from plugins.observability.store import LogStore

__all__ = ["LEVELS", "LogService", "LogTriggerType"]

log = logging.getLogger("iii.worker")

LEVELS = {
    "trace": (1, "TRACE", logging.DEBUG - 5),
    "debug": (5, "DEBUG", logging.DEBUG),
    "info": (9, "INFO", logging.INFO),
    "warn": (13, "WARN", logging.WARNING),
    "error": (17, "ERROR", logging.ERROR),
}
"""level -> (OTel severity number, severity text, Python logging level)."""

_RANGES = {"trace": (1, 4), "debug": (5, 8), "info": (9, 12), "warn": (13, 16), "error": (17, 24)}


class LogInput(msgspec.Struct):
    """Input of ``engine::log::<level>``."""

    message: str
    data: Any = None
    trace_id: str | None = None
    span_id: str | None = None
    service_name: str | None = None


class LogQuery(msgspec.Struct, kw_only=True):
    """Input of ``engine::logs::list`` (times in unix milliseconds)."""

    start_time: int | None = None
    end_time: int | None = None
    trace_id: str | None = None
    span_id: str | None = None
    severity_min: int | None = None
    severity_text: str | None = None
    offset: int = 0
    limit: int = 100


class LogLevelConfig(msgspec.Struct, forbid_unknown_fields=True):
    """A ``log`` binding's config."""

    level: str = "all"


class LogTriggerType(TriggerType):
    """``log``: fires the bound function with each stored log of the chosen level."""

    id = "log"
    description = "Fires on every log record stored by iii-observability (optionally by level)"
    trigger_request_format = {
        "type": "object",
        "properties": {"level": {"enum": ["all", *LEVELS]}},
    }

    def __init__(self, ctx: TriggerContext) -> None:
        self._ctx = ctx
        self.bindings: dict[str, tuple[Trigger, str]] = {}

    async def register_trigger(self, trigger: Trigger) -> None:
        """Accept a binding; an unknown level is rejected."""
        level = decode_config(trigger.config, LogLevelConfig).level.lower()
        if level != "all" and level not in LEVELS:
            raise ValueError(f"unknown log level {level!r} (all, {', '.join(LEVELS)})")
        self.bindings[trigger.id] = (trigger, level)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Drop a binding."""
        self.bindings.pop(trigger.id, None)

    def fire(self, record: dict[str, Any]) -> None:
        """Deliver one stored record to the matching bindings."""
        severity = record.get("severity_number", 0)
        for trigger, level in list(self.bindings.values()):
            if level != "all":
                low, high = _RANGES[level]
                if not low <= severity <= high:
                    continue
            self._ctx.invoke_void(
                trigger.function_id, record, metadata=trigger.metadata, namespace=trigger.namespace
            )


class LogService:
    """The log store and the functions over it."""

    def __init__(self, config: ObservabilityConfig, store: LogStore) -> None:
        self.config = config
        self.store = store
        self.triggers: LogTriggerType | None = None
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        """Called with every stored record (the OTLP log export)."""

    def register(self, ctx: WorkerContext) -> None:
        """Register the log functions (always: restricted workers rely on them)."""
        for level in LEVELS:
            handler = self._log_function(level)
            ctx.register_function(f"engine::log::{level}", handler, description=handler.__doc__)
        ctx.register_function(
            "engine::logs::list", self.list_logs, description="Query stored log records"
        )
        ctx.register_function(
            "engine::logs::clear", self.clear, description="Delete every stored log record"
        )

    def add(self, record: dict[str, Any]) -> None:
        """Store one record (already sampled) and fire the ``log`` bindings."""
        self.store.add(record)
        for listener in self.listeners:
            listener(record)
        if self.triggers is not None and self.triggers.bindings:
            self.triggers.fire(record)

    def _log_function(self, level: str) -> Any:
        function_id = f"engine::log::{level}"
        number, text, py_level = LEVELS[level]
        config = self.config

        def emit(payload: Any) -> None:
            entry = decode_input(payload, LogInput, function_id)
            source = entry.service_name or (payload or {}).get("_caller_worker_id") or "worker"
            trace_id, span_id = entry.trace_id, entry.span_id
            span = CURRENT.get()
            caller_span = None if span is None else getattr(span, "parent_span_id", None)
            if trace_id is None and span is not None and caller_span is not None:
                # The caller's span (our call span's parent); a caller without trace context
                # gets none rather than the id of the engine's internal call span.
                trace_id, span_id = span.trace_id, caller_span
            if config.logs_console_output:
                suffix = "" if entry.data is None else f" {entry.data!r}"
                ids = {"trace_id": trace_id, "span_id": span_id} if trace_id else None
                log.log(py_level, "[%s] %s%s", source, entry.message, suffix, extra=ids)
            if not config.logs_enabled or (
                config.logs_sampling_ratio < 1.0 and random() >= config.logs_sampling_ratio
            ):
                return
            now = time_ns()
            attributes = {} if entry.data is None else {"data": entry.data}
            self.add(
                {
                    "timestamp_unix_nano": now,
                    "observed_timestamp_unix_nano": now,
                    "severity_number": number,
                    "severity_text": text,
                    "body": entry.message,
                    "attributes": attributes,
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "resource": {"service.name": entry.service_name or config.service_name},
                    "service_name": entry.service_name or source,
                }
            )

        emit.__doc__ = f"Log a message at {level} level through the engine."
        return emit

    def list_logs(self, payload: Any) -> dict[str, Any]:
        """``engine::logs::list``."""
        query = decode_input(payload or {}, LogQuery, "engine::logs::list")
        low, high = bounds_ns(query.start_time, query.end_time)
        if query.severity_text is not None:
            wanted_text = query.severity_text.upper()
            if wanted_text == "WARNING":
                wanted_text = "WARN"
        found = []
        for record in self.store:
            stamp = record["timestamp_unix_nano"]
            if (low is not None and stamp < low) or (high is not None and stamp > high):
                continue
            if query.trace_id is not None and record.get("trace_id") != query.trace_id:
                continue
            if query.span_id is not None and record.get("span_id") != query.span_id:
                continue
            if query.severity_min is not None and record["severity_number"] < query.severity_min:
                continue
            if query.severity_text is not None and record["severity_text"].upper() != wanted_text:
                continue
            found.append(record)
        found.sort(key=lambda record: record["timestamp_unix_nano"], reverse=True)
        logs = page(found, query.offset, query.limit)
        return {
            "logs": logs,
            "total": len(found),
            "query": msgspec.to_builtins(query),
            "timestamp": time_ns() // 1_000_000,
        }

    def clear(self, payload: Any) -> dict[str, Any]:
        """``engine::logs::clear``."""
        count = len(self.store)
        self.store.clear()
        return {"success": True, "message": f"cleared {count} log records"}
