"""Plain-text views shared by the banner and ``iii status``: bind addresses, triggers, examples.

Everything here works on plain data (config values, trigger rows as ``engine::*::list``
returns them), so the in-process banner and the over-the-wire ``iii status`` say the same.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Final

__all__ = [
    "WILDCARD_HOSTS",
    "bind_text",
    "example_body",
    "example_call",
    "route_path",
    "trigger_summary",
]

WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "", "::", "[::]"})
_SAMPLES: Final = {
    "integer": 1,
    "number": 1.5,
    "string": "text",
    "boolean": True,
    "array": [],
    "object": {},
}


def _url(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{shown}:{port}"


def local_host(host: str) -> str:
    """The host a local client uses for a listener bound to ``host``."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


def bind_text(scheme: str, host: str, port: int | None) -> str:
    """``ws://0.0.0.0:49134 (every interface; locally ws://127.0.0.1:49134)`` or the plain URL."""
    if host in WILDCARD_HOSTS:
        shown = "0.0.0.0" if host in ("", "0.0.0.0") else "::"
        return (
            f"{_url(scheme, shown, port)}  (every interface; locally "
            f"{_url(scheme, '127.0.0.1', port)})"
        )
    return _url(scheme, host, port)


def route_path(config: Any) -> str:
    """An ``http`` trigger's path with a leading slash."""
    path = str(config.get("api_path") or "") if isinstance(config, dict) else ""
    return path if path.startswith("/") else f"/{path}"


def trigger_summary(trigger_type: str, config: Any) -> str:
    """A one-line summary of a trigger's config: ``POST /math/add``, ``topic=orders`` ..."""
    if trigger_type == "http" and isinstance(config, dict):
        return f"{str(config.get('http_method') or 'GET').upper()} {route_path(config)}"
    if isinstance(config, dict) and config and all(_scalar(v) for v in config.values()):
        return " ".join(f"{k}={v}" for k, v in config.items())
    text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(str(value)) <= 40


def _resolve(schema: Any, root: Any, depth: int = 0) -> Any:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 16:
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return _resolve(target, root, depth + 1) if target is not None else schema


def example_body(schema: Any) -> dict[str, Any]:
    """A sample payload for a request schema: its required properties (else all) filled in."""
    resolved = _resolve(schema, schema)
    properties = resolved.get("properties") if isinstance(resolved, dict) else None
    if not isinstance(properties, dict):
        return {}
    required = [k for k in resolved.get("required") or [] if k in properties]
    body: dict[str, Any] = {}
    for name in required or list(properties):
        prop = _resolve(properties[name], schema)
        kind = prop.get("type") if isinstance(prop, dict) else None
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        body[str(name)] = _SAMPLES.get(str(kind), "text")
    return body


def example_call(base_url: str, method: str, path: str, schema: Any) -> str:
    """A ``curl`` command calling one route, with a sample JSON body for methods with one."""
    concrete = "/".join("1" if part.startswith(":") else part for part in path.split("/"))
    url = shlex.quote(f"{base_url}{concrete}")
    if method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return f"curl -s {url}" if method == "GET" else f"curl -s -X {method} {url}"
    body = json.dumps(example_body(schema))
    prefix = "curl -s" if method == "POST" else f"curl -s -X {method}"
    return f"{prefix} {url} -H 'content-type: application/json' -d {shlex.quote(body)}"
