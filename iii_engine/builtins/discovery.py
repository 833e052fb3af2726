"""The engine's own trigger types: ``engine::workers-available`` and
``engine::functions-available`` (docs/protocol.md section 5)."""

from __future__ import annotations

from iii_sdk.plugin import Trigger, TriggerType

__all__ = ["DiscoveryType"]


class DiscoveryType(TriggerType):
    """``engine::workers-available`` / ``engine::functions-available``: fired by the engine."""

    def __init__(self, type_id: str, description: str) -> None:
        self.id = type_id
        self.description = description

    async def register_trigger(self, trigger: Trigger) -> None:
        """Bindings need no setup: the engine fires every live binding of this type."""

    async def unregister_trigger(self, trigger: Trigger) -> None:
        """Nothing to release."""
