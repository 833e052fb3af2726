"""The router's paths while an observer traces (see :mod:`iii_sdk.observer`).

Kept apart from :mod:`iii_engine.core.router` so the untraced paths there stay exactly as they
were: the router checks ``self.observer`` once and comes here only when it is set.
Every routed invocation gets a ``call <function_id>`` span whose parent is the caller's
``traceparent`` (a worker's frame) or :data:`~iii_sdk.observer.CURRENT` (an in-process caller);
the executor receives that span's ``traceparent`` and the caller's ``baggage``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.core.invocation import not_found_message
from iii_engine.core.registry import FunctionEntry, FunctionRegistry
from iii_sdk import errors
from iii_sdk.errors import InvocationError, error_body
from iii_sdk.observer import CURRENT, Observer, Span
from iii_sdk.protocol import InvokeFunction, encode, from_raw, is_null, new_id, to_raw

InvokeRemote = Callable[..., Awaitable[Raw | UnsetType]]
""":meth:`Router.invoke_remote <iii_engine.core.router.Router.invoke_remote>`."""
Spawn = Callable[[Coroutine[Any, Any, None]], None]
"""Runs a coroutine on a task the router owns."""

__all__ = ["invoke", "invoke_parts", "invoke_void"]

log = logging.getLogger("iii.router")

_HEAD = '{"type":"invokefunction",'


def invoke_parts(
    entry: FunctionEntry,
    msg: InvokeFunction,
    invocation_id: str,
    parts: tuple[bytes | memoryview, ...],
    span: Span,
) -> tuple[bytes | memoryview, ...]:
    """A worker's invocation as frame chunks carrying ``span``'s traceparent (still from the
    payload's own buffer when there is no baggage or metadata to re-encode)."""
    if msg.baggage is None and is_null(msg.metadata):
        head = f'{_HEAD}"invocation_id":"{invocation_id}","traceparent":"{span.traceparent}'
        return (head.encode() + entry.frame_middle(), *parts, b"}")
    traceparent = span.traceparent
    frame = encode(
        InvokeFunction(
            invocation_id=invocation_id,
            function_id=entry.delivered_id,
            data=Raw(b"".join(parts)),
            traceparent=traceparent,
            baggage=msg.baggage,
            metadata=UNSET if is_null(msg.metadata) else msg.metadata,
        )
    )
    return (frame,)


def _start(observer: Observer, function_id: str) -> Span:
    parent = CURRENT.get()
    if parent is None:
        return observer.start_call(function_id, None, None, None)
    return observer.start_call(function_id, None, parent.baggage, None, parent)


async def invoke(
    functions: FunctionRegistry,
    invoke_remote: InvokeRemote,
    observer: Observer,
    function_id: str,
    payload: Any,
    metadata: Any,
    namespace: str,
    timeout_ms: float | None,
) -> Any:
    """:meth:`Router.invoke` under a ``call`` span."""
    entry = functions.get(namespace, function_id)
    span = _start(observer, function_id)
    if entry is None:
        message = not_found_message(functions, function_id, namespace)
        span.end(errors.FUNCTION_NOT_FOUND, message)
        raise InvocationError(errors.FUNCTION_NOT_FOUND, message, function_id=function_id)
    if entry.handler is None:
        # No code of this process runs for a remote call, so the span need not be current.
        try:
            raw = await invoke_remote(
                entry,
                to_raw(payload),
                UNSET if metadata is None else to_raw(metadata),
                timeout_ms,
                traceparent=span.traceparent,
                baggage=span.baggage,
            )
        except BaseException as exc:
            body = error_body(exc)
            span.end(body.code, body.message)
            raise
        span.end()
        return from_raw(raw)
    token = CURRENT.set(span)
    try:
        if timeout_ms is None:
            result = await entry.handler(payload, metadata)
        else:
            try:
                async with asyncio.timeout(timeout_ms / 1000):
                    result = await entry.handler(payload, metadata)
            except TimeoutError:
                raise InvocationError(errors.TIMEOUT, "Invocation timed out") from None
    except BaseException as exc:
        body = error_body(exc)
        span.end(body.code, body.message)
        raise
    finally:
        CURRENT.reset(token)
    span.end()
    return result


def invoke_void(
    functions: FunctionRegistry,
    spawn: Spawn,
    observer: Observer,
    function_id: str,
    payload: Any,
    metadata: Any,
    namespace: str,
) -> None:
    """:meth:`Router.invoke_void` under a ``call`` span (ended when the frame is queued)."""
    entry = functions.get(namespace, function_id)
    if entry is None:
        log.debug("void invocation of %s: not found in %s", function_id, namespace)
        return
    span = _start(observer, function_id)
    if entry.owner is None:
        spawn(_void_local(entry, payload, metadata, span))
        return
    entry.owner.post(
        encode(
            InvokeFunction(
                invocation_id=new_id(),
                function_id=function_id,
                data=to_raw(payload),
                metadata=UNSET if metadata is None else to_raw(metadata),
                traceparent=span.traceparent,
                baggage=span.baggage,
            )
        )
    )
    span.end()


async def _void_local(entry: FunctionEntry, payload: Any, metadata: Any, span: Span) -> None:
    assert entry.handler is not None
    CURRENT.set(span)  # this task's own context
    try:
        await entry.handler(payload, metadata)
    except Exception as exc:
        body = error_body(exc)
        span.end(body.code, body.message)
        log.debug("void invocation of %s failed: %s", entry.function_id, exc)
        return
    span.end()
