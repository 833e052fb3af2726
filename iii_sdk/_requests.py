"""Turning the forms users write into wire values: schemas, actions, namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from iii_sdk.protocol import UNSET, EnqueueAction, Raw, TriggerAction, UnsetType, VoidAction, to_raw

__all__ = ["binding_namespace", "call_namespace", "parse_action", "schema_raw"]


def schema_raw(value: Any) -> Raw | UnsetType:
    """A request/response format: a JSON Schema dict as is, a msgspec type turned into one."""
    if value is None:
        return UNSET
    if isinstance(value, type):
        value = msgspec.json.schema(value)
    return to_raw(value)


def parse_action(action: Any) -> TriggerAction | None:
    """``None``, an action Struct, or upstream's dict ``{"type": "void" | "enqueue", ...}``."""
    if action is None or isinstance(action, VoidAction | EnqueueAction):
        return action
    if isinstance(action, Mapping):
        kind = action.get("type")
        if kind == "void":
            return VoidAction()
        if kind == "enqueue":
            return EnqueueAction(queue=str(action["queue"]))
    raise ValueError(f"unknown trigger action {action!r}")


def _check(explicit: str | None) -> None:
    # Blank and absent mean opposite things (a namespace with no name vs the default one).
    if explicit is not None and not explicit.strip():
        raise ValueError("namespace is empty: give it a name or leave it unset")


def call_namespace(explicit: str | None, function_id: str, own: str | None) -> str | None:
    """Where an invocation resolves: explicit, else ``default`` for the engine's own
    ``engine::`` functions, else the worker's namespace (``None``: the engine's default)."""
    _check(explicit)
    if explicit is not None:
        return explicit
    return "default" if function_id.startswith("engine::") else own


def binding_namespace(explicit: str | None, own: str | None) -> str | None:
    """Where a trigger's function resolves: explicit, else the worker's namespace."""
    _check(explicit)
    return explicit if explicit is not None else own
