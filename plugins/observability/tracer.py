"""The :class:`Tracer`: this worker's :class:`iii_sdk.observer.Observer`.

The engine hands it every routed invocation (:meth:`Tracer.start_call`), every span a component
opens (:meth:`Tracer.start_span`), every telemetry frame and every worker (dis)connection. A
finished span updates the metrics, is stored when sampled, and is passed to the listeners (the
OTLP exporter, the ``trace`` trigger type).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from random import getrandbits
from time import time_ns
from typing import Any

from iii_sdk.observer import Observer, Span, parse_traceparent
from plugins.observability.calls import CallSpan
from plugins.observability.config import ObservabilityConfig
from plugins.observability.sampling import Sampler
from plugins.observability.spans import SpanRecord, new_span_id, new_trace_id
from plugins.observability.stats import BUCKETS, EngineStats, FunctionStats
from plugins.observability.store import SpanStore

__all__ = ["Tracer"]

_ZERO_SPAN = "0" * 16
_ZERO_TRACE = "0" * 32
_MAX_CALLS = 4096
"""Function ids whose span name is cached."""
_ID_BATCH = 64
"""``(trace id, span id)`` pairs drawn from the generator at once."""
_LAST_PAIR = 48 * (_ID_BATCH - 1)
"""The last offset in the digits where a whole pair (48 hex digits) still fits."""

SpanListener = Callable[[SpanRecord], None]


class Tracer:
    """Creates and finishes the engine's spans; see the module docstring."""

    def __init__(
        self,
        config: ObservabilityConfig,
        store: SpanStore | None,
        stats: EngineStats,
        on_telemetry: Callable[[bytes], None] | None = None,
    ) -> None:
        self.service_name = config.service_name
        self.sampler = Sampler(config)
        self.store = store
        self.stats = stats if config.metrics_enabled else None
        self.listeners: list[SpanListener] = []
        self._always = self.sampler.always
        self._parent_based = self.sampler.parent_based
        self._on_telemetry = on_telemetry
        self._engine_stats = stats
        self._calls: dict[str, tuple[str, bool]] = {}
        """Per function id: its ``call`` span name and whether it is an engine-internal call."""
        self._digits = ""
        """Random hex digits not used yet: ids are sliced from it (see :meth:`_refill`)."""
        self._next = _LAST_PAIR + 1
        """Where the unused digits of ``_digits`` start (past the end: draw new ones first)."""

    # --- Observer --------------------------------------------------------------------------------

    def start_call(
        self,
        function_id: str,
        traceparent: str | None,
        baggage: str | None,
        caller: str | None,
        parent: Span | None = None,
    ) -> CallSpan:
        """The ``call <function_id>`` span of one routed invocation (the hot path)."""
        call = self._calls.get(function_id)
        if call is None:
            if len(self._calls) >= _MAX_CALLS:  # ids of unknown functions must not pile up
                self._calls.clear()
            call = self._calls[function_id] = (
                "call " + function_id,
                function_id.startswith("engine::"),
            )
        name = call[0]
        digits, at = self._digits, self._next
        if at > _LAST_PAIR:
            digits, at = self._refill(), 0
        found: tuple[str, str, bool] | None
        if parent is not None:
            found = parent.trace_id, parent.span_id, getattr(parent, "sampled", True)
        else:
            found = None if traceparent is None else parse_traceparent(traceparent)
        if found is not None:
            trace_id, parent_id, sampled = found
            self._next = at + 16
            span_id = digits[at : at + 16]
            if span_id == _ZERO_SPAN:
                span_id = new_span_id()
            if not self._parent_based:
                sampled = self.sampler.sample_root(name, function_id, self.service_name)
        else:
            self._next = at + 48
            trace_id, span_id = digits[at : at + 32], digits[at + 32 : at + 48]
            if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
                trace_id, span_id = new_trace_id(), new_span_id()
            parent_id = None
            sampled = self._always or self.sampler.sample_root(name, function_id, self.service_name)
        self._engine_stats.in_flight += 1
        return CallSpan(
            trace_id,
            span_id,
            parent_id,
            name,
            sampled,
            time_ns(),
            0,
            "unset",
            baggage,
            caller,
            function_id,
            call[1],
            self,
        )

    def _refill(self) -> str:
        """Draw the digits of :data:`_ID_BATCH` id pairs with one generator call.

        Ids are slices of it taken in order (an all-zero one, which W3C forbids, is replaced),
        so a call pays for two slices instead of a generator call and a hex conversion.
        """
        self._digits = getrandbits(192 * _ID_BATCH).to_bytes(24 * _ID_BATCH, "little").hex()
        return self._digits

    def start_span(
        self,
        name: str,
        *,
        kind: str = "internal",
        traceparent: str | None = None,
        baggage: str | None = None,
        parent: Span | None = None,
        attributes: dict[str, Any] | None = None,
        internal: bool = False,
    ) -> SpanRecord:
        """Any other span (HTTP requests, trigger firings)."""
        trace_id: str
        parent_id: str | None
        if parent is not None:
            trace_id, parent_id = parent.trace_id, parent.span_id
            sampled = bool(getattr(parent, "sampled", True))
            if baggage is None:
                baggage = parent.baggage
            internal = internal or bool(getattr(parent, "internal", False))
        else:
            found = None if traceparent is None else parse_traceparent(traceparent)
            if found is not None:
                trace_id, parent_id, sampled = found
            else:
                trace_id, parent_id = "", None
                sampled = self._always or self.sampler.sample_root(name, None, self.service_name)
        if parent_id is not None and not self._parent_based:
            sampled = self.sampler.sample_root(name, None, self.service_name)
        digits, at = self._digits, self._next
        if at > _LAST_PAIR:
            digits, at = self._refill(), 0
        if trace_id:
            self._next = at + 16
            span_id = digits[at : at + 16]
        else:
            self._next = at + 48
            trace_id, span_id = digits[at : at + 32], digits[at + 32 : at + 48]
            if trace_id == _ZERO_TRACE:
                trace_id = new_trace_id()
        if span_id == _ZERO_SPAN:
            span_id = new_span_id()
        return SpanRecord(
            trace_id,
            span_id,
            parent_id,
            name,
            kind,
            self.service_name,
            sampled,
            self._finish,
            baggage=baggage,
            internal=internal,
            attributes=dict(attributes) if attributes else None,
        )

    def on_telemetry(self, frame: bytes) -> None:
        """A telemetry frame from an SDK."""
        if self._on_telemetry is not None:
            self._on_telemetry(frame)

    def on_worker(self, connected: bool) -> None:
        """A worker came or went."""
        self._engine_stats.on_worker(connected)

    # --- finishing -------------------------------------------------------------------------------

    def finish_call(self, span: CallSpan) -> None:
        """Count and keep an ended ``call`` span (runs once per routed call: EngineStats.record
        is inlined here)."""
        engine_stats = self._engine_stats
        engine_stats.in_flight -= 1
        if self.stats is not None:
            seconds = (span.end_ns - span.start_ns) / 1e9
            function_id = span.function_id
            stats = engine_stats.functions.get(function_id)
            if stats is None:
                stats = engine_stats.functions[function_id] = FunctionStats()
            stats.total += 1
            if span.status == "error":
                stats.errors += 1
            stats.sum_s += seconds
            stats.buckets[bisect_left(BUCKETS, seconds)] += 1
            engine_stats.recent.append(seconds)
        if span.sampled:
            store = self.store
            if store is not None:
                store.add(span)
            if self.listeners:
                record = span.record()
                for listener in self.listeners:
                    listener(record)

    def _finish(self, span: SpanRecord) -> None:
        attributes = span.attributes
        if attributes is not None and "http.response.status_code" in attributes:
            # EngineStats.count_http, inline: iii-http ends one such span per request.
            method = str(attributes.get("http.request.method"))
            key = (method, attributes["http.response.status_code"])
            counts = self._engine_stats.http_requests
            counts[key] = counts.get(key, 0) + 1
        if span.sampled:
            store = self.store
            if store is not None:
                store.add(span)
            for listener in self.listeners:
                listener(span)

    def keep(self, span: SpanRecord) -> None:
        """Store a finished sampled span (the engine's or an ingested one) and announce it."""
        store = self.store
        if store is not None:
            store.add(span)
        for listener in self.listeners:
            listener(span)


def _check(tracer: Tracer) -> Observer:
    return tracer  # Tracer satisfies iii_sdk.observer.Observer (checked by mypy)
