"""Reading the loosely typed inputs of the ``engine::*`` functions."""

from __future__ import annotations

from typing import Any

from iii_sdk import errors
from iii_sdk.errors import InvocationError

__all__ = ["flag", "obj", "required", "string"]


def string(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def required(payload: dict[str, Any], key: str, function_id: str) -> str:
    """A required string field; upstream's ``deserialization_error`` when it is missing."""
    value = string(payload, key)
    if value is None:
        raise InvocationError(
            errors.DESERIALIZATION_ERROR,
            f"Failed to deserialize input for {function_id}: missing field `{key}`",
        )
    return value


def flag(payload: dict[str, Any], key: str) -> bool:
    return payload.get(key) is True


def obj(payload: Any, function_id: str) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise InvocationError(
            errors.DESERIALIZATION_ERROR,
            f"Failed to deserialize input for {function_id}: expected an object",
        )
    return payload
