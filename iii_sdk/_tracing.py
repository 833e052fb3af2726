"""Trace context for this worker's calls and handlers (W3C ``traceparent`` / ``baggage``).

Without OpenTelemetry (or with only ``opentelemetry-api`` and no SDK configured) the worker
still keeps a trace together: the context an invocation arrived with is remembered for the
handler's task and sent with every call the handler makes, so the engine's spans nest.

When an OpenTelemetry ``TracerProvider`` is configured (``opentelemetry-sdk``), handlers run
under an ``execute <function_id>`` span (kind internal, child of the engine's ``call`` span)
and each :meth:`~iii_sdk.Worker.trigger` under an ``invoke <function_id>`` span (kind client),
whose context is what the engine receives. ``opentelemetry`` is imported once, at import time;
when it is missing every function here is a few attribute reads.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

__all__ = [
    "INBOUND",
    "call_context",
    "current_ids",
    "inbound",
    "outgoing",
    "run_handler",
    "tracing",
]

T = TypeVar("T")

INBOUND: ContextVar[tuple[str, str | None] | None] = ContextVar("iii_inbound_trace", default=None)
"""``(traceparent, baggage)`` of the invocation the current handler task serves."""

try:
    from opentelemetry import context as _context
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - exercised in environments without opentelemetry
    _trace = None  # type: ignore[assignment]


_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
"""Whether opentelemetry may load a provider named by the environment (checked at import)."""


def _active() -> bool:
    """Whether a real TracerProvider is configured (the API alone records nothing).

    Asked on every call: while no provider is set and the environment names none, the answer
    comes from opentelemetry's global without ``get_tracer_provider`` reading ``os.environ``.
    """
    if _trace is None:
        return False
    provider = getattr(_trace, "_TRACER_PROVIDER", _trace)  # the module: attribute unknown
    if provider is None and not _PROVIDER_FROM_ENV:
        return False
    return not isinstance(
        _trace.get_tracer_provider(), _trace.ProxyTracerProvider | _trace.NoOpTracerProvider
    )


def tracing() -> bool:
    """Whether calls get OpenTelemetry spans (one check per call, then :func:`inbound`).

    :func:`_active` spelled out for the usual answer (no provider set), which every call asks.
    """
    if _trace is None:
        return False
    if getattr(_trace, "_TRACER_PROVIDER", _trace) is None and not _PROVIDER_FROM_ENV:
        return False
    return _active()


def inbound() -> tuple[str | None, str | None]:
    """:func:`outgoing` when :func:`tracing` is off: the context the handler was invoked with."""
    value = INBOUND.get()
    return (None, None) if value is None else value


def outgoing() -> tuple[str | None, str | None]:
    """``(traceparent, baggage)`` to send with a call made now."""
    if _trace is not None and _active():
        carrier: dict[str, str] = {}
        _propagate.inject(carrier)
        traceparent = carrier.get("traceparent")
        if traceparent:
            return traceparent, carrier.get("baggage")
    inbound = INBOUND.get()
    return (None, None) if inbound is None else inbound


def current_ids() -> tuple[str | None, str | None]:
    """``(trace_id, span_id)`` of the work running now (for log records), if any."""
    if _trace is not None and _active():
        context = _trace.get_current_span().get_span_context()
        if context.is_valid:
            return f"{context.trace_id:032x}", f"{context.span_id:016x}"
    inbound = INBOUND.get()
    if inbound is None:
        return None, None
    parts = inbound[0].split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None, None
    return parts[1], parts[2]


@contextmanager
def call_context(function_id: str) -> Iterator[tuple[str | None, str | None]]:
    """Around one outgoing call: yields the ``(traceparent, baggage)`` to send.

    With OpenTelemetry configured the call runs under an ``invoke <function_id>`` client span.
    """
    if _trace is None or not _active():
        yield outgoing()
        return
    tracer = _trace.get_tracer("iii-py-sdk")
    with tracer.start_as_current_span(
        f"invoke {function_id}",
        kind=_trace.SpanKind.CLIENT,
        attributes={"iii.function.id": function_id},
    ):
        yield outgoing()


async def run_handler(
    function_id: str,
    traceparent: str | None,
    baggage: str | None,
    call: Callable[[], Awaitable[T]],
) -> T:
    """Run a handler under the context it was invoked with (see the module docstring)."""
    if traceparent is not None:
        INBOUND.set((traceparent, baggage))  # the handler's own task: no reset needed
    if _trace is None or not _active():
        return await call()
    carrier = {"traceparent": traceparent} if traceparent else {}
    if baggage:
        carrier["baggage"] = baggage
    parent = _propagate.extract(carrier) if carrier else _context.get_current()
    tracer = _trace.get_tracer("iii-py-sdk")
    with tracer.start_as_current_span(
        f"execute {function_id}",
        context=parent,
        kind=_trace.SpanKind.INTERNAL,
        record_exception=False,
        set_status_on_exception=False,
        attributes={"iii.function.id": function_id},
    ) as span:
        try:
            result = await call()
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, str(exc)))
            raise
        span.set_status(_trace.Status(_trace.StatusCode.OK))
        return result
