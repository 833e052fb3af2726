"""The ``stream``, ``stream:join`` and ``stream:leave`` trigger types (workers.md §4.5, §4.6).

``stream`` bindings get the event wrapper of every change in their stream (filtered by group and
item when set; an empty string is a wildcard). Events are queued at write time with the bindings
that matched then; one background task delivers them in write order, each event to all of its
bindings at once, so a write never waits for its handlers.

``stream:join`` / ``stream:leave`` bindings run when a WebSocket subscriber joins or leaves.
Unlike upstream they honour their config (decisions §2.4): ``stream_name``, ``group_id`` and
``item_id`` filter, ``condition_function_id`` gates. A join is refused when any join handler
answers ``{"unauthorized": true}`` or fails (fail closed).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from iii_sdk.observer import Span, trigger_span
from iii_sdk.plugin import Trigger, TriggerContext, TriggerType, check_condition, decode_config
from plugins._shared.delivery import OrderedDelivery

__all__ = ["MembershipTriggerType", "StreamTriggerConfig", "StreamTriggerType"]


class StreamTriggerConfig(msgspec.Struct):
    """A ``stream`` binding: ``stream_name`` required, the rest optional filters."""

    stream_name: str
    group_id: str | None = None
    item_id: str | None = None
    condition_function_id: str | None = None


class MembershipTriggerConfig(msgspec.Struct):
    """A ``stream:join`` / ``stream:leave`` binding: every filter optional."""

    stream_name: str | None = None
    group_id: str | None = None
    item_id: str | None = None
    condition_function_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Binding:
    trigger: Trigger
    group_id: str | None
    item_id: str | None
    condition_function_id: str | None
    order: int

    def matches(self, group: str, item: str | None) -> bool:
        return (not self.group_id or self.group_id == group) and (
            not self.item_id or self.item_id == item
        )


_STRING: Final = {"type": "string"}
_STREAM_CONFIG_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "stream_name": {"type": "string", "description": "The stream to watch"},
        "group_id": {"type": "string", "description": "Only this group (default: all)"},
        "item_id": {"type": "string", "description": "Only this item (default: all)"},
        "condition_function_id": {"type": "string", "description": "false skips the handler"},
    },
    "required": ["stream_name"],
}
_WRAPPER_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "type": {"const": "stream"},
        "timestamp": {"type": "integer"},
        "streamName": _STRING,
        "groupId": _STRING,
        "id": {"type": ["string", "null"]},
        "event": {"type": "object"},
    },
    "required": ["type", "timestamp", "streamName", "groupId", "id", "event"],
}
_MEMBERSHIP_CONFIG_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "stream_name": _STRING,
        "group_id": _STRING,
        "item_id": _STRING,
        "condition_function_id": _STRING,
    },
}
_MEMBERSHIP_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "subscription_id": _STRING,
        "stream_name": _STRING,
        "group_id": _STRING,
        "id": {"type": ["string", "null"]},
        "context": {},
    },
}


async def _fire(
    ctx: TriggerContext,
    binding: _Binding,
    payload: dict[str, Any],
    queued: bool = False,
    cause: Span | None = None,
) -> Any:
    """Run one binding; raise what the condition or the handler raises. None if skipped.

    Under a ``trigger <function_id>`` span while an observer runs: a child of ``cause`` for a
    ``queued`` event (the span current when it was emitted; none: a new trace), else of the
    current span."""
    observer = ctx.observer
    if observer is None:
        return await _fire_untraced(ctx, binding, payload)
    trigger = binding.trigger
    root = queued and cause is None
    with trigger_span(observer, trigger.trigger_type, trigger.function_id, parent=cause, root=root):
        return await _fire_untraced(ctx, binding, payload)


async def _fire_untraced(ctx: TriggerContext, binding: _Binding, payload: dict[str, Any]) -> Any:
    trigger = binding.trigger
    if not await check_condition(ctx, binding.condition_function_id, payload, trigger.namespace):
        return None
    return await ctx.invoke(
        trigger.function_id, payload, metadata=trigger.metadata, namespace=trigger.namespace
    )


class StreamTriggerType(TriggerType):
    """Provider of the ``stream`` trigger type."""

    id = "stream"
    description = "Fires on stream changes (create, update, delete, custom events)"
    trigger_request_format = _STREAM_CONFIG_SCHEMA
    call_request_format = _WRAPPER_SCHEMA

    def __init__(self, ctx: TriggerContext) -> None:
        self._ctx = ctx
        self._by_stream: dict[str, dict[str, _Binding]] = {}
        self._stream_of: dict[str, str] = {}
        self._order = itertools.count()
        self._delivery = OrderedDelivery(self._run)

    async def register_trigger(self, trigger: Trigger) -> None:
        """Index a binding; a missing ``stream_name`` is rejected (upstream crashes)."""
        config = decode_config(trigger.config, StreamTriggerConfig)
        self._drop(trigger.id)
        binding = _Binding(
            trigger,
            config.group_id,
            config.item_id,
            config.condition_function_id,
            next(self._order),
        )
        self._by_stream.setdefault(config.stream_name, {})[trigger.id] = binding
        self._stream_of[trigger.id] = config.stream_name

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Forget a binding (events already queued for it are still delivered)."""
        self._drop(trigger.id)

    def _drop(self, trigger_id: str) -> None:
        stream = self._stream_of.pop(trigger_id, None)
        if stream is not None:
            bucket = self._by_stream[stream]
            del bucket[trigger_id]
            if not bucket:
                del self._by_stream[stream]

    def start(self) -> None:
        """Start the delivery task (from the running loop)."""
        self._delivery.start()

    async def close(self) -> None:
        """Stop delivering; undelivered events are dropped."""
        await self._delivery.close()

    def emit(self, event: dict[str, Any]) -> None:
        """Queue ``event`` (a wrapper) for the bindings it matches now."""
        bucket = self._by_stream.get(event["streamName"])
        if not bucket:
            return
        group, item = event["groupId"], event["id"]
        matched = [binding for binding in bucket.values() if binding.matches(group, item)]
        if matched:
            self._delivery.put(event, matched)

    async def _run(self, binding: _Binding, payload: dict[str, Any], cause: Span | None) -> None:
        try:
            await _fire(self._ctx, binding, payload, queued=True, cause=cause)
        except Exception as exc:
            self._ctx.logger.warning(
                "stream trigger %s: %s failed: %s",
                binding.trigger.id,
                binding.trigger.function_id,
                exc,
            )


class MembershipTriggerType(TriggerType):
    """Provider of ``stream:join`` or ``stream:leave``."""

    trigger_request_format = _MEMBERSHIP_CONFIG_SCHEMA
    call_request_format = _MEMBERSHIP_SCHEMA

    def __init__(self, ctx: TriggerContext, type_id: str) -> None:
        self.id = type_id
        verb = "joins" if type_id == "stream:join" else "leaves"
        self.description = f"Fires when a WebSocket subscriber {verb} a stream"
        self._ctx = ctx
        self._bindings: dict[str, tuple[MembershipTriggerConfig, _Binding]] = {}
        self._order = itertools.count()

    async def register_trigger(self, trigger: Trigger) -> None:
        """Keep a binding."""
        config = decode_config(trigger.config, MembershipTriggerConfig)
        binding = _Binding(
            trigger,
            config.group_id,
            config.item_id,
            config.condition_function_id,
            next(self._order),
        )
        self._bindings[trigger.id] = (config, binding)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Forget a binding."""
        self._bindings.pop(trigger.id, None)

    async def run(self, payload: dict[str, Any]) -> bool:
        """Run the matching bindings concurrently; False if any refused (or failed)."""
        stream, group, item = payload["stream_name"], payload["group_id"], payload["id"]
        matched = [
            binding
            for config, binding in self._bindings.values()
            if (not config.stream_name or config.stream_name == stream)
            and binding.matches(group, item)
        ]
        if not matched:
            return True
        results = await asyncio.gather(
            *(_fire(self._ctx, binding, payload) for binding in matched), return_exceptions=True
        )
        allowed = True
        for binding, result in zip(matched, results, strict=True):
            if isinstance(result, BaseException):
                self._ctx.logger.warning(
                    "%s trigger %s: %s failed: %s",
                    self.id,
                    binding.trigger.id,
                    binding.trigger.function_id,
                    result,
                )
                allowed = False
            elif isinstance(result, dict) and result.get("unauthorized") is True:
                allowed = False
        return allowed
