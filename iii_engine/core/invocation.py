"""The pieces of an invocation shared by the router's paths: pending records, payload
rewriting, the refusals and error bodies the engine produces, and the cleanup of a
disconnected worker's calls."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from msgspec import Raw, UnsetType

from iii_engine.core.registry import FunctionRegistry
from iii_sdk import errors
from iii_sdk.observer import Span
from iii_sdk.protocol import NULL, UNSET, ErrorBody, InvocationResult, encode, from_raw, to_raw

if TYPE_CHECKING:
    from iii_engine.core.peer import Chunk, Peer

__all__ = [
    "CALLER_KEY",
    "STOPPED",
    "Pending",
    "caller_parts",
    "inject_caller",
    "not_found_message",
    "refuse_not_found",
    "refuse_over_limit",
    "stop_pending",
]

log = logging.getLogger("iii.router")

_EMPTY_OBJECT = re.compile(rb"\{\s*\}")
CALLER_KEY = "_caller_worker_id"
_CALLER_KEY = re.compile(rb'"_caller_worker_id"')
STOPPED = ErrorBody(code=errors.INVOCATION_STOPPED, message="Invocation stopped")


class Pending:
    """Where the result of one forwarded invocation goes."""

    __slots__ = (
        "caller",
        "caller_invocation_id",
        "executor",
        "function_id",
        "future",
        "span",
        "watch",
    )

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
        self.watch: Any = None
        """Observe hook: ``finish(result)`` / ``stopped()`` (see iii_engine.observe.routed)."""


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


async def refuse_not_found(
    conn: Peer, registry: FunctionRegistry, reply_id: str | None, function_id: str, namespace: str
) -> None:
    """Answer a call of a function nobody provides (a void call gets no answer)."""
    if reply_id is not None:
        await conn.send_error(
            reply_id,
            function_id,
            errors.FUNCTION_NOT_FOUND,
            not_found_message(registry, function_id, namespace),
        )


async def refuse_over_limit(conn: Peer, reply_id: str | None, function_id: str) -> None:
    """Refuse a call past ``max_pending_invocations`` (a void call is dropped and logged)."""
    if reply_id is None:
        log.warning("worker %s: void call of %s dropped: too many pending", conn, function_id)
        return
    await conn.send_error(
        reply_id,
        function_id,
        errors.LIMIT_EXCEEDED,
        "too many pending invocations on this connection "
        f"(max_pending_invocations is {conn.max_pending})",
    )


def stop_pending(table: dict[str, Pending], conn: Peer) -> list[tuple[Peer, bytes]]:
    """Drop every record of ``table`` that ``conn`` executes or waits on (it disconnected).

    Returns the ``invocation_stopped`` frames owed to other waiting callers; the caller sends
    them (cleanup step 2 of docs/protocol.md section 2.6). Scanning the table here keeps
    per-call bookkeeping off the hot path. In-process waiters get ``invocation_stopped`` at once.
    """
    owed: list[tuple[Peer, bytes]] = []
    affected = [
        (invocation_id, pending)
        for invocation_id, pending in table.items()
        if pending.executor is conn or pending.caller is conn
    ]
    for invocation_id, pending in affected:
        del table[invocation_id]
        if pending.span is not None:
            pending.span.end(STOPPED.code, STOPPED.message)
        if pending.watch is not None:
            pending.watch.stopped()
        if pending.caller is not None:
            pending.caller.pending_count -= 1
            if pending.caller is not conn:
                frame = encode(
                    InvocationResult(
                        invocation_id=pending.caller_invocation_id or invocation_id,
                        function_id=pending.function_id,
                        error=STOPPED,
                    )
                )
                owed.append((pending.caller, frame))
        elif pending.future is not None and not pending.future.done():
            pending.future.set_result((UNSET, STOPPED))
    return owed
