"""The in-process adapter (``local``, alias ``memory``): publish delivers directly."""

from __future__ import annotations

from typing import Any

from plugins.pubsub.adapters.base import Deliver

__all__ = ["LocalAdapter"]


class LocalAdapter:
    """Delivers every published message to this engine's subscribers, synchronously."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to release."""

    async def publish(self, topic: str, data: Any) -> None:
        """Hand ``data`` to the subscribers of ``topic``."""
        self._deliver(topic, data)

    async def listen(self, topic: str) -> None:
        """Every topic is always heard locally."""

    async def unlisten(self, topic: str) -> None:
        """Every topic is always heard locally."""
