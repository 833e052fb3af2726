"""Turning an HTTP request into the payloads handlers, conditions and middleware receive."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from plugins.http.trigger import Route

__all__ = [
    "handler_payload",
    "header_map",
    "is_json",
    "middleware_input",
    "parse_json_body",
    "query_map",
    "read_body",
]

_json_decode = msgspec.json.Decoder().decode


def _utf8_or_empty(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # aiohttp keeps undecodable bytes as surrogates; upstream sends "" for them.
        return ""
    return value


def header_map(request: web.BaseRequest) -> dict[str, str]:
    """Lower-case header names, one value each (the last one wins for repeated headers)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name.lower()] = value if value.isascii() else _utf8_or_empty(value)
    return headers


def query_map(request: web.BaseRequest) -> dict[str, str]:
    """Decoded query parameters, one string each (the last one wins for repeated keys)."""
    query = request.query
    if not query:
        return {}
    return dict(query.items())


def is_json(headers: dict[str, str]) -> bool:
    """Whether the request's Content-Type asks for a parsed JSON ``body``."""
    return "application/json" in headers.get("content-type", "")


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole request body; ``HTTPRequestEntityTooLarge`` when it exceeds ``limit`` bytes.

    A small body usually arrives with the headers: then it is taken without a coroutine.
    """
    content = request.content
    data = content.read_nowait()
    if not content.is_eof():
        chunks = [data]
        size = len(data)
        while chunk := await content.readany():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
    else:
        size = len(data)
    if size > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
    return data


def parse_json_body(raw: bytes) -> Any:
    """The parsed body, or ``None`` for an empty or invalid one."""
    if not raw:
        return None
    try:
        return _json_decode(raw)
    except msgspec.DecodeError:
        return None


def middleware_input(
    method: str, path_params: dict[str, str], query: dict[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    """What a ``preHandler`` middleware receives (no body, no path: upstream's shape)."""
    return {
        "phase": "preHandler",
        "request": {
            "path_params": path_params,
            "query_params": query,
            "headers": headers,
            "method": method,
        },
        "context": {},
    }


def handler_payload(
    request: web.BaseRequest,
    binding: Route,
    params: dict[str, str],
    query: dict[str, str],
    headers: dict[str, str],
    body: Any,
) -> dict[str, Any]:
    """What the handler (and a condition) receives; the channel refs are added later."""
    return {
        "query_params": query,
        "path_params": params,
        "headers": headers,
        "path": binding.path,
        "method": request.method,
        "body": body,
        "trigger": dict(binding.trigger_info),  # handlers in process may mutate payloads
    }
