"""Adapting user handlers to one calling convention.

A function handler may be sync or async and may take ``(payload)`` or ``(payload, metadata)``
(any parameter named ``metadata`` receives the invocation's metadata sidecar). :func:`adapt`
turns any of these into ``async (payload, metadata) -> result``. Sync handlers run in a worker
thread so they never block the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from iii_sdk.typed import payload_decoder

__all__ = ["AsyncHandler", "Handler", "adapt"]

Handler = Callable[..., Any]
"""A user handler: ``fn(payload)`` or ``fn(payload, metadata)``, sync or async."""

AsyncHandler = Callable[[Any, Any], Awaitable[Any]]
"""The adapted form: ``await fn(payload, metadata)``."""


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
    adapted = _adapt(fn, run_sync_in_thread)
    decode = payload_decoder(fn)
    if decode is None:
        return adapted

    async def call_typed(payload: Any, metadata: Any) -> Any:
        return await adapted(decode(payload), metadata)

    return call_typed


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
