"""Engine metrics kept from spans: invocations per function, latency, workers, in-flight calls.

Updated once per finished ``call`` span (a dict lookup and a few additions); read by
``engine::metrics::list`` and the Prometheus endpoint. Latency histograms use fixed buckets
(seconds, Prometheus' defaults) so both readers share them; percentiles come from a bounded
window of recent durations.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from typing import Any

__all__ = ["BUCKETS", "EngineStats", "FunctionStats"]

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram upper bounds in seconds (``+Inf`` is implied)."""

RECENT = 10_000
"""Durations kept for percentiles."""


class FunctionStats:
    """Counters of one function."""

    __slots__ = ("buckets", "errors", "sum_s", "total")

    def __init__(self) -> None:
        self.total = 0
        self.errors = 0
        self.sum_s = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)


class EngineStats:
    """Everything ``engine_metrics`` reports, updated by the tracer."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionStats] = {}
        self.recent: deque[float] = deque(maxlen=RECENT)
        self.in_flight = 0
        self.workers_active = 0
        self.worker_spawns = 0
        self.worker_deaths = 0
        self.http_requests: dict[tuple[str, int], int] = {}
        """``(method, status) -> count``."""

    def record(self, function_id: str, seconds: float, error: bool) -> None:
        """Count one finished invocation."""
        stats = self.functions.get(function_id)
        if stats is None:
            stats = self.functions[function_id] = FunctionStats()
        stats.total += 1
        if error:
            stats.errors += 1
        stats.sum_s += seconds
        stats.buckets[bisect_left(BUCKETS, seconds)] += 1
        self.recent.append(seconds)

    def on_worker(self, connected: bool) -> None:
        """Count a worker connecting or leaving."""
        if connected:
            self.workers_active += 1
            self.worker_spawns += 1
        else:
            self.workers_active = max(0, self.workers_active - 1)
            self.worker_deaths += 1

    def count_http(self, method: str, status: int) -> None:
        """Count one HTTP request served by iii-http."""
        key = (method, status)
        self.http_requests[key] = self.http_requests.get(key, 0) + 1

    def engine_metrics(self) -> dict[str, Any]:
        """The ``engine_metrics`` object of ``engine::metrics::list``."""
        total = sum(s.total for s in self.functions.values())
        errors = sum(s.errors for s in self.functions.values())
        by_function = {
            function_id: {
                "total": s.total,
                "success": s.total - s.errors,
                "error": s.errors,
                "avg_duration_ms": (s.sum_s / s.total * 1000) if s.total else 0.0,
            }
            for function_id, s in sorted(self.functions.items())
        }
        return {
            "invocations": {
                "total": total,
                "success": total - errors,
                "error": errors,
                "deferred": 0,
                "in_flight": self.in_flight,
                "by_function": by_function,
            },
            "workers": {
                "spawns": self.worker_spawns,
                "deaths": self.worker_deaths,
                "active": self.workers_active,
            },
            "performance": self.performance(),
        }

    def performance(self) -> dict[str, float]:
        """Latency summary of the recent invocations, in milliseconds."""
        values = sorted(self.recent)
        if not values:
            zero = 0.0
            return {
                "avg_duration_ms": zero,
                "p50_duration_ms": zero,
                "p95_duration_ms": zero,
                "p99_duration_ms": zero,
                "min_duration_ms": zero,
                "max_duration_ms": zero,
            }

        def pct(q: float) -> float:
            return values[min(len(values) - 1, int(q * len(values)))] * 1000

        return {
            "avg_duration_ms": sum(values) / len(values) * 1000,
            "p50_duration_ms": pct(0.50),
            "p95_duration_ms": pct(0.95),
            "p99_duration_ms": pct(0.99),
            "min_duration_ms": values[0] * 1000,
            "max_duration_ms": values[-1] * 1000,
        }
