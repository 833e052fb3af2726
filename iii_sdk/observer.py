"""The observer seam: how the engine and built-in workers report spans to an observability worker.

The engine never imports a tracing library. It holds at most one :class:`Observer` (provided by
the ``iii-observability`` built-in, or by a third-party plugin implementing the same protocol)
and calls it at the few places where work happens:

- the router, for every invocation it routes (``call <function_id>``, kind ``server``);
- a trigger type provider, around each firing (``trigger <function_id>``, via :func:`trigger_span`);
- iii-http, for each request (``<METHOD> <route>``);
- the socket reader, for every ``OTLP`` / ``MTRC`` / ``LOGS`` telemetry frame
  (:meth:`Observer.on_telemetry`);
- the worker table, when a worker connects or disconnects (:meth:`Observer.on_worker`).

How a built-in provides it: a :class:`~iii_sdk.plugin.BuiltinWorker` may set its optional
``observer`` member (an :class:`Observer`; the protocol's default is ``None``) by the time
``start`` returns; the engine installs it and
removes it when that worker stops. Components reach the installed one through
``WorkerContext.observer`` (``None`` when tracing is off or no observer runs: one attribute check,
nothing else, is what tracing costs when it is off).

Trace context inside a process travels in :data:`CURRENT` (a :class:`contextvars.ContextVar`):
a component that opens a span makes it current while it invokes functions, and the router makes
the ``call`` span of an in-process function current while its handler runs, so nested calls
become children. Across processes it travels as W3C ``traceparent`` / ``baggage`` fields of the
``invokefunction`` frame (protocol §1.5): the router continues the caller's context and passes
its own span's ``traceparent`` on to the executor.

Example, a trigger provider firing a binding::

    with trigger_span(ctx.observer, "webhook", trigger.function_id):
        await ctx.invoke(trigger.function_id, payload, metadata=trigger.metadata)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CURRENT",
    "Observer",
    "Span",
    "parse_traceparent",
    "trigger_span",
]


class Span(Protocol):
    """One unit of traced work, started by :meth:`Observer.start_span`.

    ``traceparent`` names this span (W3C ``00-<trace id>-<span id>-<flags>``): send it to the
    callee so its spans become children. ``end`` is idempotent; the first call wins.
    """

    trace_id: str
    span_id: str
    baggage: str | None

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header value naming this span."""
        ...

    def set_attribute(self, key: str, value: Any) -> None:
        """Attach an attribute (str, int, float or bool)."""
        ...

    def end(self, error_code: str | None = None, error_message: str | None = None) -> None:
        """Finish the span; with ``error_code`` its status is ``error``."""
        ...


@runtime_checkable
class Observer(Protocol):
    """What an observability worker implements for the engine (see the module docstring)."""

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
    ) -> Span:
        """Open a span.

        The parent is ``parent`` if given, else the span named by ``traceparent`` (a remote
        caller), else none (a new trace). ``kind`` is an OTel span kind in lower case
        (``server``, ``client``, ``internal``, ``producer``, ``consumer``). ``internal`` marks
        the engine's own bookkeeping calls (hidden from listings unless asked for).
        """
        ...

    def start_call(
        self,
        function_id: str,
        traceparent: str | None,
        baggage: str | None,
        caller: str | None,
        parent: Span | None = None,
    ) -> Span:
        """The router's span for one routed invocation (``call <function_id>``, kind server).

        The parent is ``parent`` if given (an in-process caller's span: no header to format
        and parse again), else the span ``traceparent`` names. ``caller`` is the calling
        worker's id (``None`` for in-process callers). Called for every invocation, so
        implementations keep it cheap.
        """
        ...

    def on_telemetry(self, frame: bytes) -> None:
        """A binary ``OTLP`` / ``MTRC`` / ``LOGS`` frame (OTLP-JSON after the 4-byte prefix)."""
        ...

    def on_worker(self, connected: bool) -> None:
        """A worker connected (``True``) or disconnected (``False``)."""
        ...


CURRENT: ContextVar[Span | None] = ContextVar("iii_current_span", default=None)
"""The span in-process work runs under; invocations made meanwhile become its children."""


def parse_traceparent(value: str | None) -> tuple[str, str, bool] | None:
    """``(trace_id, span_id, sampled)`` from a W3C ``traceparent``; ``None`` if malformed.

    >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', True)
    """
    if not value or len(value) < 55:
        return None
    parts = value.strip().split("-")
    if len(parts) < 4:
        return None
    version, trace_id, span_id, flags = parts[0], parts[1], parts[2], parts[3]
    if len(version) != 2 or version == "ff" or len(trace_id) != 32 or len(span_id) != 16:
        return None
    if len(flags) != 2:
        return None
    try:
        if int(trace_id, 16) == 0 or int(span_id, 16) == 0:
            return None
        sampled = bool(int(flags, 16) & 1)
    except ValueError:
        return None
    return trace_id.lower(), span_id.lower(), sampled


@contextmanager
def trigger_span(
    observer: Observer | None,
    trigger_type: str,
    function_id: str,
    *,
    parent: Span | None = None,
    root: bool = False,
) -> Iterator[Span | None]:
    """Trace one trigger firing: a ``trigger <function_id>`` span made current meanwhile.

    ``observer`` is the context's :attr:`~iii_sdk.plugin.TriggerContext.observer`; ``parent``
    is the span that caused the firing when it is not :data:`CURRENT` any more (events delivered
    from a queue). ``root`` starts a new trace whatever is current (work whose cause is not
    in this task's context: a stored job, a timer). Yields ``None`` and does nothing when no
    observer runs.
    """
    if observer is None:
        yield None
        return
    span = observer.start_span(
        f"trigger {function_id}",
        kind="producer",
        parent=None if root else parent if parent is not None else CURRENT.get(),
        attributes={"iii.trigger.type": trigger_type, "iii.function.id": function_id},
    )
    token = CURRENT.set(span)
    try:
        yield span
    except BaseException as exc:
        span.end("trigger_failed", str(exc) or type(exc).__name__)
        raise
    finally:
        CURRENT.reset(token)
        span.end()
