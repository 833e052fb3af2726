"""``engine::baggage::get/set/get_all`` (workers.md §8.2, diagnostic only).

They read the W3C ``baggage`` the caller sent with the call (the engine's ``call`` span keeps
it). Baggage travels with invocations and is owned by the callers, so ``set`` cannot change
what the caller propagates; it answers ``success`` with a note saying so, like upstream.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import msgspec

from iii_sdk.observer import CURRENT
from iii_sdk.plugin import WorkerContext, decode_input

__all__ = ["parse_baggage", "register_baggage"]


class KeyInput(msgspec.Struct):
    """Input of ``engine::baggage::get``."""

    key: str


class SetInput(msgspec.Struct):
    """Input of ``engine::baggage::set``."""

    key: str
    value: Any = None


def parse_baggage(header: str | None) -> dict[str, str]:
    """A W3C ``baggage`` header as a dict (properties after ``;`` dropped, values unquoted)."""
    entries: dict[str, str] = {}
    for member in (header or "").split(","):
        pair = member.split(";", 1)[0].strip()
        if "=" not in pair:
            continue
        key, value = pair.split("=", 1)
        if key.strip():
            entries[unquote(key.strip())] = unquote(value.strip())
    return entries


def _current() -> dict[str, str]:
    span = CURRENT.get()
    return parse_baggage(None if span is None else span.baggage)


def register_baggage(ctx: WorkerContext) -> None:
    """Register the three functions."""

    def get(payload: Any) -> dict[str, Any]:
        query = decode_input(payload, KeyInput, "engine::baggage::get")
        return {"value": _current().get(query.key)}

    def set_(payload: Any) -> dict[str, Any]:
        decode_input(payload, SetInput, "engine::baggage::set")
        return {
            "success": True,
            "note": "baggage is propagated by the caller with each invocation; set it there",
        }

    def get_all(payload: Any) -> dict[str, Any]:
        return {"baggage": _current()}

    ctx.register_function("engine::baggage::get", get, description="One baggage entry")
    ctx.register_function("engine::baggage::set", set_, description="Diagnostic only")
    ctx.register_function("engine::baggage::get_all", get_all, description="Every baggage entry")
