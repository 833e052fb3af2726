"""The ``config:`` block of ``iii-http-functions``."""

from __future__ import annotations

import msgspec

__all__ = ["HttpFunctionsConfig", "SecurityConfig"]


class SecurityConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where the engine may send requests. An empty allowlist means ``["*"]``."""

    url_allowlist: list[str] = msgspec.field(default_factory=lambda: ["*"])
    """Glob patterns (``*`` only) matched against the URL's host."""
    block_private_ips: bool = True
    """Refuse hosts that are, or resolve to, non-public addresses (private, loopback, ...)."""
    require_https: bool = True


class HttpFunctionsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``security`` as upstream; ``max_connections`` and ``default_timeout_ms`` are ours."""

    security: SecurityConfig = msgspec.field(default_factory=SecurityConfig)
    max_connections: int = 100
    """Open connections shared by every HTTP function (aiohttp's connector limit)."""
    default_timeout_ms: int = 30000
    """Per-call timeout when the function's ``timeout_ms`` is absent."""
