"""The ``publish`` function."""

from __future__ import annotations

from typing import Any

import msgspec

from iii_sdk.errors import InvocationError
from iii_sdk.plugin import decode_input
from plugins.pubsub.adapters.base import PubSubAdapter

__all__ = ["PUBLISH_REQUEST_FORMAT", "TOPIC_NOT_SET", "Publisher"]

TOPIC_NOT_SET = "topic_not_set"

PUBLISH_REQUEST_FORMAT: Any = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "description": "The topic to publish to"},
        "data": {"description": "Any JSON value, delivered as is to every subscriber"},
    },
    "required": ["topic", "data"],
}


class _PublishInput(msgspec.Struct):
    topic: str | None = None
    data: Any = None


class Publisher:
    """Serves ``publish``: ``{topic, data}`` -> ``null``, fire-and-forget."""

    def __init__(self, adapter: PubSubAdapter) -> None:
        self._adapter = adapter

    async def __call__(self, payload: Any) -> None:
        """Publish ``data`` to ``topic``; an empty topic is ``topic_not_set``."""
        args = decode_input(payload, _PublishInput, "publish")
        if not args.topic:
            raise InvocationError(TOPIC_NOT_SET, "Topic is not set")
        await self._adapter.publish(args.topic, args.data)
