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

__all__ = ["call_frame", "call_head", "result_frame"]

_HEADS_MAX: Final = 1024
"""Heads kept per kind; past this the cache starts over (function ids are few in practice)."""
_call_heads: dict[str, bytes] = {}
_result_heads: dict[str, bytes] = {}


def call_head(function_id: str) -> bytes:
    """The start of a plain ``invokefunction`` frame, up to its ``invocation_id``'s value."""
    head = _call_heads.get(function_id)
    if head is None:
        if len(_call_heads) >= _HEADS_MAX:
            _call_heads.clear()
        head = b'{"type":"invokefunction","function_id":%s,"invocation_id":"' % (
            msgspec.json.encode(function_id)
        )
        _call_heads[function_id] = head
    return head


def call_frame(head: bytes, invocation_id: str, data: bytes) -> bytes:
    """A plain ``invokefunction`` frame: ``head`` (:func:`call_head`), the id, the payload JSON."""
    return b'%s%s","data":%s}' % (head, invocation_id.encode(), data)


def result_frame(invocation_id: str, function_id: str, result: bytes) -> bytes:
    """An ``invocationresult`` frame carrying ``result`` (JSON) for ``invocation_id``."""
    head = _result_heads.get(function_id)
    if head is None:
        if len(_result_heads) >= _HEADS_MAX:
            _result_heads.clear()
        head = b'{"type":"invocationresult","function_id":%s,"result":' % (
            msgspec.json.encode(function_id)
        )
        _result_heads[function_id] = head
    return b'%s%s,"invocation_id":"%s"}' % (head, result, invocation_id.encode())
