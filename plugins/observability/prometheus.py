"""The opt-in Prometheus endpoint (``prometheus: {enabled: true}``, port 9464, path ``/metrics``).

Built on ``prometheus-client`` (extra ``prometheus``): a custom collector reads the counters the
tracer keeps (:class:`~plugins.observability.stats.EngineStats`) at scrape time, so serving
metrics adds nothing per invocation. Served by aiohttp on the engine's loop, like every other
listener, so it starts and stops with the worker.

Series: ``iii_invocations_total`` / ``iii_invocation_errors_total`` (label ``function_id``),
``iii_invocation_duration_seconds`` (histogram, ``function_id``), ``iii_workers_connected``,
``iii_worker_connections_total``, ``iii_invocations_in_flight``, ``iii_http_requests_total``
(``method``, ``status``); with iii-queue running, ``iii_queue_depth`` (waiting + in flight) and
``iii_queue_dead_lettered`` (labels ``queue``, ``kind``), read from ``engine::queue::list_queues``
once per scrape.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from plugins.observability.config import PrometheusConfig
from plugins.observability.stats import BUCKETS, EngineStats

__all__ = ["PrometheusEndpoint", "QueueRows", "StatsCollector"]

log = logging.getLogger("iii.observability")

QueueRows = Callable[[], Awaitable[list[dict[str, Any]]]]
"""Rows of ``engine::queue::list_queues`` (``name``, ``kind``, ``waiting``, ``in_flight``,
``dead_lettered``); ``[]`` when no queue worker runs."""


class StatsCollector:
    """A ``prometheus_client`` collector over :class:`EngineStats`."""

    def __init__(self, stats: EngineStats) -> None:
        self.stats = stats
        self.queue_rows: list[dict[str, Any]] = []
        """The queues' counts read for the scrape in progress."""

    def collect(self) -> Iterator[Any]:
        """Yield every metric family (called per scrape)."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        stats = self.stats
        total = CounterMetricFamily(
            "iii_invocations", "Invocations routed by the engine", labels=["function_id"]
        )
        errors = CounterMetricFamily(
            "iii_invocation_errors", "Invocations that failed", labels=["function_id"]
        )
        latency = HistogramMetricFamily(
            "iii_invocation_duration_seconds",
            "Invocation latency seen by the engine",
            labels=["function_id"],
        )
        for function_id, fn in sorted(stats.functions.items()):
            total.add_metric([function_id], fn.total)
            errors.add_metric([function_id], fn.errors)
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), fn.buckets, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric([function_id], buckets, fn.sum_s)
        yield total
        yield errors
        yield latency
        yield GaugeMetricFamily(
            "iii_workers_connected", "Workers connected now", value=stats.workers_active
        )
        yield CounterMetricFamily(
            "iii_worker_connections", "Worker connections accepted", value=stats.worker_spawns
        )
        yield GaugeMetricFamily(
            "iii_invocations_in_flight", "Invocations waiting for a result", value=stats.in_flight
        )
        http = CounterMetricFamily(
            "iii_http_requests", "HTTP requests served by iii-http", labels=["method", "status"]
        )
        for (method, status), count in sorted(stats.http_requests.items()):
            http.add_metric([method, str(status)], count)
        yield http
        if self.queue_rows:
            depth = GaugeMetricFamily(
                "iii_queue_depth", "Jobs waiting or running", labels=["queue", "kind"]
            )
            dead = GaugeMetricFamily(
                "iii_queue_dead_lettered", "Dead-lettered jobs", labels=["queue", "kind"]
            )
            for row in self.queue_rows:
                labels = [str(row.get("name", "")), str(row.get("kind", ""))]
                depth.add_metric(labels, int(row.get("waiting", 0)) + int(row.get("in_flight", 0)))
                dead.add_metric(labels, int(row.get("dead_lettered", 0)))
            yield depth
            yield dead


class PrometheusEndpoint:
    """``GET /metrics`` in the Prometheus text format."""

    def __init__(
        self, config: PrometheusConfig, stats: EngineStats, queues: QueueRows | None = None
    ) -> None:
        from prometheus_client import CollectorRegistry

        self.config = config
        self.collector = StatsCollector(stats)
        self._queues = queues
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on the configured host and port (``port`` holds the bound one)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets: list[socket.socket] = list(getattr(site._server, "sockets", ()) or ())
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port

    async def stop(self) -> None:
        """Stop serving."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if self._queues is not None:
            try:
                self.collector.queue_rows = await self._queues()
            except Exception as exc:
                log.debug("queue counts unavailable for /metrics: %s", exc)
                self.collector.queue_rows = []
        body = generate_latest(self.registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
