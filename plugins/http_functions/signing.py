"""Request authentication of HTTP functions; secrets come from the engine's environment.

The ``*_key`` fields of an ``auth`` block name environment variables of the engine's host;
they are read once, when the function is registered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Final

from iii_sdk.external import ExternalFunctionRefused
from iii_sdk.protocol import ApiKeyAuth, BearerAuth, HmacAuth, HttpAuthConfig

__all__ = ["Signer", "signature", "signer_for"]

SIGNATURE_HEADER: Final = "x-iii-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>:<base64(body)>")>``."""
    message = f"{timestamp}:{base64.b64encode(body).decode()}".encode()
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Signer:
    """Adds the auth headers of one function to a request."""

    def __init__(self, auth: HttpAuthConfig | None, value: str) -> None:
        self.auth = auth
        self.value = value

    def headers(self, timestamp: str, body: bytes) -> dict[str, str]:
        """The auth headers for a request with this timestamp and body."""
        auth = self.auth
        if isinstance(auth, HmacAuth):
            return {SIGNATURE_HEADER: signature(self.value, timestamp, body)}
        if isinstance(auth, BearerAuth):
            return {"Authorization": f"Bearer {self.value}"}
        if isinstance(auth, ApiKeyAuth):
            return {auth.header: self.value}
        return {}


def signer_for(auth: HttpAuthConfig | None, environ: Mapping[str, str] | None = None) -> Signer:
    """Resolve the auth block's environment variable; refuse when it is not set."""
    env = os.environ if environ is None else environ
    if auth is None:
        return Signer(None, "")
    if isinstance(auth, HmacAuth):
        name, code = auth.secret_key, "secret_not_found"
    elif isinstance(auth, BearerAuth):
        name, code = auth.token_key, "token_not_found"
    else:
        name, code = auth.value_key, "api_key_not_found"
    value = env.get(name)
    if value is None:
        raise ExternalFunctionRefused(code, f"environment variable {name!r} is not set")
    return Signer(auth, value)
