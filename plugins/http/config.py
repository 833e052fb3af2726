"""The ``iii-http`` worker's ``config:`` block and the ``http`` trigger's config."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["CorsConfig", "HttpConfig", "HttpTriggerConfig", "MiddlewareConfig"]


class CorsConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Allowed origins and methods; an empty list (or ``"*"`` in origins) allows any."""

    allowed_origins: list[str] = msgspec.field(default_factory=list)
    allowed_methods: list[str] = msgspec.field(default_factory=list)


class MiddlewareConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A global middleware function; only the ``preHandler`` phase runs."""

    function_id: str
    phase: str = "preHandler"
    priority: int = 0


class HttpConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Config of the ``iii-http`` worker (docs/configuration.md); ``port: 0`` is ephemeral."""

    port: int = 3111
    host: str = "0.0.0.0"
    default_timeout: int = 30000
    """Whole-request timeout in milliseconds (504), also the per-middleware timeout; 0 disables."""
    concurrency_request_limit: int = 1024
    cors: CorsConfig | None = None
    middleware: list[MiddlewareConfig] = msgspec.field(default_factory=list)
    access_log: bool = True
    """One INFO line per request on logger ``iii.http.access``: method, path, status,
    duration, function (not an upstream key)."""
    header_timeout_ms: int = 10000
    """A connection must send a complete request head within this time (0: no limit)."""
    max_pending_connections: int = 1024
    """Connections allowed to be waiting for their request head at once (0: no cap)."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        if self.default_timeout < 0:
            raise ValueError("default_timeout must be >= 0")
        if self.header_timeout_ms < 0 or self.max_pending_connections < 0:
            raise ValueError("header_timeout_ms and max_pending_connections must be >= 0")
        if self.concurrency_request_limit < 0:
            raise ValueError("concurrency_request_limit must be >= 0")


class HttpTriggerConfig(msgspec.Struct, kw_only=True):
    """Config of one ``http`` trigger binding; unknown keys (``description`` …) are ignored."""

    api_path: str | None = None
    http_method: str = "GET"
    condition_function_id: str | None = None
    middleware_function_ids: list[str] = msgspec.field(default_factory=list)


def decode_trigger_config(config: Any) -> HttpTriggerConfig:
    """Decode a binding's config; raise ``ValueError`` with upstream's messages."""
    try:
        cfg = msgspec.convert({} if config is None else config, HttpTriggerConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"Failed to parse trigger config: {exc}") from exc
    if not cfg.api_path:
        raise ValueError("api_path is required for http triggers")
    return cfg
