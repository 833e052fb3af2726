"""Adapting user handlers to one calling convention.

A function handler may be sync or async and may take ``(payload)`` or ``(payload, metadata)``
(any parameter named ``metadata`` receives the invocation's metadata sidecar). :func:`adapt`
turns any of these into ``async (payload, metadata) -> result``. Sync handlers run in a worker
thread so they never block the event loop.

An *immediate* handler (:func:`immediate`) is a different convention, for in-process functions
of plugins that never wait: ``fn(payload_json) -> result``, called by the engine straight from
the connection that carried the call.

An ``async def`` handler whose own code has no point where it could wait (no ``await``,
``async with`` or ``async for``), such as ``async def add(p): return p["a"] + p["b"]``, cannot
suspend: its adapted form is marked (:func:`never_suspends`) and a worker runs it to completion
on the spot instead of in a task of its own.
"""

from __future__ import annotations

import asyncio
import dis
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from msgspec import Raw

from iii_sdk.protocol import from_raw, to_raw
from iii_sdk.typed import payload_decoder

__all__ = ["AsyncHandler", "Handler", "adapt", "immediate", "is_immediate", "never_suspends"]

Handler = Callable[..., Any]
"""A user handler: ``fn(payload)`` or ``fn(payload, metadata)``, sync or async."""

AsyncHandler = Callable[[Any, Any], Awaitable[Any]]
"""The adapted form: ``await fn(payload, metadata)``."""

F = TypeVar("F", bound=Callable[..., Any])

_IMMEDIATE = "__iii_immediate__"
_NEVER_SUSPENDS = "__iii_never_suspends__"
_WAIT_POINTS = frozenset(
    dis.opmap[name]
    for name in (
        "GET_AWAITABLE",
        "GET_AITER",
        "GET_ANEXT",
        "BEFORE_ASYNC_WITH",
        "SEND",
        "YIELD_VALUE",
        "ASYNC_GEN_WRAP",
    )
    if name in dis.opmap
)
"""Opcodes of the points where a coroutine's own code can give up control (any version)."""


def immediate(handler: F) -> F:
    """Mark a synchronous handler that never waits and reads its payload as JSON bytes.

    Such a handler is called as ``handler(payload)`` with the payload as a :class:`msgspec.Raw`
    holding the JSON the caller sent (``null`` when it sent none), and returns a JSON-encodable
    value or a :class:`msgspec.Raw` that is sent as it is. It gets no metadata and is not told
    its caller (no ``_caller_worker_id``). In exchange the engine runs it on the spot when a
    worker's call arrives: no task, no coroutine, no context copy, and the payload is never
    turned into Python objects unless the handler decodes it (ideally straight into a msgspec
    Struct). A handler that may have to wait for anything (I/O, a lock, a commit) must not be
    immediate: it would block the engine. Other callers (in-process invocations, a remote
    context) go through :func:`adapt`, which encodes the payload and decodes a Raw result, so
    they see the usual Python values.
    """
    setattr(handler, _IMMEDIATE, True)
    return handler


def is_immediate(handler: Any) -> bool:
    """True when :func:`immediate` marked ``handler`` (bound methods included)."""
    return getattr(handler, _IMMEDIATE, False) is True


def never_suspends(handler: Any) -> bool:
    """True when :func:`adapt` made ``handler`` from an ``async def`` that cannot suspend.

    Calling such a handler gives a coroutine that finishes at its first ``send(None)``.
    """
    return getattr(handler, _NEVER_SUSPENDS, False) is True


def _cannot_suspend(fn: Handler) -> bool:
    """Whether ``fn`` is a plain ``async def`` (or a method of one) whose code has no wait point.

    Only the function's own code counts: what it calls synchronously cannot suspend it, and a
    coroutine it creates runs only where it is awaited (which is a wait point). Partials,
    callable objects and wrapped functions are not inspected (the code that runs is another).
    """
    target = fn.__func__ if inspect.ismethod(fn) else fn
    if not inspect.isfunction(target) or not inspect.iscoroutinefunction(target):
        return False
    return not any(op.opcode in _WAIT_POINTS for op in dis.get_instructions(target.__code__))


def _mark_never_suspends(handler: AsyncHandler) -> AsyncHandler:
    setattr(handler, _NEVER_SUSPENDS, True)
    return handler


def _wants_metadata(fn: Handler) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "metadata" in params


def _is_async(fn: Handler) -> bool:
    target = fn.func if isinstance(fn, functools.partial) else fn
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - async callable objects
    )


def adapt(fn: Handler, *, run_sync_in_thread: bool = True) -> AsyncHandler:
    """Return ``async (payload, metadata) -> result`` calling ``fn`` the way it was declared.

    With ``run_sync_in_thread=False`` a sync handler runs inline on the loop (for handlers known
    to be quick, such as the engine's own built-ins). A payload parameter annotated with a
    msgspec Struct, dataclass or TypedDict gets the payload decoded into it first
    (:mod:`iii_sdk.typed`; bad input answers ``invalid_payload``).
    """
    if is_immediate(fn):
        return _adapt_immediate(fn)
    adapted = _adapt(fn, run_sync_in_thread)
    decode = payload_decoder(fn)
    if decode is None:
        return adapted

    async def call_typed(payload: Any, metadata: Any) -> Any:
        return await adapted(decode(payload), metadata)

    return _mark_never_suspends(call_typed) if never_suspends(adapted) else call_typed


def _adapt_immediate(fn: Handler) -> AsyncHandler:
    async def call_immediate(payload: Any, metadata: Any) -> Any:
        result = fn(to_raw(payload))
        return from_raw(result) if isinstance(result, Raw) else result

    return _mark_never_suspends(call_immediate)


def _adapt(fn: Handler, run_sync_in_thread: bool) -> AsyncHandler:
    wants_metadata = _wants_metadata(fn)
    if _is_async(fn):
        adapted: AsyncHandler
        if wants_metadata:

            async def call_async_meta(payload: Any, metadata: Any) -> Any:
                return await fn(payload, metadata=metadata)

            adapted = call_async_meta
        else:

            async def call_async(payload: Any, metadata: Any) -> Any:
                return await fn(payload)

            adapted = call_async
        return _mark_never_suspends(adapted) if _cannot_suspend(fn) else adapted

    def call_sync(payload: Any, metadata: Any) -> Any:
        if wants_metadata:
            return fn(payload, metadata=metadata)
        return fn(payload)

    if not run_sync_in_thread:

        async def call_inline(payload: Any, metadata: Any) -> Any:
            result = call_sync(payload, metadata)
            if inspect.isawaitable(result):
                return await result
            return result

        return call_inline

    async def call_in_thread(payload: Any, metadata: Any) -> Any:
        result = await asyncio.to_thread(call_sync, payload, metadata)
        if inspect.isawaitable(result):
            return await result
        return result

    return call_in_thread
