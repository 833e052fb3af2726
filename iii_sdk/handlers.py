"""Adapting user handlers to one calling convention.

A function handler may be sync or async and may take ``(payload)`` or ``(payload, metadata)``
(any parameter named ``metadata`` receives the invocation's metadata sidecar). :func:`adapt`
turns any of these into ``async (payload, metadata) -> result``. Sync handlers run in a worker
thread so they never block the event loop.

An *immediate* handler (:func:`immediate`) is a different convention, for in-process functions
of plugins that never wait: ``fn(payload_json) -> result``, called by the engine straight from
the connection that carried the call.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from msgspec import Raw

from iii_sdk.protocol import from_raw, to_raw
from iii_sdk.typed import payload_decoder

__all__ = ["AsyncHandler", "Handler", "adapt", "immediate", "is_immediate"]

Handler = Callable[..., Any]
"""A user handler: ``fn(payload)`` or ``fn(payload, metadata)``, sync or async."""

AsyncHandler = Callable[[Any, Any], Awaitable[Any]]
"""The adapted form: ``await fn(payload, metadata)``."""

F = TypeVar("F", bound=Callable[..., Any])

_IMMEDIATE = "__iii_immediate__"


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

    return call_typed


def _adapt_immediate(fn: Handler) -> AsyncHandler:
    async def call_immediate(payload: Any, metadata: Any) -> Any:
        result = fn(to_raw(payload))
        return from_raw(result) if isinstance(result, Raw) else result

    return call_immediate


def _adapt(fn: Handler, run_sync_in_thread: bool) -> AsyncHandler:
    wants_metadata = _wants_metadata(fn)
    if _is_async(fn):
        if wants_metadata:

            async def call_async_meta(payload: Any, metadata: Any) -> Any:
                return await fn(payload, metadata=metadata)

            return call_async_meta

        async def call_async(payload: Any, metadata: Any) -> Any:
            return await fn(payload)

        return call_async

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
