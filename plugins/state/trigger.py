"""The ``state`` trigger type: bindings on (scope?, key?) fired after every successful write.

Events are queued at write time with the bindings that matched then, and one background task
delivers them in write order: an event goes to all its bindings at once, and
the next event waits until they have all answered. So every handler sees the writes in the
order they happened, a write never waits for its handlers, and fanning out to many bindings
costs the slowest handler rather than the sum (upstream awaits them one by one). Bindings
are indexed by their (scope, key) filter, so a write does four dict lookups, not a scan.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final, Literal

import msgspec

from iii_sdk.observer import Span, trigger_span
from iii_sdk.plugin import (
    Trigger,
    TriggerContext,
    TriggerType,
    check_condition,
    decode_config,
)
from plugins._shared.delivery import OrderedDelivery

__all__ = ["EventType", "StateTriggerConfig", "StateTriggerType"]

EventType = Literal["state:created", "state:updated", "state:deleted"]

_Filter = tuple[str | None, str | None]


class StateTriggerConfig(msgspec.Struct):
    """A binding's config; an absent (or null) ``scope``/``key`` matches every value."""

    scope: str | None = None
    key: str | None = None
    condition_function_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Binding:
    trigger: Trigger
    condition_function_id: str | None
    order: int


_CONFIG_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "scope": {"type": "string", "description": "Only this scope (default: every scope)"},
        "key": {"type": "string", "description": "Only this key (default: every key)"},
        "condition_function_id": {
            "type": "string",
            "description": "Called with the event first; a false result skips the handler",
        },
    },
}
_PAYLOAD_SCHEMA: Final = {
    "type": "object",
    "properties": {
        "type": {"const": "state"},
        "event_type": {"enum": ["state:created", "state:updated", "state:deleted"]},
        "scope": {"type": "string"},
        "key": {"type": "string"},
        "old_value": {},
        "new_value": {},
    },
    "required": ["type", "event_type", "scope", "key", "old_value", "new_value"],
}


class StateTriggerType(TriggerType):
    """Provider of the ``state`` trigger type for one iii-state worker."""

    id = "state"
    description = "Fires on state changes (created, updated, deleted), filtered by scope and key"
    trigger_request_format = _CONFIG_SCHEMA
    call_request_format = _PAYLOAD_SCHEMA

    def __init__(self, ctx: TriggerContext, *, enabled: bool = True) -> None:
        self._ctx = ctx
        self.enabled = enabled
        self._index: dict[_Filter, dict[str, _Binding]] = {}
        self._filters: dict[str, _Filter] = {}
        self._order = itertools.count()
        self._delivery = OrderedDelivery(self._fire)

    async def register_trigger(self, trigger: Trigger) -> None:
        """Index a binding; a non-string filter is rejected."""
        config = decode_config(trigger.config, StateTriggerConfig)
        self._drop(trigger.id)
        where: _Filter = (config.scope, config.key)
        binding = _Binding(trigger, config.condition_function_id, next(self._order))
        self._index.setdefault(where, {})[trigger.id] = binding
        self._filters[trigger.id] = where

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Forget a binding (events already queued for it are still delivered)."""
        self._drop(trigger.id)

    def start(self) -> None:
        """Start the delivery task (call from the running loop)."""
        self._delivery.start()

    async def close(self) -> None:
        """Stop delivering; undelivered events are dropped."""
        await self._delivery.close()

    @property
    def listening(self) -> bool:
        """Whether a write could fire anything now (a binding exists and events are on)."""
        return self.enabled and bool(self._index)

    def emit(
        self, event_type: EventType, scope: str, key: str, old_value: Any, new_value: Any
    ) -> None:
        """Queue an event for the bindings matching ``(scope, key)`` right now."""
        if not self.enabled or not self._index:
            return
        bindings = self._matching(scope, key)
        if not bindings:
            return
        payload = {
            "type": "state",
            "event_type": event_type,
            "scope": scope,
            "key": key,
            "old_value": old_value,
            "new_value": new_value,
        }
        self._delivery.put(payload, bindings)

    def _matching(self, scope: str, key: str) -> list[_Binding]:
        found: list[_Binding] = []
        buckets = 0
        for where in ((scope, key), (scope, None), (None, key), (None, None)):
            bucket = self._index.get(where)
            if bucket:
                found.extend(bucket.values())
                buckets += 1
        if buckets > 1:
            found.sort(key=lambda binding: binding.order)
        return found

    def _drop(self, trigger_id: str) -> None:
        where = self._filters.pop(trigger_id, None)
        if where is None:
            return
        bucket = self._index[where]
        del bucket[trigger_id]
        if not bucket:
            del self._index[where]

    async def _fire(self, binding: _Binding, payload: dict[str, Any], cause: Span | None) -> None:
        if self._ctx.observer is None:
            await self._fire_binding(binding, payload)
            return
        with trigger_span(self._ctx.observer, "state", binding.trigger.function_id, parent=cause):
            await self._fire_binding(binding, payload)

    async def _fire_binding(self, binding: _Binding, payload: dict[str, Any]) -> None:
        trigger = binding.trigger
        log = self._ctx.logger
        try:
            run = await check_condition(
                self._ctx, binding.condition_function_id, payload, trigger.namespace
            )
        except Exception as exc:
            log.warning(
                "state trigger %s: condition %s failed, handler skipped: %s",
                trigger.id,
                binding.condition_function_id,
                exc,
            )
            return
        if not run:
            return
        try:
            await self._ctx.invoke(
                trigger.function_id,
                payload,
                metadata=trigger.metadata,
                namespace=trigger.namespace,
            )
        except Exception as exc:
            log.warning("state trigger %s: %s failed: %s", trigger.id, trigger.function_id, exc)
