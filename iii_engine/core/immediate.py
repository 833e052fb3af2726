"""Immediate in-process functions (:func:`iii_sdk.handlers.immediate`): run on the spot.

A worker's call of such a function is answered from the connection's read loop, with no task,
coroutine or context copy: the handler gets the payload's JSON as received and the answer is
assembled from bytes. Everything a caller can observe is what the task path
(:mod:`iii_engine.core.local`) gives: the result or error body, the call span, void calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from msgspec import UNSET, Raw, UnsetType

from iii_engine.core.registry import FunctionEntry
from iii_sdk.errors import error_body
from iii_sdk.observer import CURRENT, Span
from iii_sdk.protocol import NULL, ErrorBody, InvocationResult, InvokeFunction, encode, to_raw

__all__ = ["answer_frame", "call_immediate", "failure"]

log = logging.getLogger("iii.router")

_RESULT_HEAD = b'{"type":"invocationresult","invocation_id":"'


def call_immediate(
    handler: Callable[[Raw], Any],
    entry: FunctionEntry,
    reply_id: str | None,
    msg: InvokeFunction,
    span: Span | None,
) -> bytes | None:
    """Run an immediate handler (:func:`iii_sdk.handlers.immediate`); the frame to answer with.

    The same outcome as a run on a task (:mod:`iii_engine.core.local`): the call span is
    current while the handler runs and ends before the answer is written, a void call answers
    nothing, and a failure (the result's encoding included) becomes the error body.
    """
    data = msg.data
    result: Raw | UnsetType = UNSET
    error: ErrorBody | None = None
    token = None if span is None else CURRENT.set(span)
    try:
        value = handler(NULL if data is UNSET else data)
        if span is not None:
            span.end()
        if reply_id is None:
            return None
        if value is not None:
            result = value if type(value) is Raw else to_raw(value)
    except Exception as exc:
        error = failure(entry, reply_id, span, exc)
        if error is None:
            return None
    finally:
        if token is not None:
            CURRENT.reset(token)
    assert reply_id is not None  # a void call returned above
    return answer_frame(entry, reply_id, result, error)


def failure(
    entry: FunctionEntry, reply_id: str | None, span: Span | None, exc: Exception
) -> ErrorBody | None:
    """A call of in-process ``entry`` raised ``exc``: end ``span`` with its error body and
    return the body to answer with, or ``None`` (logged) when the call was void."""
    error = error_body(exc)
    if span is not None:
        span.end(error.code, error.message)
    if reply_id is None:
        log.debug("void call of %s failed: %s", entry.function_id, exc)
        return None
    return error


def answer_frame(
    entry: FunctionEntry, reply_id: str, result: Raw | UnsetType, error: ErrorBody | None
) -> bytes:
    """The ``invocationresult`` answering a call of ``entry`` (in-process functions)."""
    if error is None and result is not UNSET:
        # What encode(InvocationResult(...)) writes, from bytes cached on the entry (the id
        # was validated as a UUID when the frame was decoded, so it needs no escaping).
        return b"".join((_RESULT_HEAD, reply_id.encode(), entry.result_middle(), result, b"}"))
    return encode(
        InvocationResult(
            invocation_id=reply_id, function_id=entry.function_id, result=result, error=error
        )
    )
