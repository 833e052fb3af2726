"""The ``trace`` trigger type (workers.md §8.3): a coalesced "traces changed" tick.

A binding's config ``{service_name?, status?}`` (case-insensitive, ANDed) selects spans; trace
ids of matching spans stored during a window (:data:`WINDOW_S`, ~300 ms) are delivered together
as ``{"trace_ids": [...]}``. The engine's internal spans never count, and the delivery runs
under an unsampled span, so the calls it makes (and the spans of the handler's SDK, which follow
their parent's decision) never fire the trigger again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec

from iii_sdk.observer import CURRENT
from iii_sdk.plugin import Trigger, TriggerContext, TriggerType, decode_config
from plugins.observability.spans import SpanRecord, new_span_id, new_trace_id

__all__ = ["WINDOW_S", "TraceTriggerType"]

WINDOW_S = 0.3
"""How long trace ids are gathered before one delivery."""


class TraceFilter(msgspec.Struct, forbid_unknown_fields=True):
    """A ``trace`` binding's config."""

    service_name: str | None = None
    status: str | None = None


class _Binding:
    __slots__ = ("pending", "service_name", "status", "trigger")

    def __init__(self, trigger: Trigger, config: TraceFilter) -> None:
        self.trigger = trigger
        self.service_name = None if config.service_name is None else config.service_name.lower()
        self.status = None if config.status is None else config.status.lower()
        self.pending: dict[str, None] = {}


class TraceTriggerType(TriggerType):
    """``trace``: see the module docstring."""

    id = "trace"
    description = "Fires with the ids of traces that changed (coalesced, ~300 ms)"
    trigger_request_format = {
        "type": "object",
        "properties": {
            "service_name": {"type": "string"},
            "status": {"enum": ["ok", "error", "unset"]},
        },
    }
    call_request_format = {
        "type": "object",
        "properties": {"trace_ids": {"type": "array", "items": {"type": "string"}}},
    }

    def __init__(
        self,
        ctx: TriggerContext,
        listeners: list[Callable[[SpanRecord], None]],
        window_s: float = WINDOW_S,
    ) -> None:
        self._ctx = ctx
        self._listeners = listeners
        """The tracer's span listeners: ours is in it only while bindings exist."""
        self._window_s = window_s
        self.bindings: dict[str, _Binding] = {}
        self._flush: asyncio.TimerHandle | None = None

    async def register_trigger(self, trigger: Trigger) -> None:
        """Accept a binding (an unknown status is rejected)."""
        config = decode_config(trigger.config, TraceFilter)
        if config.status is not None and config.status.lower() not in ("ok", "error", "unset"):
            raise ValueError(f"unknown status {config.status!r} (ok, error, unset)")
        self.bindings[trigger.id] = _Binding(trigger, config)
        if self.on_span not in self._listeners:
            self._listeners.append(self.on_span)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Drop a binding."""
        self.bindings.pop(trigger.id, None)
        if not self.bindings and self.on_span in self._listeners:
            self._listeners.remove(self.on_span)

    def on_span(self, span: SpanRecord) -> None:
        """A span was stored (the tracer's listener)."""
        if not self.bindings or span.internal:
            return
        service = span.service_name.lower()
        matched = False
        for binding in self.bindings.values():
            if binding.service_name is not None and binding.service_name != service:
                continue
            if binding.status is not None and binding.status != span.status:
                continue
            binding.pending[span.trace_id] = None
            matched = True
        if matched and self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(self._window_s, self.flush)

    def flush(self) -> None:
        """Deliver what was gathered (called by the window timer)."""
        self._flush = None
        quiet = SpanRecord(new_trace_id(), new_span_id(), None, "", "internal", "", False, None)
        quiet.internal = True
        token = CURRENT.set(quiet)
        try:
            for binding in list(self.bindings.values()):
                if not binding.pending:
                    continue
                trace_ids = list(binding.pending)
                binding.pending.clear()
                trigger = binding.trigger
                self._ctx.invoke_void(
                    trigger.function_id,
                    {"trace_ids": trace_ids},
                    metadata=trigger.metadata,
                    namespace=trigger.namespace,
                )
        finally:
            CURRENT.reset(token)

    def close(self) -> None:
        """Stop the pending delivery."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def describe(self) -> dict[str, Any]:
        """Bindings count, for health details."""
        return {"bindings": len(self.bindings)}
