"""The pieces of an invocation shared by the router's paths: pending records, payload
rewriting, and the error bodies the engine produces."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from msgspec import Raw, UnsetType

from iii_engine.core.registry import FunctionRegistry
from iii_sdk import errors
from iii_sdk.observer import Span
from iii_sdk.protocol import NULL, UNSET, ErrorBody, from_raw, to_raw

if TYPE_CHECKING:
    from iii_engine.core.peer import Chunk, Peer

__all__ = [
    "CALLER_KEY",
    "STOPPED",
    "Pending",
    "caller_parts",
    "inject_caller",
    "not_found_message",
]

_EMPTY_OBJECT = re.compile(rb"\{\s*\}")
CALLER_KEY = "_caller_worker_id"
_CALLER_KEY = re.compile(rb'"_caller_worker_id"')
STOPPED = ErrorBody(code=errors.INVOCATION_STOPPED, message="Invocation stopped")


class Pending:
    """Where the result of one forwarded invocation goes."""

    __slots__ = ("caller", "caller_invocation_id", "executor", "function_id", "future", "span")

    def __init__(
        self,
        function_id: str,
        executor: Peer,
        caller: Peer | None = None,
        caller_invocation_id: str | None = None,
        future: asyncio.Future[tuple[Raw | UnsetType, ErrorBody | None]] | None = None,
        span: Span | None = None,
    ) -> None:
        self.function_id = function_id
        self.executor = executor
        self.caller = caller
        self.caller_invocation_id = caller_invocation_id
        self.future = future
        self.span = span
        """The router's ``call`` span while tracing is on (ended with the result)."""


def caller_parts(data: Raw | UnsetType, worker_id: str) -> tuple[Chunk, ...]:
    """The payload with ``"_caller_worker_id"`` added, as chunks to write (no copy of the data).

    A missing payload becomes ``null``; non-object payloads pass through. A payload that already
    carries the key (a caller cannot speak for another worker) is decoded and rewritten. The key
    goes last, so even a parser that kept the first duplicate could not be fooled.
    """
    if data is UNSET:
        return (b"null",)
    view = memoryview(data)
    size = len(view)
    if size < 2 or view[0] != 0x7B or view[size - 1] != 0x7D:
        return (view,)
    tail = b'"_caller_worker_id":"' + worker_id.encode() + b'"}'
    if _CALLER_KEY.search(view):
        obj = from_raw(data)
        if isinstance(obj, dict):
            obj[CALLER_KEY] = worker_id
            return (bytes(to_raw(obj)),)
    if size < 64 and _EMPTY_OBJECT.fullmatch(view):
        return (b"{", tail)
    return (view[:-1], b",", tail)


def inject_caller(data: Raw | UnsetType, worker_id: str) -> Raw:
    """:func:`caller_parts` joined into one Raw value."""
    parts = caller_parts(data, worker_id)
    if len(parts) == 1 and isinstance(parts[0], memoryview):
        return data if isinstance(data, Raw) else NULL
    return Raw(b"".join(parts))


def not_found_message(registry: FunctionRegistry, function_id: str, namespace: str) -> str:
    """Upstream's ``function_not_found`` message, naming namespaces that do hold the id."""
    message = f"Function {function_id} not found in namespace {namespace}."
    elsewhere = registry.namespaces_of(function_id)
    if elsewhere:
        message += f" It is registered in namespace(s): {', '.join(elsewhere)}."
    return message
