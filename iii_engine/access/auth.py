"""Authentication at connect (protocol.md section 8.2): the auth call and its result.

The auth function gets the upgrade request's headers (lowercased names), its query parameters
(split on ``&`` and the first ``=``, not percent-decoded, a key without value maps to ``[""]``)
and the peer's IP address. Its result is an :class:`AuthResult`; an error, no result or a
result of the wrong shape refuses the connection with ``AUTH_ERROR``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from iii_sdk.errors import InvocationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

__all__ = ["AUTH_ERROR", "AuthFailed", "AuthResult", "auth_input", "authenticate", "parse_query"]

AUTH_ERROR: Final = "AUTH_ERROR"


class AuthResult(msgspec.Struct, kw_only=True):
    """What an auth function returns; every field is optional."""

    namespaces: dict[str, list[str]] = msgspec.field(default_factory=dict)
    allowed_functions: list[str] = msgspec.field(default_factory=list)
    forbidden_functions: list[str] = msgspec.field(default_factory=list)
    allowed_trigger_types: list[str] | None = None
    allow_trigger_type_registration: bool = False
    allow_function_registration: bool = True
    context: Any = msgspec.field(default_factory=dict)
    function_registration_prefix: str | None = None


UNAUTHENTICATED: Final = AuthResult(allow_trigger_type_registration=True)
"""The session of a listener without an auth function."""


class AuthFailed(Exception):
    """The connection is refused; ``message`` goes into the ``AUTH_ERROR`` frame."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_query(raw: str) -> dict[str, list[str]]:
    """Upstream's query split: ``&``, then the first ``=``; no decoding; empty pairs skipped."""
    params: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        params.setdefault(key, []).append(value)
    return params


def auth_input(
    headers: Iterable[tuple[bytes, bytes]], raw_query: str, ip_address: str | None
) -> dict[str, Any]:
    """The auth function's payload; header values that are not UTF-8 are dropped."""
    names: dict[str, str] = {}
    for name, value in headers:
        try:
            names[name.decode("latin-1").lower()] = value.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return {
        "headers": names,
        "query_params": parse_query(raw_query),
        "ip_address": ip_address or "",
    }


async def authenticate(
    invoke: Callable[[str, Any], Awaitable[Any]], function_id: str, payload: dict[str, Any]
) -> AuthResult:
    """Call the auth function; raise :class:`AuthFailed` with the message to send."""
    try:
        result = await invoke(function_id, payload)
    except InvocationError as exc:
        raise AuthFailed(exc.message) from exc
    if result is None:
        raise AuthFailed("auth function returned no result")
    try:
        return msgspec.convert(result, AuthResult)
    except msgspec.ValidationError as exc:
        raise AuthFailed(f"invalid auth result: {exc}") from exc
