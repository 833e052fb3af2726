"""The ``state::*`` functions: decode input, call the adapter, answer, then emit the event.

Result shapes and error codes follow workers.md §3.1 exactly; ``state::delete`` of a missing
key fires no event (decisions.md §2.4).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec

from iii_sdk.errors import DESERIALIZATION_ERROR, InvocationError
from iii_sdk.plugin import WorkerContext, decode_input
from plugins.state.adapters import StateAdapter
from plugins.state.trigger import EventType, StateTriggerType
from plugins.state.update_ops import MISSING, UpdateOp, apply_ops

__all__ = ["StateFunctions"]

VALUE_TOO_LARGE: Final = "VALUE_TOO_LARGE"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class _Key(msgspec.Struct):
    scope: str
    key: str


class _SetInput(msgspec.Struct):
    scope: str
    key: str
    value: Any = msgspec.UNSET
    data: Any = msgspec.UNSET  # upstream accepts ``data`` as an alias of ``value``


class _UpdateInput(msgspec.Struct):
    scope: str
    key: str
    ops: list[UpdateOp]


class _ScopeInput(msgspec.Struct):
    scope: str


def _loads(data: bytes | None) -> Any:
    return None if data is None else _decode(data)


class StateFunctions:
    """The function handlers of one iii-state worker."""

    def __init__(
        self,
        adapter: StateAdapter,
        triggers: StateTriggerType,
        *,
        max_value_bytes: int | None = None,
    ) -> None:
        self.adapter = adapter
        self.triggers = triggers
        self.max_value_bytes = max_value_bytes

    def register(self, ctx: WorkerContext) -> None:
        """Register every ``state::*`` function on ``ctx``."""
        table: dict[str, tuple[Callable[[Any], Awaitable[Any]], str]] = {
            "state::set": (self.set, "Store a value; returns {old_value, new_value}"),
            "state::get": (self.get, "The stored value, or null"),
            "state::delete": (self.delete, "Delete a key; returns the deleted value, or null"),
            "state::update": (self.update, "Apply update ops; returns {old_value, new_value}"),
            "state::list": (self.list_values, "Every value stored in a scope"),
            "state::list_groups": (self.list_groups, "Every scope holding a value: {groups}"),
        }
        for function_id, (handler, description) in table.items():
            ctx.register_function(function_id, handler, description=description)

    async def set(self, payload: Any) -> dict[str, Any]:
        """``{scope, key, value}`` -> ``{old_value, new_value}``."""
        request = decode_input(payload, _SetInput, "state::set")
        value = request.data if request.value is msgspec.UNSET else request.value
        if value is msgspec.UNSET:
            raise InvocationError(
                DESERIALIZATION_ERROR,
                "Failed to deserialize input for state::set: missing field `value`",
            )
        data = _encode(value)
        limit = self.max_value_bytes
        if limit is not None and len(data) > limit:
            raise InvocationError(
                VALUE_TOO_LARGE, f"Value size {len(data)} bytes exceeds the limit of {limit} bytes"
            )
        try:
            old = await self.adapter.set(request.scope, request.key, data)
        except Exception as exc:
            raise InvocationError("SET_ERROR", f"Failed to set value: {exc}") from exc
        old_value = _loads(old)
        event: EventType = "state:created" if old is None else "state:updated"
        self.triggers.emit(event, request.scope, request.key, old_value, value)
        return {"old_value": old_value, "new_value": value}

    async def get(self, payload: Any) -> Any:
        """``{scope, key}`` -> the raw stored value, or null."""
        request = decode_input(payload, _Key, "state::get")
        try:
            data = await self.adapter.get(request.scope, request.key)
        except Exception as exc:
            raise InvocationError("GET_ERROR", f"Failed to get value: {exc}") from exc
        return _loads(data)

    async def delete(self, payload: Any) -> Any:
        """``{scope, key}`` -> the raw deleted value, or null."""
        request = decode_input(payload, _Key, "state::delete")
        try:
            old = await self.adapter.delete(request.scope, request.key)
        except Exception as exc:
            raise InvocationError("DELETE_ERROR", f"Failed to delete value: {exc}") from exc
        if old is None:
            return None
        old_value = _decode(old)
        self.triggers.emit("state:deleted", request.scope, request.key, old_value, None)
        return old_value

    async def update(self, payload: Any) -> dict[str, Any]:
        """``{scope, key, ops}`` -> ``{old_value, new_value, errors?}``."""
        request = decode_input(payload, _UpdateInput, "state::update")

        def transform(old: bytes | None) -> tuple[bytes, tuple[Any, list[dict[str, Any]]]]:
            # Decoding gives the ops a private working copy; ``old`` itself stays intact.
            new_value, errors = apply_ops(MISSING if old is None else _decode(old), request.ops)
            return _encode(new_value), (new_value, errors)

        try:
            old, _, (new_value, errors) = await self.adapter.update(
                request.scope, request.key, transform
            )
        except Exception as exc:
            raise InvocationError("UPDATE_ERROR", f"Failed to update value: {exc}") from exc
        old_value = _loads(old)
        event: EventType = "state:created" if old is None else "state:updated"
        self.triggers.emit(event, request.scope, request.key, old_value, new_value)
        result = {"old_value": old_value, "new_value": new_value}
        if errors:
            result["errors"] = errors
        return result

    async def list_values(self, payload: Any) -> list[Any]:
        """``{scope}`` -> the values stored in the scope."""
        request = decode_input(payload, _ScopeInput, "state::list")
        try:
            values = await self.adapter.list_values(request.scope)
        except Exception as exc:
            raise InvocationError("LIST_ERROR", f"Failed to list values: {exc}") from exc
        result: list[Any] = _decode(b"[" + b",".join(values) + b"]")
        return result

    async def list_groups(self, payload: Any) -> dict[str, list[str]]:
        """``{}`` -> ``{"groups": [...]}``, sorted."""
        try:
            groups = await self.adapter.list_groups()
        except Exception as exc:
            raise InvocationError("LIST_GROUPS_ERROR", f"Failed to list groups: {exc}") from exc
        return {"groups": groups}
