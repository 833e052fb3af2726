"""The iii-observability built-in worker: traces, logs, metrics and the functions to query them.

On start it registers the functions of workers.md §8.2 and the ``log`` / ``trace`` trigger
types, and exposes :attr:`ObservabilityWorker.observer` (a :class:`Tracer`) which the engine
installs (see :mod:`iii_sdk.observer`). With ``enabled: false`` the functions still answer
(``engine::log::*`` must always exist) but there is no observer: the engine makes no spans.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from importlib.metadata import PackageNotFoundError, version
from time import time_ns
from typing import Any

import msgspec

from iii_sdk.plugin import BuiltinWorker, WorkerContext, decode_input
from plugins.observability.baggage import register_baggage
from plugins.observability.config import ObservabilityConfig
from plugins.observability.ingest import (
    decode_frame,
    logs_from_otlp,
    metrics_from_otlp,
    spans_from_otlp,
)
from plugins.observability.logs import LogService, LogTriggerType
from plugins.observability.query import TraceQueries, bounds_ns, now_ms
from plugins.observability.spans import SpanRecord
from plugins.observability.stats import EngineStats
from plugins.observability.store import LogStore, SpanStore
from plugins.observability.trace_trigger import TraceTriggerType
from plugins.observability.tracer import Tracer

__all__ = ["ObservabilityWorker"]

log = logging.getLogger("iii.observability")


class MetricsQuery(msgspec.Struct, kw_only=True):
    """Input of ``engine::metrics::list`` (times in unix milliseconds)."""

    start_time: int | None = None
    end_time: int | None = None
    metric_name: str | None = None
    aggregate_interval: int | None = None


def _version() -> str:
    try:
        return version("iii-py")
    except PackageNotFoundError:
        return "0.0.0"


class ObservabilityWorker(BuiltinWorker):
    """See the module docstring."""

    def __init__(self, config: ObservabilityConfig | None = None) -> None:
        self.config = config or ObservabilityConfig()
        cfg = self.config
        self.stats = EngineStats()
        self.spans = SpanStore(cfg.memory_max_spans, cfg.trace_storage.retention_seconds)
        self.logs = LogService(cfg, LogStore(cfg.logs_max_count, cfg.logs_retention_seconds))
        self.sdk_metrics: deque[dict[str, Any]] = deque(maxlen=cfg.metrics_max_count)
        self.tracer = Tracer(
            cfg, self.spans if cfg.stores_spans else None, self.stats, self.on_telemetry
        )
        self.observer: Tracer | None = None
        self.trace_trigger: TraceTriggerType | None = None
        self.exporters: list[Any] = []
        self.prometheus: Any = None

    async def start(self, ctx: WorkerContext) -> None:
        """Register the functions and trigger types; become the engine's observer if enabled."""
        cfg = self.config
        self.logs.register(ctx)
        TraceQueries(self.spans).register(ctx)
        ctx.register_function(
            "engine::metrics::list", self.metrics_list, description="Engine and SDK metrics"
        )
        ctx.register_function(
            "engine::health::check", self.health, description="Observability health"
        )
        ctx.register_function(
            "engine::sampling::rules", self.sampling_rules, description="Active sampling rules"
        )
        register_baggage(ctx)
        log_trigger = LogTriggerType(ctx)
        self.logs.triggers = log_trigger
        ctx.register_trigger_type(log_trigger)
        self.trace_trigger = TraceTriggerType(ctx, self.tracer.listeners)
        ctx.register_trigger_type(self.trace_trigger)
        if cfg.exports_otlp or cfg.logs_exporter != "memory" or cfg.metrics_exporter == "otlp":
            from plugins.observability.export import start_exporters

            self.exporters = start_exporters(
                cfg, self.tracer.listeners, self.logs.listeners, self.stats
            )
        if cfg.prometheus.enabled:
            from plugins.observability.prometheus import PrometheusEndpoint

            self.prometheus = PrometheusEndpoint(cfg.prometheus, self.stats, _queue_rows(ctx))
            await self.prometheus.start()
        if cfg.enabled:
            self.observer = self.tracer

    async def stop(self) -> None:
        """Stop exporting; the engine uninstalls the observer."""
        self.observer = None
        if self.trace_trigger is not None:
            self.trace_trigger.close()
        if self.prometheus is not None:
            await self.prometheus.stop()
            self.prometheus = None
        await asyncio.gather(*(exporter.stop() for exporter in self.exporters))
        self.exporters = []

    @property
    def port(self) -> int | None:
        """The Prometheus port once listening (``None`` when off)."""
        return None if self.prometheus is None else self.prometheus.port

    def urls(self) -> dict[str, str]:
        """The Prometheus endpoint when it is on, for the engine's banner."""
        port = self.port
        if port is None:
            return {}
        return {"metrics": f"http://{self.config.prometheus.host}:{port}/metrics"}

    # --- telemetry frames ------------------------------------------------------------------------

    def on_telemetry(self, frame: bytes) -> None:
        """Ingest one ``OTLP`` / ``LOGS`` / ``MTRC`` frame from an SDK."""
        prefix, body = decode_frame(frame)
        cfg = self.config
        if prefix == "OTLP":
            for span in spans_from_otlp(body, "unknown"):
                self.tracer.keep(span)
        elif prefix == "LOGS":
            if cfg.logs_enabled:
                for record in logs_from_otlp(body, "unknown"):
                    self.logs.add(record)
        elif prefix == "MTRC" and cfg.metrics_enabled:
            self.sdk_metrics.extend(metrics_from_otlp(body, now_ms))

    # --- functions -------------------------------------------------------------------------------

    def metrics_list(self, payload: Any) -> dict[str, Any]:
        """``engine::metrics::list``."""
        query = decode_input(payload or {}, MetricsQuery, "engine::metrics::list")
        low, high = bounds_ns(query.start_time, query.end_time)
        horizon = now_ms() - int(self.config.metrics_retention_seconds * 1000)
        while self.sdk_metrics and self.sdk_metrics[0]["timestamp"] < horizon:
            self.sdk_metrics.popleft()
        sdk = [
            entry
            for entry in self.sdk_metrics
            if (query.metric_name is None or entry["name"] == query.metric_name)
            and (low is None or entry["timestamp"] * 1_000_000 >= low)
            and (high is None or entry["timestamp"] * 1_000_000 <= high)
        ]
        result: dict[str, Any] = {
            "engine_metrics": self.stats.engine_metrics(),
            "sdk_metrics": sdk,
            "timestamp": now_ms(),
        }
        if query != MetricsQuery():
            result["query"] = msgspec.to_builtins(query)
        return result

    def health(self, payload: Any) -> dict[str, Any]:
        """``engine::health::check``."""
        cfg = self.config

        def component(on: bool, details: dict[str, Any]) -> dict[str, Any]:
            return {"status": "healthy" if on else "disabled", "details": details}

        return {
            "status": "healthy",
            "components": {
                "otel": component(
                    cfg.enabled,
                    {
                        "service_name": cfg.service_name,
                        "exporter": cfg.exporter,
                        "endpoint": cfg.endpoint if cfg.exports_otlp else None,
                    },
                ),
                "metrics": component(
                    cfg.metrics_enabled,
                    {
                        "exporter": cfg.metrics_exporter,
                        "functions": len(self.stats.functions),
                        "sdk_metrics": len(self.sdk_metrics),
                    },
                ),
                "logs": component(
                    cfg.logs_enabled,
                    {
                        "exporter": cfg.logs_exporter,
                        "stored": len(self.logs.store),
                        "max_count": cfg.logs_max_count,
                    },
                ),
                "spans": component(cfg.enabled, self.spans.storage()),
            },
            "timestamp": now_ms(),
            "version": _version(),
        }

    def sampling_rules(self, payload: Any) -> dict[str, Any]:
        """``engine::sampling::rules``."""
        cfg = self.config
        sampling = cfg.sampling
        rules = [] if sampling is None else [msgspec.to_builtins(r) for r in sampling.rules]
        for rule in rules:
            rule.setdefault("operation", None)
            rule.setdefault("service", None)
        return {
            "traces": {
                "default_ratio": cfg.default_ratio,
                "rules": rules,
                "parent_based": self.tracer.sampler.parent_based,
            },
            "logs": {"sampling_ratio": cfg.logs_sampling_ratio},
            "timestamp": time_ns() // 1_000_000,
        }


def _span_check(span: SpanRecord) -> None:  # keeps the import used for type readers
    del span


def _queue_rows(ctx: WorkerContext) -> Any:
    """``engine::queue::list_queues`` for the Prometheus scrape (``[]`` without iii-queue)."""

    async def rows() -> list[dict[str, Any]]:
        if ctx.has_function(_LIST_QUEUES) is False:
            return []
        found = await ctx.invoke(_LIST_QUEUES, {}, timeout_ms=2000)
        return [row for row in found if isinstance(row, dict)] if isinstance(found, list) else []

    return rows


_LIST_QUEUES = "engine::queue::list_queues"
