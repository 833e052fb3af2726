"""The ``config:`` block of the ``iii-observability`` entry (upstream's keys, workers.md §8.1).

Every upstream key is accepted so upstream files load unchanged; unknown keys are rejected with
their path. Keys that change behaviour here: ``enabled``, ``service_name`` / ``service_version``
/ ``service_namespace``, ``exporter`` and ``endpoint``, ``sampling_ratio`` and ``sampling``
(``default``, ``parent_based``, ``rules``, ``rate_limit``), ``memory_max_spans``,
``trace_storage.retention_seconds``, ``metrics_*``, ``logs_*`` and ``format``. Accepted without
effect (documented in docs/observability.md): ``trace_storage``'s disk keys, ``live_spans``,
``alerts``, ``collapse_spans``, ``level``, ``logs_batch_size``.

This project adds the opt-in Prometheus endpoint: ``prometheus: {enabled, host, port}``
(port 9464 by default).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "ObservabilityConfig",
    "PrometheusConfig",
    "RateLimit",
    "SamplingConfig",
    "SamplingRule",
    "TraceStorage",
]

Ratio = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]


class SamplingRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``{operation?, service?, rate}``: ``operation`` is a glob over span names and function
    ids (``call math::*`` or ``math::*``), ``service`` a glob over the service name."""

    operation: str | None = None
    service: str | None = None
    rate: Ratio


class RateLimit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``{max_traces_per_second}``: new root traces above this rate are not sampled."""

    max_traces_per_second: Annotated[float, msgspec.Meta(gt=0)]


class SamplingConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``sampling:``; ``default`` overrides ``sampling_ratio`` when set."""

    default: Ratio | None = None
    parent_based: bool = True
    rules: list[SamplingRule] = msgspec.field(default_factory=list)
    rate_limit: RateLimit | None = None


class TraceStorage(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``trace_storage:`` (memory only here: ``retention_seconds`` bounds span age)."""

    enabled: bool = False
    directory: str | None = None
    max_disk_bytes: int | None = None
    retention_seconds: Seconds = 3600.0
    memory_max_bytes: int | None = None
    memory_low_watermark_ratio: float | None = None
    pending_max_age_seconds: float | None = None


class PrometheusConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``prometheus:`` (this project's addition): a ``/metrics`` endpoint, off by default."""

    enabled: bool = False
    host: str = "0.0.0.0"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 9464


class ObservabilityConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-observability`` config (workers.md §8.1); defaults: on, memory exporters."""

    enabled: bool = True
    service_name: str = "iii"
    service_version: str | None = None
    service_namespace: str | None = None
    exporter: Literal["memory", "otlp", "both"] = "memory"
    endpoint: str = "http://localhost:4317"
    sampling_ratio: Ratio = 1.0
    sampling: SamplingConfig | None = None
    memory_max_spans: Positive = 10000
    trace_storage: TraceStorage = msgspec.field(default_factory=TraceStorage)
    live_spans: Any = None
    metrics_enabled: bool = True
    metrics_exporter: Literal["memory", "otlp"] = "memory"
    metrics_retention_seconds: Seconds = 3600.0
    metrics_max_count: Positive = 10000
    logs_enabled: bool = True
    logs_exporter: Literal["memory", "otlp", "both"] = "memory"
    logs_max_count: Positive = 1000
    logs_retention_seconds: Seconds = 3600.0
    logs_batch_size: Positive = 100
    logs_flush_interval_ms: Positive = 1000
    logs_sampling_ratio: Ratio = 1.0
    logs_console_output: bool = True
    level: str = "info"
    format: Literal["default", "json"] = "default"
    alerts: list[Any] = msgspec.field(default_factory=list)
    collapse_spans: Any = None
    prometheus: PrometheusConfig = msgspec.field(default_factory=PrometheusConfig)

    @property
    def default_ratio(self) -> float:
        """The trace sampling ratio for new traces (``sampling.default`` wins)."""
        if self.sampling is not None and self.sampling.default is not None:
            return self.sampling.default
        return self.sampling_ratio

    @property
    def exports_otlp(self) -> bool:
        """Whether spans go to the OTLP endpoint."""
        return self.exporter in ("otlp", "both")

    @property
    def stores_spans(self) -> bool:
        """Whether spans are kept in memory (queried by ``engine::traces::*``)."""
        return self.exporter in ("memory", "both")
