"""The span of one routed invocation: the lean record behind :meth:`Tracer.start_call`.

Every routed call opens and ends one, so it holds only what varies per call: the kind is always
``server`` and the service name is the tracer's. It is stored as the same row as a
:class:`~plugins.observability.spans.SpanRecord` (:meth:`CallSpan.freeze`), so queries cannot
tell them apart; span listeners get a ``SpanRecord`` built from that row.
"""

from __future__ import annotations

from time import time_ns
from typing import Any, ClassVar, Protocol

import msgspec

from iii_sdk.observer import Span
from plugins.observability.spans import Row, SpanRecord, error_text

__all__ = ["CallSink", "CallSpan"]


class CallSink(Protocol):
    """What a :class:`CallSpan` reports to: the :class:`~plugins.observability.tracer.Tracer`."""

    service_name: str

    def finish_call(self, span: CallSpan) -> None:
        """Count and keep an ended span."""
        ...


class CallSpan(msgspec.Struct, gc=False, eq=False):
    """One ``call <function_id>`` span, made by :meth:`Tracer.start_call`.

    A Struct because it is built once per routed call: its positional constructor runs in C,
    and ``gc=False`` keeps it out of the garbage collector's lists (it holds only strings,
    numbers, its attributes and the tracer, which never refers back to it). Equality is
    identity, as for any span.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    sampled: bool
    start_ns: int
    end_ns: int
    status: str
    baggage: str | None
    caller: str | None
    function_id: str
    internal: bool
    tracer: CallSink
    attributes: dict[str, Any] | None = None
    status_description: str | None = None

    kind: ClassVar[str] = "server"

    @property
    def service_name(self) -> str:
        """The tracer's service name."""
        return self.tracer.service_name

    @property
    def traceparent(self) -> str:
        """``00-<trace id>-<span id>-<01 if sampled else 00>`` (format_traceparent, inline:
        every remote call sends it)."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

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
        self.tracer.finish_call(self)

    def freeze(self) -> Row:
        """The stored row, laid out as :meth:`SpanRecord.freeze` lays it out."""
        attributes = self.attributes
        return (
            self.trace_id,
            self.span_id,
            self.parent_span_id,
            self.name,
            "server",
            self.tracer.service_name,
            self.sampled,
            self.start_ns,
            self.end_ns,
            self.status,
            self.function_id,
            self.caller,
            self.internal,
            self.baggage,
            None if attributes is None else tuple(attributes.items()),
            self.status_description,
            None,
            None,
            None,
            None,
            None,
        )

    def record(self) -> SpanRecord:
        """This span as a :class:`SpanRecord` (for span listeners)."""
        return SpanRecord.thaw(self.freeze())


def _check_span(span: CallSpan) -> Span:
    return span  # CallSpan satisfies iii_sdk.observer.Span (checked by mypy)
