"""Pubsub transports behind one interface (:class:`~plugins.pubsub.adapters.base.PubSubAdapter`)."""

from __future__ import annotations

from typing import Any

import msgspec

from plugins.pubsub.adapters.base import Deliver, PubSubAdapter
from plugins.pubsub.adapters.local import LocalAdapter
from plugins.pubsub.config import AdapterConfig, RedisAdapterConfig

__all__ = ["Deliver", "LocalAdapter", "PubSubAdapter", "make_adapter"]


def make_adapter(config: AdapterConfig | None, deliver: Deliver) -> PubSubAdapter:
    """Build the adapter named in ``config`` (``local`` when absent)."""
    name = "local" if config is None else config.name
    if name in ("local", "memory"):
        return LocalAdapter(deliver)
    if name == "redis":
        from plugins.pubsub.adapters.redis_adapter import RedisAdapter

        options: Any = (config.config if config else None) or {}
        try:
            redis_config = msgspec.convert(options, RedisAdapterConfig)
        except msgspec.ValidationError as exc:
            raise ValueError(f"invalid redis adapter config: {exc}") from exc
        return RedisAdapter(redis_config.redis_url, deliver)
    raise ValueError(f"unknown pubsub adapter {name!r}")
