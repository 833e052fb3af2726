"""The ``stream::*`` functions (workers.md §4.1, §4.2): decode, route, store, answer, emit.

``set/get/delete/list/list_groups/update`` first look for a custom implementation registered by
a worker as ``stream::<op>(<stream_name>)`` (``create_stream`` in the SDKs) and use its result;
otherwise the store answers. Either way ``set``/``update``/``delete``/``send`` emit their event
afterwards (``delete`` only when the item existed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

import msgspec

from iii_sdk.errors import FUNCTION_NOT_FOUND, InvocationError
from iii_sdk.plugin import WorkerContext, decode_input, eager
from plugins._shared.update_ops import MISSING, UpdateOp
from plugins.stream.store import ItemTooLarge, StreamStore

__all__ = ["Emit", "StreamFunctions"]

VALUE_TOO_LARGE: Final = "VALUE_TOO_LARGE"
JSON_ERROR: Final = "JSON_ERROR"

Emit = Callable[[str, str, "str | None", dict[str, Any]], None]
"""``emit(stream_name, group_id, item_id, event)``: wrap, fire triggers, publish."""

_encode = msgspec.json.Encoder().encode

StreamName = Annotated[str, msgspec.Meta(description="Stream name")]
GroupId = Annotated[str, msgspec.Meta(description="Group within the stream")]
ItemId = Annotated[str, msgspec.Meta(description="Item within the group")]


class ItemInput(msgspec.Struct):
    """Input of ``stream::get`` and ``stream::delete``."""

    stream_name: StreamName
    group_id: GroupId
    item_id: ItemId


class SetInput(msgspec.Struct):
    """Input of ``stream::set``."""

    stream_name: StreamName
    group_id: GroupId
    item_id: ItemId
    data: Annotated[Any, msgspec.Meta(description="Any JSON value")]


class UpdateInput(msgspec.Struct):
    """Input of ``stream::update``."""

    stream_name: StreamName
    group_id: GroupId
    item_id: ItemId
    ops: Annotated[list[UpdateOp], msgspec.Meta(description="Operations applied in order")]


class GroupInput(msgspec.Struct):
    """Input of ``stream::list``."""

    stream_name: StreamName
    group_id: GroupId


class StreamInput(msgspec.Struct):
    """Input of ``stream::list_groups``."""

    stream_name: StreamName


class NoInput(msgspec.Struct):
    """Input of ``stream::list_all`` (none)."""


class SendInput(msgspec.Struct):
    """Input of ``stream::send``: an ephemeral event, not stored."""

    stream_name: StreamName
    group_id: GroupId
    type: Annotated[str, msgspec.Meta(description="The custom event type")]
    data: Any = None
    id: str | None = None


class _SetResult(msgspec.Struct):
    old_value: Any = None
    new_value: Any = None


class _DeleteResult(msgspec.Struct):
    old_value: Any = None


class StreamFunctions:
    """The function handlers of one iii-stream worker."""

    def __init__(
        self, ctx: WorkerContext, store: StreamStore, emit: Emit, *, max_item_bytes: int
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.emit = emit
        self.max_item_bytes = max_item_bytes

    def register(self) -> None:
        """Register every ``stream::*`` function."""
        table: list[tuple[str, Callable[[Any], Awaitable[Any]], type[Any], str]] = [
            ("stream::set", self.set, SetInput, "Store an item; returns {old_value, new_value}"),
            ("stream::get", self.get, ItemInput, "The stored item, or null"),
            ("stream::delete", self.delete, ItemInput, "Delete an item; returns {old_value}"),
            ("stream::update", self.update, UpdateInput, "Apply update ops atomically"),
            ("stream::list", self.list_items, GroupInput, "Every item of a group"),
            ("stream::list_groups", self.list_groups, StreamInput, "The groups of a stream"),
            ("stream::list_all", self.list_all, NoInput, "Every stream and its groups"),
            ("stream::send", self.send, SendInput, "Send an ephemeral event to subscribers"),
        ]
        for function_id, handler, input_type, description in table:
            self.ctx.register_function(
                function_id,
                handler,
                description=description,
                request_format=msgspec.json.schema(input_type),
            )

    def _custom_id(self, op: str, stream: str) -> str | None:
        """``stream::<op>(<stream>)`` if a worker may provide it (None: surely not)."""
        function_id = f"stream::{op}({stream})"
        if self.ctx.has_function(function_id) is False:
            return None  # the common case, answered without an invocation
        return function_id

    async def _custom(
        self, code: str, op: str, stream: str, payload: dict[str, Any]
    ) -> tuple[bool, Any]:
        """``(True, result)`` from ``stream::<op>(<stream>)`` if a worker provides it."""
        function_id = self._custom_id(op, stream)
        if function_id is None:
            return False, None
        try:
            return True, await self.ctx.invoke(function_id, payload)
        except InvocationError as exc:
            if exc.code == FUNCTION_NOT_FOUND and exc.function_id in (None, function_id):
                return False, None
            raise
        except Exception as exc:
            raise InvocationError(code, f"Stream operation failed: {exc}") from exc

    @eager  # on the memory store with no custom set function it never waits: no task then
    async def set(self, payload: Any) -> dict[str, Any]:
        """``{stream_name, group_id, item_id, data}`` -> ``{old_value, new_value}``."""
        request = decode_input(payload, SetInput, "stream::set")
        stream, group, item = request.stream_name, request.group_id, request.item_id
        data = _encode(request.data)
        if len(data) > self.max_item_bytes:
            raise InvocationError(
                VALUE_TOO_LARGE, str(ItemTooLarge(len(data), self.max_item_bytes))
            )
        found, result = False, None
        if self._custom_id("set", stream) is not None:
            typed = {**_item(stream, group, item), "data": request.data}
            found, result = await self._custom("STREAM_SET_ERROR", "set", stream, typed)
        if found:
            parsed = _parse(result, _SetResult)
            old, new = parsed.old_value, parsed.new_value
            existed = old is not None
        else:
            try:
                old = await self.store.set(stream, group, item, request.data, data)
            except Exception as exc:
                raise InvocationError("STREAM_SET_ERROR", f"Failed to set item: {exc}") from exc
            existed, new = old is not MISSING, request.data
            old = old if existed else None
        self.emit(stream, group, item, {"type": "update" if existed else "create", "data": new})
        return {"old_value": old, "new_value": new}

    async def get(self, payload: Any) -> Any:
        """``{stream_name, group_id, item_id}`` -> the raw item, or null."""
        request = decode_input(payload, ItemInput, "stream::get")
        typed = _item(request.stream_name, request.group_id, request.item_id)
        found, result = await self._custom("STREAM_GET_ERROR", "get", request.stream_name, typed)
        if found:
            return result
        return await self._guard(
            "STREAM_GET_ERROR",
            self.store.get(request.stream_name, request.group_id, request.item_id),
        )

    async def delete(self, payload: Any) -> dict[str, Any]:
        """``{stream_name, group_id, item_id}`` -> ``{old_value}``."""
        request = decode_input(payload, ItemInput, "stream::delete")
        stream, group, item = request.stream_name, request.group_id, request.item_id
        found, result = await self._custom(
            "STREAM_DELETE_ERROR", "delete", stream, _item(stream, group, item)
        )
        if found:
            old = _parse(result, _DeleteResult).old_value
            existed = old is not None
        else:
            old = await self._guard("STREAM_DELETE_ERROR", self.store.delete(stream, group, item))
            existed = old is not MISSING
            old = old if existed else None
        if existed:
            self.emit(stream, group, item, {"type": "delete", "data": old})
        return {"old_value": old}

    async def update(self, payload: Any) -> dict[str, Any]:
        """``{stream_name, group_id, item_id, ops}`` -> ``{old_value, new_value, errors?}``."""
        request = decode_input(payload, UpdateInput, "stream::update")
        stream, group, item = request.stream_name, request.group_id, request.item_id
        try:
            old, new, errors = await self.store.update(
                stream, group, item, request.ops, self.max_item_bytes
            )
        except ItemTooLarge as exc:
            raise InvocationError(VALUE_TOO_LARGE, str(exc)) from exc
        except InvocationError:
            raise
        except Exception as exc:
            raise InvocationError("STREAM_UPDATE_ERROR", f"Failed to update item: {exc}") from exc
        existed = old is not MISSING
        self.emit(stream, group, item, {"type": "update" if existed else "create", "data": new})
        result = {"old_value": old if existed else None, "new_value": new}
        if errors:
            result["errors"] = errors
        return result

    async def list_items(self, payload: Any) -> Any:
        """``{stream_name, group_id}`` -> the group's items."""
        request = decode_input(payload, GroupInput, "stream::list")
        typed = {"stream_name": request.stream_name, "group_id": request.group_id}
        found, result = await self._custom(
            "STREAM_GET_GROUP_ERROR", "list", request.stream_name, typed
        )
        if found:
            return result
        return await self._guard(
            "STREAM_GET_GROUP_ERROR", self.store.list_items(request.stream_name, request.group_id)
        )

    async def list_groups(self, payload: Any) -> Any:
        """``{stream_name}`` -> the stream's group ids (a bare array, like upstream)."""
        request = decode_input(payload, StreamInput, "stream::list_groups")
        typed = {"stream_name": request.stream_name}
        found, result = await self._custom(
            "STREAM_LIST_GROUPS_ERROR", "list_groups", request.stream_name, typed
        )
        if found:
            return result
        return await self._guard(
            "STREAM_LIST_GROUPS_ERROR", self.store.list_groups(request.stream_name)
        )

    async def list_all(self, payload: Any) -> dict[str, Any]:
        """``{}`` -> ``{"stream": [{"id", "groups"}...], "count": N}``."""
        streams = await self._guard("STREAM_LIST_ALL_ERROR", self.store.list_all())
        rows = [{"id": name, "groups": groups} for name, groups in streams.items()]
        return {"stream": rows, "count": len(rows)}

    async def send(self, payload: Any) -> None:
        """``{stream_name, group_id, type, data, id?}`` -> null; subscribers get an ``event``."""
        request = decode_input(payload, SendInput, "stream::send")
        size = len(_encode(request.data))
        if size > self.max_item_bytes:
            raise InvocationError(VALUE_TOO_LARGE, str(ItemTooLarge(size, self.max_item_bytes)))
        event = {"type": "event", "event": {"type": request.type, "data": request.data}}
        self.emit(request.stream_name, request.group_id, request.id, event)

    @staticmethod
    async def _guard(code: str, work: Awaitable[Any]) -> Any:
        """Await ``work``; adapter failures become ``code`` (custom streams' errors pass)."""
        try:
            return await work
        except InvocationError:
            raise
        except Exception as exc:
            raise InvocationError(code, f"Stream operation failed: {exc}") from exc


def _item(stream: str, group: str, item: str) -> dict[str, str]:
    return {"stream_name": stream, "group_id": group, "item_id": item}


def _parse(result: Any, type_: type[Any]) -> Any:
    if result is None:
        raise InvocationError(JSON_ERROR, "Function returned no result")
    try:
        return msgspec.convert(result, type_)
    except msgspec.ValidationError as exc:
        raise InvocationError(JSON_ERROR, f"Failed to parse custom stream result: {exc}") from exc
