"""Lean frame helpers shared by the floors, the raw workers and the raw load client.

Only the envelope is decoded; ``data`` stays a :class:`msgspec.Raw` slice of the received bytes so
the floors forward or echo it without re-encoding (the lesson of docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
from typing import Final

import msgspec


class ErrorEnvelope(msgspec.Struct):
    """The ``error`` of an ``invocationresult``; only the code matters to the bench."""

    code: str = ""
    message: str = ""


class Envelope(msgspec.Struct):
    """The routing fields of any frame; everything else is skipped by the decoder."""

    type: str = ""
    id: str | None = None
    invocation_id: str | None = None
    function_id: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")
    result: msgspec.Raw = msgspec.Raw(b"null")
    error: ErrorEnvelope | None = None


decode_envelope = msgspec.json.Decoder(Envelope).decode

PING: Final = b'{"type":"ping"}'
PONG: Final = b'{"type":"pong"}'
_ID_PREFIX: Final = "00000000-0000-4000-8000-"
_ids = itertools.count(1)


def next_id() -> str:
    """Return a fresh canonical UUID string (version 4 layout) from a counter: cheap and unique."""
    return f"{_ID_PREFIX}{next(_ids):012x}"


def invoke_head(function_id: str, data: bytes) -> bytes:
    """Return an ``invokefunction`` frame up to its ``invocation_id`` value (see :func:`invoke`)."""
    fid = msgspec.json.encode(function_id)
    return b'{"type":"invokefunction","function_id":%s,"data":%s,"invocation_id":"' % (fid, data)


def invoke(head: bytes, invocation_id: str) -> bytes:
    """Complete a frame started by :func:`invoke_head`."""
    return head + invocation_id.encode() + b'"}'


def result_frame(invocation_id: str, function_id: str, result: bytes) -> bytes:
    """Return an ``invocationresult`` frame carrying pre-encoded ``result`` bytes."""
    return b'{"type":"invocationresult","invocation_id":"%s","function_id":%s,"result":%s}' % (
        invocation_id.encode(),
        msgspec.json.encode(function_id),
        result,
    )


def error_frame(invocation_id: str, function_id: str, code: str, message: str) -> bytes:
    """Return an ``invocationresult`` frame carrying an error body."""
    return msgspec.json.encode(
        {
            "type": "invocationresult",
            "invocation_id": invocation_id,
            "function_id": function_id,
            "error": {"code": code, "message": message},
        }
    )


def register_function(function_id: str) -> bytes:
    """Return a minimal ``registerfunction`` frame."""
    return msgspec.json.encode({"type": "registerfunction", "id": function_id})


def register_http_trigger(trigger_id: str, function_id: str, path: str) -> bytes:
    """Return a ``registertrigger`` frame binding ``POST path`` to ``function_id``."""
    return msgspec.json.encode(
        {
            "type": "registertrigger",
            "id": trigger_id,
            "trigger_type": "http",
            "function_id": function_id,
            "config": {"api_path": path, "http_method": "POST"},
        }
    )


def worker_register(name: str, pid: int) -> bytes:
    """Return the void ``engine::workers::register`` call every SDK sends after connecting.

    The bench's raw clients read messages of any size, so they declare ``large-messages.v1``
    (without it the engine caps what it sends a Python worker at 1 MiB, as for iii-sdk 0.23).
    """
    data = msgspec.json.encode(
        {"runtime": "python", "name": name, "pid": pid, "features": ["large-messages.v1"]}
    )
    return (
        b'{"type":"invokefunction","function_id":"engine::workers::register","data":%s,' % (data)
        + b'"action":{"type":"void"}}'
    )
