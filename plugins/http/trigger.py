"""The ``http`` trigger type: each binding is a route served by the HTTP server."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from iii_sdk.plugin import Trigger, TriggerType
from plugins.http.config import decode_trigger_config
from plugins.http.routes import ROUTABLE_METHODS, RouteTable

__all__ = ["HttpTriggerType", "Route"]

log = logging.getLogger("iii.http")

_TRIGGER_REQUEST_FORMAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "api_path": {"type": "string", "description": "route path; `:name` segments are params"},
        "http_method": {
            "type": "string",
            "enum": sorted(ROUTABLE_METHODS),
            "default": "GET",
        },
        "condition_function_id": {"type": "string"},
        "middleware_function_ids": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["api_path"],
}

_CALL_REQUEST_FORMAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query_params": {"type": "object", "additionalProperties": {"type": "string"}},
        "path_params": {"type": "object", "additionalProperties": {"type": "string"}},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "path": {"type": "string"},
        "method": {"type": "string"},
        "body": {},
        "trigger": {"type": "object"},
        "request_body": {"type": "object"},
        "response": {"type": "object"},
    },
}

_CALL_RESPONSE_FORMAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status_code": {"type": "integer"},
        "headers": {
            "oneOf": [
                {"type": "object", "additionalProperties": {"type": "string"}},
                {"type": "array", "items": {"type": "string"}},
            ]
        },
        "body": {},
    },
}


@dataclass(frozen=True, slots=True)
class Route:
    """What a route serves: the trigger plus its decoded config."""

    trigger: Trigger
    path: str
    method: str
    condition_function_id: str | None
    middleware_function_ids: tuple[str, ...]
    trigger_info: dict[str, str]
    """The payload's ``trigger`` field: ``{"type": "http", "path": …, "method": …}``."""
    gated: bool = False
    """Whether a condition or route middleware runs before the handler (decided once here,
    so a plain route skips those steps without looking at each)."""


class HttpTriggerType(TriggerType):
    """Provider of the ``http`` trigger type, backed by a :class:`RouteTable`."""

    id = "http"
    description = "HTTP routes: each trigger serves `http_method api_path` on the iii-http port"
    trigger_request_format = _TRIGGER_REQUEST_FORMAT
    call_request_format = _CALL_REQUEST_FORMAT
    call_response_format = _CALL_RESPONSE_FORMAT

    def __init__(self, routes: RouteTable) -> None:
        self.routes = routes
        self._unroutable: dict[str, Trigger] = {}

    async def register_trigger(self, trigger: Trigger) -> None:
        """Add (or replace) the trigger's route; raise on a bad config or a route conflict."""
        cfg = decode_trigger_config(trigger.config)
        path = cfg.api_path or ""
        method = cfg.http_method.upper()
        if method not in ROUTABLE_METHODS:
            log.warning("iii-http: method %s of trigger %s is never routed", method, trigger.id)
            self._unroutable[trigger.id] = trigger
            return
        binding = Route(
            trigger=trigger,
            path=path,
            method=method,
            condition_function_id=cfg.condition_function_id,
            middleware_function_ids=tuple(cfg.middleware_function_ids),
            trigger_info={"type": "http", "path": path, "method": method},
            gated=bool(cfg.condition_function_id or cfg.middleware_function_ids),
        )
        self.routes.add(method, path, trigger.id, binding)

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Remove the trigger's route unless a newer trigger has replaced it."""
        if self._unroutable.pop(trigger.id, None) is not None:
            return
        try:
            cfg = decode_trigger_config(trigger.config)
        except ValueError:
            return
        self.routes.remove(cfg.http_method.upper(), cfg.api_path or "", trigger.id)
