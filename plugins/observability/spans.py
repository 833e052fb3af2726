"""Spans: the record kept for every span (the engine's own and those ingested from SDKs).

:class:`SpanRecord` is what :meth:`~plugins.observability.tracer.Tracer.start_span` opens (the
HTTP request span, trigger firings) and what ingested and stored spans come back as. iii-http
opens one per request, so it is a msgspec Struct: its constructor, start time included, runs
in C. The span's own ``traceparent`` is formatted only when asked for, and its stored form
(:meth:`SpanRecord.to_dict`) is built only when queried.
"""

from __future__ import annotations

from collections.abc import Callable
from random import randbytes
from time import time_ns
from typing import Any

import msgspec

from iii_sdk.observer import Span

__all__ = ["Row", "SpanRecord", "error_text", "format_traceparent", "new_span_id", "new_trace_id"]

Row = tuple[Any, ...]
"""A stored span (:meth:`SpanRecord.freeze`)."""


def new_trace_id() -> str:
    """A random 128-bit trace id, lowercase hex (never all zeros)."""
    value = randbytes(16).hex()
    return value if value != _ZERO_TRACE else new_trace_id()


def new_span_id() -> str:
    """A random 64-bit span id, lowercase hex (never all zeros)."""
    value = randbytes(8).hex()
    return value if value != _ZERO_SPAN else new_span_id()


def format_traceparent(trace_id: str, span_id: str, sampled: bool) -> str:
    """A span's W3C header: ``00-<trace id>-<span id>-<01 if sampled else 00>``."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def error_text(error_code: str, error_message: str | None) -> str:
    """An ended span's status description: ``code: message`` (the code alone without one)."""
    return error_code if not error_message else f"{error_code}: {error_message}"


_ZERO_TRACE = "0" * 32
_NO_EXTRA = (None, None, None, None, None, None)
_ZERO_SPAN = "0" * 16


class SpanRecord(msgspec.Struct, gc=False, eq=False):
    """One span: open while ``end_ns == 0``; the stored shape is :meth:`to_dict` (StoredSpan).

    Built positionally as ``SpanRecord(trace_id, span_id, parent_span_id, name, kind,
    service_name, sampled, sink)``; the start time is taken then. ``gc=False``: a span holds
    strings, numbers, its attributes and its sink (the tracer), which never refers back to
    it. Equality is identity, as for any span.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service_name: str
    sampled: bool
    _sink: Callable[[SpanRecord], None] | None
    function_id: str | None = None
    caller: str | None = None
    baggage: str | None = None
    internal: bool = False
    start_ns: int = msgspec.field(default_factory=time_ns)
    end_ns: int = 0
    status: str = "unset"
    attributes: dict[str, Any] | None = None
    status_description: str | None = None
    events: list[dict[str, Any]] | None = None
    links: list[dict[str, Any]] | None = None
    scope_name: str | None = None
    scope_version: str | None = None
    trace_state: str | None = None

    # --- iii_sdk.observer.Span -------------------------------------------------------------------

    @property
    def traceparent(self) -> str:
        """``00-<trace id>-<span id>-<01 if sampled else 00>``."""
        return format_traceparent(self.trace_id, self.span_id, self.sampled)

    def set_attribute(self, key: str, value: Any) -> None:
        """Attach one attribute."""
        attributes = self.attributes
        if attributes is None:
            self.attributes = {key: value}
        else:
            attributes[key] = value

    def end(self, error_code: str | None = None, error_message: str | None = None) -> None:
        """Finish the span (idempotent) and hand it to the tracer."""
        if self.end_ns:
            return
        self.end_ns = time_ns()
        if error_code is None:
            self.status = "ok"
        else:
            self.status = "error"
            self.status_description = error_text(error_code, error_message)
        sink = self._sink
        if sink is not None:
            self._sink = None
            sink(self)

    # --- storage ---------------------------------------------------------------------------------

    def freeze(self) -> Row:
        """The span as a tuple for the store.

        Thousands of long-lived span objects would make every full garbage collection scan
        them; a tuple of strings and numbers is untracked by the collector, so a full store
        costs the collector nothing (attributes become a tuple of pairs too; only ingested
        spans with list values, events or links stay tracked).
        """
        return (
            self.trace_id,
            self.span_id,
            self.parent_span_id,
            self.name,
            self.kind,
            self.service_name,
            self.sampled,
            self.start_ns,
            self.end_ns,
            self.status,
            self.function_id,
            self.caller,
            self.internal,
            self.baggage,
            None if self.attributes is None else tuple(self.attributes.items()),
            self.status_description,  # the rare fields: class defaults unless set
            self.events,
            self.links,
            self.scope_name,
            self.scope_version,
            self.trace_state,
        )

    @classmethod
    def thaw(cls, row: Row) -> SpanRecord:
        """A span back from :meth:`freeze` (for queries)."""
        span = cls(row[0], row[1], row[2], row[3], row[4], row[5], row[6], None)
        span.start_ns, span.end_ns, span.status = row[7], row[8], row[9]
        span.function_id, span.caller, span.internal = row[10], row[11], row[12]
        span.baggage = row[13]
        if row[14] is not None:
            span.attributes = dict(row[14])
        if row[15:] != _NO_EXTRA:
            span.status_description, span.events, span.links = row[15], row[16], row[17]
            span.scope_name, span.scope_version, span.trace_state = row[18], row[19], row[20]
        return span

    # --- queries ---------------------------------------------------------------------------------

    @property
    def duration_ms(self) -> float:
        """Duration in milliseconds (up to now while open)."""
        end = self.end_ns or time_ns()
        return (end - self.start_ns) / 1e6

    def attribute_pairs(self) -> list[list[Any]]:
        """Attributes as upstream's ``[[key, value], ...]``, the function id included."""
        pairs: list[list[Any]] = []
        if self.function_id is not None:
            pairs.append(["iii.function.id", self.function_id])
        if self.caller is not None:
            pairs.append(["iii.caller.worker_id", self.caller])
        if self.attributes:
            pairs.extend([key, value] for key, value in self.attributes.items())
        return pairs

    def attribute(self, key: str) -> Any:
        """One attribute's value (also ``name``, ``service_name``, ``status``); else ``None``."""
        if key == "iii.function.id" and self.function_id is not None:
            return self.function_id
        if key == "iii.caller.worker_id" and self.caller is not None:
            return self.caller
        if self.attributes and key in self.attributes:
            return self.attributes[key]
        if key in ("name", "service_name", "status", "kind"):
            value: Any = getattr(self, key)
            return value
        return None

    def to_dict(self) -> dict[str, Any]:
        """The StoredSpan shape of workers.md §8.2."""
        stored: dict[str, Any] = {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "start_time_unix_nano": self.start_ns,
            "end_time_unix_nano": self.end_ns,
            "status": self.status,
            "attributes": self.attribute_pairs(),
            "service_name": self.service_name,
            "events": self.events or [],
            "links": self.links or [],
            "kind": self.kind,
        }
        if self.status_description is not None:
            stored["status_description"] = self.status_description
        if self.scope_name is not None:
            stored["instrumentation_scope_name"] = self.scope_name
        if self.scope_version is not None:
            stored["instrumentation_scope_version"] = self.scope_version
        if self.trace_state:
            stored["trace_state"] = self.trace_state
        stored["flags"] = 1 if self.sampled else 0
        if not self.end_ns:
            stored["pending"] = True
        return stored


def _check_span(span: SpanRecord) -> Span:
    return span  # SpanRecord satisfies iii_sdk.observer.Span (checked by mypy)
