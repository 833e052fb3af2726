"""The two most common frames, assembled from bytes instead of encoded from a message.

A call that is only a function id and a payload, and a handler's successful answer, make up
nearly all of a busy worker's traffic. Building an :class:`~iii_sdk.protocol.InvokeFunction` or
:class:`~iii_sdk.protocol.InvocationResult` and encoding it costs more than joining a cached,
per-function head with the id and the value's JSON; the JSON is the same (tests compare the
two). Invocation ids are canonical UUIDs (the protocol refuses any other), so they need no
escaping; function ids are JSON-encoded once, into the head.
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = ["CALL_HEADS", "call_frame", "call_head", "result_frame"]

_HEADS_MAX: Final = 1024
"""Heads kept per kind; past this the cache starts over (function ids are few in practice)."""
_CALL_HEAD: Final = b'{"type":"invokefunction","function_id":%s,"invocation_id":"'
_RESULT_HEAD: Final = b'{"type":"invocationresult","function_id":%s,"result":'
CALL_HEADS: dict[str, bytes] = {}
"""The heads :func:`call_head` made, by function id (read directly on the hot path)."""
_result_heads: dict[str, bytes] = {}


def call_head(function_id: str) -> bytes:
    """The start of a plain ``invokefunction`` frame, up to its ``invocation_id``'s value."""
    head = CALL_HEADS.get(function_id)
    return _new_head(CALL_HEADS, _CALL_HEAD, function_id) if head is None else head


def call_frame(head: bytes, invocation_id: str, data: bytes) -> bytes:
    """A plain ``invokefunction`` frame: ``head`` (:func:`call_head`), the id, the payload JSON."""
    return b'%s%s","data":%s}' % (head, invocation_id.encode(), data)


def result_frame(invocation_id: str, function_id: str, result: bytes) -> bytes:
    """An ``invocationresult`` frame carrying ``result`` (JSON) for ``invocation_id``."""
    head = _result_heads.get(function_id)
    if head is None:
        head = _new_head(_result_heads, _RESULT_HEAD, function_id)
    return b'%s%s,"invocation_id":"%s"}' % (head, result, invocation_id.encode())


def _new_head(cache: dict[str, bytes], template: bytes, function_id: str) -> bytes:
    """Make and keep the head of ``function_id`` (a miss: the hit stays inline above)."""
    if len(cache) >= _HEADS_MAX:
        cache.clear()
    head = cache[function_id] = template % msgspec.json.encode(function_id)
    return head
