"""The interface every pubsub transport implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Deliver", "PubSubAdapter"]

Deliver = Callable[[str, Any], None]
"""Called by an adapter for every message arriving on a topic it listens to: ``(topic, data)``."""


class PubSubAdapter(Protocol):
    """Moves messages between publishers and this engine's subscribers.

    The worker keeps the subscriptions and fans each message out; an adapter only needs to know
    which topics have at least one local subscriber (:meth:`listen` / :meth:`unlisten`) and to
    call its ``deliver`` callback once per message received on such a topic.
    """

    async def start(self) -> None:
        """Connect to the backend."""
        ...

    async def stop(self) -> None:
        """Disconnect and release everything."""
        ...

    async def publish(self, topic: str, data: Any) -> None:
        """Send ``data`` to every listener of ``topic`` (here and, if shared, elsewhere)."""
        ...

    async def listen(self, topic: str) -> None:
        """Start receiving ``topic``; return once messages published from now on arrive."""
        ...

    async def unlisten(self, topic: str) -> None:
        """Stop receiving ``topic``."""
        ...
