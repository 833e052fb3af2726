"""Handler results and server errors as HTTP responses."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import msgspec
from aiohttp import web
from multidict import CIMultiDict

from iii_sdk.errors import InvocationError

__all__ = [
    "condition_not_met",
    "error_response",
    "internal_error",
    "invocation_failed",
    "method_not_allowed",
    "middleware_response",
    "middleware_timeout",
    "new_error_id",
    "not_found",
    "parse_headers",
    "render_result",
    "request_timeout",
    "valid_header",
]

log = logging.getLogger("iii.http")

_json_encode = msgspec.json.Encoder().encode
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_JSON = "application/json"


def _status(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
        return value
    return 200


def valid_header(name: str, value: str) -> bool:
    """Whether ``name: value`` can be sent (a token name; no CR, LF or NUL in the value)."""
    return (
        bool(_TOKEN.match(name)) and "\r" not in value and "\n" not in value and "\0" not in value
    )


def parse_headers(value: Any) -> CIMultiDict[str]:
    """Headers from a map (non-string values dropped) or ``["Name: value", …]``."""
    headers: CIMultiDict[str] = CIMultiDict()
    if isinstance(value, dict):
        for name, val in value.items():
            if isinstance(val, str) and valid_header(name, val):
                headers.add(name, val)
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                continue
            name, sep, val = item.partition(":")
            name, val = name.strip(), val.strip()
            if sep and valid_header(name, val):
                headers.add(name, val)
    return headers


def render_result(result: Any) -> web.Response:
    """Mode A: a handler's non-null return value as a response.

    ``statusCode`` is accepted for ``status_code``: the official Python SDK serialises its
    ``HttpResponse`` model by alias.

    A string body is sent verbatim only when the handler set a Content-Type; otherwise the body
    is compact JSON served as ``application/json``.
    """
    if not isinstance(result, dict):
        return web.Response(body=b"{}", content_type=_JSON)
    status = _status(result.get("status_code", result.get("statusCode")))
    body = result.get("body", {})
    if result.get("headers") is None:
        return web.Response(status=status, body=_json_encode(body), content_type=_JSON)
    headers = parse_headers(result["headers"])
    if "Content-Type" not in headers:
        headers["Content-Type"] = _JSON
        return web.Response(status=status, headers=headers, body=_json_encode(body))
    if isinstance(body, str):
        data = body.encode("utf-8")
    elif body is None:
        data = b""
    else:
        data = _json_encode(body)
    return web.Response(status=status, headers=headers, body=data)


def middleware_response(response: Any) -> web.Response:
    """A middleware's ``respond`` action: body always JSON, status defaults to 200."""
    if not isinstance(response, dict):
        response = {}
    headers = (
        parse_headers(response.get("headers"))
        if isinstance(response.get("headers"), dict)
        else CIMultiDict()
    )
    headers.setdefault("Content-Type", _JSON)
    return web.Response(
        status=_status(response.get("status_code", response.get("statusCode"))),
        headers=headers,
        body=_json_encode(response.get("body")),
    )


def new_error_id() -> str:
    """The ``error_id`` of a 5xx envelope (the engine logs it with the failure)."""
    return format(time.time_ns() & 0xFFFF_FFFF_FFFF, "x")


def _envelope(
    status: int,
    code: str,
    message: str,
    *,
    error_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if status >= 500:
        error["error_id"] = error_id or new_error_id()
    return web.Response(
        status=status,
        body=_json_encode({"error": error, **extra}),
        content_type=_JSON,
        headers=headers,
    )


def not_found() -> web.Response:
    """No route serves the request path."""
    return _envelope(404, "NOT_FOUND", "Not Found")


def method_not_allowed(allowed: list[str]) -> web.Response:
    """A route exists for the path, but not for this method: 405 with the 404's JSON envelope
    (upstream answers an empty body) and an ``Allow`` header."""
    methods = ", ".join(sorted(allowed))
    return _envelope(
        405,
        "METHOD_NOT_ALLOWED",
        f"Method Not Allowed (allowed: {methods})",
        headers={"Allow": methods},
    )


def error_response(code: str, message: str, error_id: str | None = None) -> web.Response:
    """A failed invocation (handler, condition or middleware): 500 with an ``error_id``."""
    return _envelope(500, code, message, error_id=error_id)


def internal_error(error_id: str | None = None) -> web.Response:
    """An unexpected failure inside the server."""
    return _envelope(500, "INTERNAL_ERROR", "internal server error", error_id=error_id)


def condition_not_met() -> web.Response:
    """The route's condition function returned ``false``."""
    return _envelope(422, "CONDITION_NOT_MET", "Request condition not met", skipped=True)


def middleware_timeout() -> web.Response:
    """A middleware did not answer within ``default_timeout``."""
    return web.Response(
        status=504,
        body=_json_encode(
            {"error": {"code": "MIDDLEWARE_TIMEOUT", "message": "Middleware timeout"}}
        ),
        content_type=_JSON,
    )


def request_timeout() -> web.Response:
    """The whole request exceeded ``default_timeout``: 504 with an empty body."""
    return web.Response(status=504)


def invocation_failed(
    request: web.BaseRequest, function_id: str, exc: InvocationError
) -> web.Response:
    """A 500 for a failed invocation, logged with the ``error_id`` the client receives."""
    error_id = new_error_id()
    log.error(
        "%s %s: %s failed (error_id %s, invocation %s): %s: %s",
        request.method,
        request.path,
        function_id,
        error_id,
        exc.invocation_id or "-",
        exc.code,
        exc.message,
    )
    return error_response(exc.code, exc.message, error_id)
