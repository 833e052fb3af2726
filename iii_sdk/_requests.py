"""Turning the forms users write into wire values: schemas, actions, namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from iii_sdk._tracing import INBOUND, inbound, outgoing
from iii_sdk.protocol import (
    UNSET,
    EnqueueAction,
    InvokeFunction,
    Raw,
    TriggerAction,
    UnsetType,
    VoidAction,
    to_raw,
)

from ._frames import CALL_HEADS, call_head
from ._values import raw_value

__all__ = [
    "TriggerRequest",
    "binding_namespace",
    "call_namespace",
    "invocation",
    "parse_action",
    "plain_head",
    "schema_raw",
]


def schema_raw(value: Any) -> Raw | UnsetType:
    """A request/response format: a JSON Schema dict as is, a msgspec type turned into one."""
    if value is None:
        return UNSET
    if isinstance(value, type):
        value = msgspec.json.schema(value)
    return to_raw(value)


def parse_action(action: Any) -> TriggerAction | None:
    """``None``, an action Struct, or upstream's dict ``{"type": "void" | "enqueue", ...}``."""
    if action is None or isinstance(action, VoidAction | EnqueueAction):
        return action
    if isinstance(action, Mapping):
        kind = action.get("type")
        if kind == "void":
            return VoidAction()
        if kind == "enqueue":
            return EnqueueAction(queue=str(action["queue"]))
    raise ValueError(f"unknown trigger action {action!r}")


def _check(explicit: str | None) -> None:
    # Blank and absent mean opposite things (a namespace with no name vs the default one).
    if explicit is not None and not explicit.strip():
        raise ValueError("namespace is empty: give it a name or leave it unset")


def call_namespace(explicit: str | None, function_id: str, own: str | None) -> str | None:
    """Where an invocation resolves: explicit, else ``default`` for the engine's own
    ``engine::`` functions, else the worker's namespace (``None``: the engine's default)."""
    if explicit is not None:
        _check(explicit)
        return explicit
    return "default" if function_id.startswith("engine::") else own


def binding_namespace(explicit: str | None, own: str | None) -> str | None:
    """Where a trigger's function resolves: explicit, else the worker's namespace."""
    _check(explicit)
    return explicit if explicit is not None else own


class TriggerRequest(msgspec.Struct, frozen=True):
    """The arguments of :meth:`Worker.trigger`, from either of its two call forms.

    A Struct: built once per call, its constructor runs in C (a named tuple's runs in Python,
    a frozen dataclass's is several times slower still).
    """

    function_id: str
    payload: Any
    action: Any
    timeout_ms: float | None
    metadata: Any
    namespace: str | None

    @classmethod
    def of(
        cls,
        request: str | Mapping[str, Any],
        payload: Any,
        action: Any,
        timeout_ms: float | None,
        metadata: Any,
        namespace: str | None,
    ) -> TriggerRequest:
        """Keyword form, or upstream's dict ``{"function_id", "payload", "action", ...}``."""
        if type(request) is str or (type(request) is not dict and not isinstance(request, Mapping)):
            return cls(request, payload, action, timeout_ms, metadata, namespace)
        # A plain dict skips the ABC check (the common form from upstream's examples).
        return cls(
            str(request["function_id"]),
            request.get("payload", payload),
            request.get("action", action),
            request.get("timeout_ms", timeout_ms),
            request.get("metadata", metadata),
            request.get("namespace", namespace),
        )


def invocation(
    call: TriggerRequest, own_namespace: str | None, *, traced: bool = True
) -> InvokeFunction:
    """The ``invokefunction`` for ``call`` (its ``invocation_id`` is set when it is sent).

    ``traced=False`` (the caller checked that OpenTelemetry is off) skips that check.
    """
    function_id = call.function_id
    traceparent, baggage = outgoing() if traced else inbound()
    return InvokeFunction(
        function_id=function_id,
        data=raw_value(call.payload),
        action=None if call.action is None else parse_action(call.action),
        metadata=UNSET if call.metadata is None else raw_value(call.metadata),
        namespace=call_namespace(call.namespace, function_id, own_namespace),
        traceparent=traceparent,
        baggage=baggage,
    )


def plain_head(call: TriggerRequest, own_namespace: str | None) -> bytes | None:
    """The head of the ``invokefunction`` frame (:func:`~iii_sdk._frames.call_head`) of a call
    that is nothing but a function id and a payload; ``None`` when the call carries more (an
    action, metadata, a namespace, trace context) and needs :func:`invocation`.

    Only for untraced calls (the caller checked that OpenTelemetry is off).
    """
    function_id = call.function_id
    if (
        call.action is not None
        or call.metadata is not None
        # call_namespace() is None, spelled out: no explicit or own namespace, no engine::
        or call.namespace is not None
        or own_namespace is not None
        or function_id.startswith("engine::")
        or INBOUND.get() is not None  # the handler's trace context goes on with the call
    ):
        return None
    head = CALL_HEADS.get(function_id)  # call_head(), spelled out for the usual hit
    return call_head(function_id) if head is None else head
