"""Turning an ``observe`` frame into an :class:`Observer`, or into the error code that refuses it.

Validation order: blank namespace (``INVALID_NAMESPACE``), the filter language
(``INVALID_FILTER``), unknown option values (``INVALID_OBSERVE``), source == target
(``SELF_TARGET``); on a listener with access control, the observing session's function-access
decision for source and target (``FORBIDDEN``, :func:`check_access`); the checks against the
registered source (``NOT_OBSERVABLE``, ``INVALID_ARGS``) run in :func:`check_source`, now or
when the source registers.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from msgspec import UNSET

from iii_engine.core.peer import AccessSession
from iii_engine.core.registry import DEFAULT_NAMESPACE, FunctionEntry, FunctionRegistry
from iii_engine.observe.filters import FilterError, compile_filter, safe
from iii_engine.observe.model import (
    CAPTURES,
    DEFAULT_CAPTURE,
    DEFAULT_MAX_IN_FLIGHT,
    DELIVERS,
    ONS,
    Observer,
)
from iii_sdk.observe_protocol import Observe
from iii_sdk.protocol import from_raw

__all__ = ["Refused", "build_observer", "check_access", "check_source", "descriptor"]

INVALID_NAMESPACE = "INVALID_NAMESPACE"
INVALID_FILTER = "INVALID_FILTER"
INVALID_OBSERVE = "INVALID_OBSERVE"
INVALID_ARGS = "INVALID_ARGS"
SELF_TARGET = "SELF_TARGET"
NOT_OBSERVABLE = "NOT_OBSERVABLE"
FORBIDDEN = "FORBIDDEN"


class Refused(Exception):
    """An observer the engine does not keep: ``code`` and ``message`` go to the worker."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _namespace(value: str | None, what: str) -> str:
    if value is None:
        return DEFAULT_NAMESPACE
    if not value.strip():
        raise Refused(INVALID_NAMESPACE, f"{what} namespace must not be blank")
    return value


def _positive(value: int | None, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or value <= 0):
        raise Refused(INVALID_OBSERVE, f"{name} must be a positive integer")
    return value


def build_observer(msg: Observe) -> Observer:
    """Validate the frame on its own (not against the source) and build the observer."""
    source, target = msg.source, msg.target
    source_key = (_namespace(source.namespace, "source"), source.function_id)
    target_key = (_namespace(target.namespace, "target"), target.function_id)
    filters = from_raw(source.filters)
    if filters is None:
        filters = {}
    try:
        pred = compile_filter(filters)
    except FilterError as exc:
        raise Refused(INVALID_FILTER, str(exc)) from None
    capture = tuple(source.capture) if source.capture is not None else DEFAULT_CAPTURE
    unknown = [c for c in capture if c not in CAPTURES]
    if unknown:
        raise Refused(INVALID_OBSERVE, f"unknown capture {unknown[0]!r}")
    on = source.on or "success"
    if on not in ONS:
        raise Refused(INVALID_OBSERVE, f"unknown on {on!r}: success, error or complete")
    deliver = source.deliver or "envelope"
    if deliver not in DELIVERS:
        raise Refused(INVALID_OBSERVE, f"unknown deliver {deliver!r}: envelope, input or output")
    max_fires = _positive(msg.max_fires, "max_fires")
    expires = _positive(msg.expires_in_ms, "expires_in_ms")
    in_flight = _positive(msg.max_in_flight, "max_in_flight") or DEFAULT_MAX_IN_FLIGHT
    if source_key == target_key:
        raise Refused(SELF_TARGET, f"{source.function_id} cannot be its own observer's target")
    args = from_raw(source.args)
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise Refused(INVALID_ARGS, "args must be an object")
    return Observer(
        id=msg.id,
        source=source_key,
        target=target_key,
        args=args,
        filters=filters,
        pred=safe(pred),
        capture=capture,
        on=on,
        deliver=deliver,
        metadata=msg.metadata if msg.metadata is not UNSET else UNSET,
        max_fires=max_fires,
        expires_in_ms=expires,
        max_in_flight=in_flight,
    )


def check_access(observer: Observer, session: AccessSession, functions: FunctionRegistry) -> None:
    """Refuse with ``FORBIDDEN`` unless the session may call both the source and the target.

    The observing session's 0.23 function-access decision applies to both ends: observing a
    function reveals its calls, and activations invoke the target on the observer's behalf.
    A function not registered yet is decided by its id and namespace alone.
    """
    for end, (namespace, function_id) in (("source", observer.source), ("target", observer.target)):
        entry = functions.get(namespace, function_id)
        metadata = None if entry is None else from_raw(entry.metadata)
        denial = session.decide(function_id, namespace, metadata)
        if denial is not None:
            raise Refused(FORBIDDEN, f"cannot observe with {end} {function_id}: {denial}")


def descriptor(entry: FunctionEntry) -> dict[str, Any]:
    """The source's ``registerfunction.observe`` descriptor (``{}`` when it sent none)."""
    value = entry.extra.get("observe")
    return value if isinstance(value, dict) else {}


def check_source(observer: Observer, entry: FunctionEntry) -> None:
    """The checks against the registered source; raise :class:`Refused` on failure."""
    spec = descriptor(entry)
    name = entry.function_id
    if spec.get("allow") is False:
        raise Refused(NOT_OBSERVABLE, f"{name} does not allow observers")
    if spec.get("delivery") != "owner":
        if observer.args:
            raise Refused(INVALID_ARGS, f"{name} takes no args")
        return
    schema = spec.get("args_format")
    if isinstance(schema, dict):
        try:
            jsonschema.validate(observer.args, schema)
        except jsonschema.ValidationError as exc:
            raise Refused(INVALID_ARGS, f"args for {name}: {exc.message}") from None
        except jsonschema.SchemaError as exc:
            raise Refused(
                INVALID_ARGS, f"{name} has an invalid args_format: {exc.message}"
            ) from None
