"""One HTTP function: the request it sends and how its response becomes a result.

Headers: ``Content-Type: application/json``, ``x-iii-Function-Path``, ``x-iii-Invocation-ID``,
``x-iii-Timestamp`` (unix seconds), ``x-iii-Trace-ID`` (the call's W3C trace id, when the call
is traced), the function's own headers, then its auth. Responses: 2xx
with an empty body is no result, with JSON that value, anything else ``invalid_response``;
1xx/3xx the JSON value if any; >= 400 the body's ``{"error": {"code", "message"}}`` or
``http_error``. Transport failures are ``http_request_failed``, an unreadable response
``http_response_failed``.
"""

from __future__ import annotations

import time
from typing import Any, Final

import aiohttp
import msgspec
from yarl import URL

from iii_sdk.errors import InvocationError
from iii_sdk.observer import CURRENT, parse_traceparent
from iii_sdk.protocol import HttpInvocationRef, new_id
from plugins.http_functions.signing import Signer

__all__ = ["HttpFunction"]

HTTP_REQUEST_FAILED: Final = "http_request_failed"
HTTP_RESPONSE_FAILED: Final = "http_response_failed"
INVALID_RESPONSE: Final = "invalid_response"
HTTP_ERROR: Final = "http_error"


class HttpFunction:
    """Calls ``url`` for every invocation of ``function_id`` through the shared session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        function_id: str,
        url: URL,
        ref: HttpInvocationRef,
        signer: Signer,
        default_timeout_ms: int,
    ) -> None:
        self.session = session
        self.function_id = function_id
        self.url = url
        self.method = ref.method
        self.extra_headers = dict(ref.headers or {})
        self.signer = signer
        timeout_ms = ref.timeout_ms if ref.timeout_ms is not None else default_timeout_ms
        self.timeout_ms = timeout_ms
        self.timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)

    async def __call__(self, payload: Any, metadata: Any) -> Any:
        """Send the request and map the response (the engine's handler convention)."""
        body = msgspec.json.encode(payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "x-iii-Function-Path": self.function_id,
            "x-iii-Invocation-ID": new_id(),
            "x-iii-Timestamp": timestamp,
        }
        span = CURRENT.get()
        if span is not None and (parsed := parse_traceparent(span.traceparent)) is not None:
            headers["x-iii-Trace-ID"] = parsed[0]
        headers.update(self.extra_headers)
        headers.update(self.signer.headers(timestamp, body))
        try:
            async with self.session.request(
                self.method,
                self.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=self.timeout,
            ) as response:
                try:
                    content = await response.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise InvocationError(
                        HTTP_RESPONSE_FAILED, f"cannot read the response: {exc}"
                    ) from exc
                return _result(response.status, response.reason, content)
        except TimeoutError as exc:
            raise InvocationError(
                HTTP_REQUEST_FAILED, f"no response within {self.timeout_ms} ms"
            ) from exc
        except aiohttp.ClientError as exc:
            raise InvocationError(HTTP_REQUEST_FAILED, f"request failed: {exc}") from exc
        except RuntimeError as exc:  # the shared session was closed: the worker stopped
            raise InvocationError(HTTP_REQUEST_FAILED, "iii-http-functions is not running") from exc


def _result(status: int, reason: str | None, content: bytes) -> Any:
    if 200 <= status < 300:
        if not content.strip():
            return None
        try:
            return msgspec.json.decode(content)
        except msgspec.DecodeError as exc:
            raise InvocationError(INVALID_RESPONSE, f"the response is not JSON: {exc}") from exc
    if status < 400:
        try:
            return msgspec.json.decode(content) if content.strip() else None
        except msgspec.DecodeError:
            return None
    try:
        body = msgspec.json.decode(content) if content.strip() else None
    except msgspec.DecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        raise InvocationError(error["code"], str(error.get("message", "")))
    raise InvocationError(HTTP_ERROR, f"HTTP {status} {reason or ''}".rstrip())
