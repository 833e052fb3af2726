"""iii-observability: traces, logs and metrics of the engine and its workers (workers.md §8).

The engine reports every routed invocation, HTTP request and trigger firing to this worker's
:class:`~plugins.observability.tracer.Tracer` through the seam in :mod:`iii_sdk.observer`;
telemetry frames from the SDKs land in the same stores. Functions ``engine::traces::*``,
``engine::logs::*``, ``engine::log::*``, ``engine::metrics::list``, ``engine::health::check``,
``engine::sampling::rules``; trigger types ``log`` and ``trace``; OTLP export and an opt-in
Prometheus endpoint. See docs/observability.md.
"""

from plugins.observability.config import ObservabilityConfig
from plugins.observability.worker import ObservabilityWorker

__all__ = ["ObservabilityConfig", "ObservabilityWorker"]
