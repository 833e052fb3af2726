"""Typed function input: a handler whose payload parameter is annotated with a msgspec Struct,
a dataclass or a TypedDict gets its payload decoded into that type, and its request schema
derived from it (unless one is given).

Bad input never reaches the handler: it is answered with ``invalid_payload`` and a message
naming the field (``b: required``, ``a: expected int, got str``, ``items[2].qty: ...``).
This goes beyond upstream iii, whose SDKs never validate a payload.

Example::

    class AddInput(msgspec.Struct):
        a: int
        b: int

    def add(payload: AddInput) -> dict[str, int]:
        return {"c": payload.a + payload.b}

    worker.register_function("math::add", add)  # request schema {a: int, b: int}, required
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, Final

import msgspec

from iii_sdk.errors import InvocationError

__all__ = ["INVALID_PAYLOAD", "input_type", "payload_decoder", "request_schema"]

INVALID_PAYLOAD: Final = "invalid_payload"
_AT: Final = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_MISSING: Final = re.compile(r"^Object missing required field `(?P<field>[^`]*)`$")
_POSITIONAL: Final = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _is_typed(tp: Any) -> bool:
    if not isinstance(tp, type):
        return False
    return issubclass(tp, msgspec.Struct) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)


def input_type(fn: Callable[..., Any]) -> type | None:
    """The declared type of ``fn``'s payload parameter when it is a Struct, dataclass or
    TypedDict; ``None`` otherwise (untyped, ``dict``, ``Any`` ...)."""
    target: Any = fn.func if isinstance(fn, functools.partial) else fn
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in _POSITIONAL and p.name != "metadata"
        ]
    except (TypeError, ValueError):
        return None
    if not params:
        return None
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)  # noqa: B004 - callable objects
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references: treat as untyped
        return None
    tp = hints.get(params[0].name)
    return tp if _is_typed(tp) else None


def request_schema(tp: type) -> dict[str, Any]:
    """The JSON Schema of ``tp`` (``$ref`` into ``$defs``, as msgspec writes it)."""
    schema: dict[str, Any] = msgspec.json.schema(tp)
    return schema


def _field_path(where: str) -> str:
    return where.lstrip(".")


def describe(exc: msgspec.ValidationError) -> str:
    """``b: required`` / ``a: expected int, got str`` from a msgspec validation error."""
    match = _AT.match(str(exc))
    assert match is not None  # the pattern accepts any text
    where = _field_path(match.group("where") or "")
    message = match.group("msg")
    missing = _MISSING.match(message)
    if missing:
        name = missing.group("field")
        return f"{where}.{name}: required" if where else f"{name}: required"
    text = message.replace("`", "")
    text = text[:1].lower() + text[1:]
    return f"{where or 'payload'}: {text}"


def payload_decoder(fn: Callable[..., Any]) -> Callable[[Any], Any] | None:
    """A function turning a raw payload into ``fn``'s declared input type, raising
    :class:`InvocationError` ``invalid_payload``; ``None`` for an untyped handler."""
    tp = input_type(fn)
    if tp is None:
        return None

    def decode(payload: Any) -> Any:
        try:
            return msgspec.convert(payload, tp)
        except msgspec.ValidationError as exc:
            raise InvocationError(INVALID_PAYLOAD, describe(exc)) from None

    return decode
