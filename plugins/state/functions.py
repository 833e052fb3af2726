"""The ``state::*`` functions: decode input, call the adapter, answer, then emit the event.

Result shapes and error codes are upstream iii-state's; ``state::delete`` of a missing key
fires no event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

import msgspec

from iii_sdk.errors import DESERIALIZATION_ERROR, InvocationError
from iii_sdk.plugin import WorkerContext, decode_input, decode_json_input, eager, immediate
from plugins._shared.update_ops import MISSING, UpdateOp, apply_ops
from plugins.state.adapters import StateAdapter
from plugins.state.trigger import EventType, StateTriggerType

__all__ = ["StateFunctions"]

VALUE_TOO_LARGE: Final = "VALUE_TOO_LARGE"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


Scope = Annotated[str, msgspec.Meta(description="Group of keys (e.g. a table name)")]
Key = Annotated[str, msgspec.Meta(description="Key within the scope")]
Value = Annotated[Any, msgspec.Meta(description="Any JSON value")]


class KeyInput(msgspec.Struct):
    """Input of ``state::get`` and ``state::delete``."""

    scope: Scope
    key: Key


class SetInput(msgspec.Struct):
    """Input of ``state::set``."""

    scope: Scope
    key: Key
    value: Value = msgspec.UNSET
    data: Annotated[Any, msgspec.Meta(description="Alias of value")] = msgspec.UNSET


class UpdateInput(msgspec.Struct):
    """Input of ``state::update``."""

    scope: Scope
    key: Key
    ops: Annotated[list[UpdateOp], msgspec.Meta(description="Operations applied in order")]


class ScopeInput(msgspec.Struct):
    """Input of ``state::list``."""

    scope: Scope


class GroupsInput(msgspec.Struct):
    """Input of ``state::list_groups`` (none)."""


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
        # On stores that never wait (memory; reads of the file store) get and set are
        # immediate handlers: the engine runs them on the spot, with the payload still in JSON.
        set_handler = self.set if self.adapter.set_now is None else self.set_now
        get_handler = self.get if self.adapter.get_now is None else self.get_now
        table: list[tuple[str, Callable[[Any], Any], type[Any], str]] = [
            ("state::set", set_handler, SetInput, "Store a value; returns {old_value, new_value}"),
            ("state::get", get_handler, KeyInput, "The stored value, or null"),
            ("state::delete", self.delete, KeyInput, "Delete a key; returns the deleted value"),
            ("state::update", self.update, UpdateInput, "Apply update ops atomically"),
            ("state::list", self.list_values, ScopeInput, "Every value stored in a scope"),
            ("state::list_groups", self.list_groups, GroupsInput, "Every scope: {groups}"),
        ]
        for function_id, handler, input_type, description in table:
            ctx.register_function(
                function_id,
                handler,
                description=description,
                request_format=msgspec.json.schema(input_type),
            )

    def _new_value(self, request: SetInput) -> tuple[Any, bytes]:
        """The value to store and its JSON, checked against ``max_value_bytes``."""
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
        return value, data

    @eager  # stores that wait to write (the file store commits first) give the call a task
    async def set(self, payload: Any) -> dict[str, Any]:
        """``{scope, key, value}`` -> ``{old_value, new_value}``."""
        request = decode_input(payload, SetInput, "state::set")
        value, data = self._new_value(request)
        try:
            old = await self.adapter.set(request.scope, request.key, data)
        except Exception as exc:
            raise InvocationError("SET_ERROR", f"Failed to set value: {exc}") from exc
        old_value = _loads(old)
        event: EventType = "state:created" if old is None else "state:updated"
        self.triggers.emit(event, request.scope, request.key, old_value, value)
        return {"old_value": old_value, "new_value": value}

    @immediate
    def set_now(self, payload: msgspec.Raw) -> msgspec.Raw:
        """:meth:`set` on a store that never waits; the answer is assembled from the JSON."""
        request = decode_json_input(payload, SetInput, "state::set")
        value, data = self._new_value(request)
        store = self.adapter.set_now
        assert store is not None
        try:
            old = store(request.scope, request.key, data)
        except Exception as exc:
            raise InvocationError("SET_ERROR", f"Failed to set value: {exc}") from exc
        triggers = self.triggers
        if triggers.listening:  # the old value is decoded only for an event
            event: EventType = "state:created" if old is None else "state:updated"
            triggers.emit(event, request.scope, request.key, _loads(old), value)
        # Exactly the bytes encoding {"old_value": ..., "new_value": ...} gives: both values
        # are stored as compact JSON.
        return msgspec.Raw(
            b'{"old_value":' + (b"null" if old is None else old) + b',"new_value":' + data + b"}"
        )

    @eager
    async def get(self, payload: Any) -> Any:
        """``{scope, key}`` -> the raw stored value, or null."""
        request = decode_input(payload, KeyInput, "state::get")
        try:
            data = await self.adapter.get(request.scope, request.key)
        except Exception as exc:
            raise InvocationError("GET_ERROR", f"Failed to get value: {exc}") from exc
        return _loads(data)

    @immediate
    def get_now(self, payload: msgspec.Raw) -> msgspec.Raw | None:
        """:meth:`get` on a store that never waits to read: the stored JSON as it is."""
        request = decode_json_input(payload, KeyInput, "state::get")
        store = self.adapter.get_now
        assert store is not None
        try:
            data = store(request.scope, request.key)
        except Exception as exc:
            raise InvocationError("GET_ERROR", f"Failed to get value: {exc}") from exc
        return None if data is None else msgspec.Raw(data)

    @eager
    async def delete(self, payload: Any) -> Any:
        """``{scope, key}`` -> the raw deleted value, or null."""
        request = decode_input(payload, KeyInput, "state::delete")
        try:
            old = await self.adapter.delete(request.scope, request.key)
        except Exception as exc:
            raise InvocationError("DELETE_ERROR", f"Failed to delete value: {exc}") from exc
        if old is None:
            return None
        old_value = _decode(old)
        self.triggers.emit("state:deleted", request.scope, request.key, old_value, None)
        return old_value

    @eager
    async def update(self, payload: Any) -> dict[str, Any]:
        """``{scope, key, ops}`` -> ``{old_value, new_value, errors?}``."""
        request = decode_input(payload, UpdateInput, "state::update")

        def transform(old: bytes | None) -> tuple[bytes, tuple[Any, list[dict[str, Any]]]]:
            # Decoding gives the ops a private working copy; ``old`` itself stays intact.
            new_value, errors = apply_ops(MISSING if old is None else _decode(old), request.ops)
            return _encode(new_value), (new_value, errors)

        try:
            forwarded = await self.adapter.update_ops(request.scope, request.key, request.ops)
            if forwarded is not None:  # applied where the data lives (the bridge)
                old_value, new_value, errors = forwarded
                existed = old_value is not None
            else:
                old, _, (new_value, errors) = await self.adapter.update(
                    request.scope, request.key, transform
                )
                old_value, existed = _loads(old), old is not None
        except Exception as exc:
            raise InvocationError("UPDATE_ERROR", f"Failed to update value: {exc}") from exc
        event: EventType = "state:updated" if existed else "state:created"
        self.triggers.emit(event, request.scope, request.key, old_value, new_value)
        result = {"old_value": old_value, "new_value": new_value}
        if errors:
            result["errors"] = errors
        return result

    @eager
    async def list_values(self, payload: Any) -> list[Any]:
        """``{scope}`` -> the values stored in the scope."""
        request = decode_input(payload, ScopeInput, "state::list")
        try:
            values = await self.adapter.list_values(request.scope)
        except Exception as exc:
            raise InvocationError("LIST_ERROR", f"Failed to list values: {exc}") from exc
        result: list[Any] = _decode(b"[" + b",".join(values) + b"]")
        return result

    @eager
    async def list_groups(self, payload: Any) -> dict[str, list[str]]:
        """``{}`` -> ``{"groups": [...]}``, sorted."""
        try:
            groups = await self.adapter.list_groups()
        except Exception as exc:
            raise InvocationError("LIST_GROUPS_ERROR", f"Failed to list groups: {exc}") from exc
        return {"groups": groups}
