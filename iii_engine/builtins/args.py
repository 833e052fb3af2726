"""The inputs of the ``engine::*`` functions, as msgspec Structs, and their decoding.

Unknown keys (such as the injected ``_caller_worker_id``) are ignored and ``null`` equals absent.
A malformed input is a ``deserialization_error`` whose message follows upstream's wording
(``Failed to deserialize input for F: missing field `name```).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from iii_sdk import errors
from iii_sdk.errors import InvocationError

__all__ = [
    "FunctionsInfoInput",
    "FunctionsListInput",
    "IdInput",
    "RegisterTriggerInput",
    "RegisteredListInput",
    "TriggersInfoInput",
    "TriggersListInput",
    "WorkersInfoInput",
    "WorkersListInput",
    "decode",
]

T = TypeVar("T")

_MISSING = re.compile(r"Object missing required field `(\w+)`")


class FunctionsListInput(msgspec.Struct):
    """``engine::functions::list``."""

    search: str | None = None
    prefix: str | None = None
    worker: str | None = None
    workers: list[str] | None = None
    include_internal: bool | None = None
    caller_worker_id: str | None = msgspec.field(default=None, name="_caller_worker_id")


class FunctionsInfoInput(msgspec.Struct):
    """``engine::functions::info``: exactly one of ``function_id`` and ``function_ids``."""

    function_id: str | None = None
    function_ids: list[str] | None = None
    namespace: str | None = None
    caller_worker_id: str | None = msgspec.field(default=None, name="_caller_worker_id")


class WorkersListInput(msgspec.Struct):
    """``engine::workers::list``."""

    search: str | None = None
    runtime: str | None = None
    status: str | None = None


class WorkersInfoInput(msgspec.Struct):
    """``engine::workers::info``."""

    name: str
    namespace: str | None = None


class TriggersListInput(msgspec.Struct):
    """``engine::triggers::list``."""

    search: str | None = None
    prefix: str | None = None
    worker: str | None = None
    include_internal: bool | None = None
    caller_worker_id: str | None = msgspec.field(default=None, name="_caller_worker_id")


class TriggersInfoInput(msgspec.Struct):
    """``engine::triggers::info``."""

    id: str
    namespace: str | None = None


class RegisteredListInput(msgspec.Struct):
    """``engine::registered-triggers::list``."""

    search: str | None = None
    trigger_type: str | None = None
    function_id: str | None = None
    worker: str | None = None
    include_internal: bool | None = None
    caller_worker_id: str | None = msgspec.field(default=None, name="_caller_worker_id")


class IdInput(msgspec.Struct):
    """``engine::registered-triggers::info`` and ``engine::unregister_trigger``."""

    id: str
    trigger_type: str | None = None
    caller_worker_id: str | None = msgspec.field(default=None, name="_caller_worker_id")


class RegisterTriggerInput(msgspec.Struct):
    """``engine::register_trigger``."""

    trigger_type: str
    function_id: str
    config: Any = None
    metadata: Any = None
    trigger_namespace: str | None = None


def decode(payload: Any, type_: type[T], function_id: str) -> T:
    """``payload`` as ``type_`` (``None`` is an empty object), or ``deserialization_error``."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise _error(function_id, "expected an object")
    try:
        return msgspec.convert(payload, type_)
    except msgspec.ValidationError as exc:
        text = str(exc)
        missing = _MISSING.fullmatch(text)
        raise _error(function_id, f"missing field `{missing[1]}`" if missing else text) from None


def _error(function_id: str, detail: str) -> InvocationError:
    return InvocationError(
        errors.DESERIALIZATION_ERROR, f"Failed to deserialize input for {function_id}: {detail}"
    )
