"""Pubsub transports behind one interface (:class:`~plugins.pubsub.adapters.base.PubSubAdapter`)."""

from __future__ import annotations

from plugins.pubsub.adapters.base import Deliver, PubSubAdapter
from plugins.pubsub.adapters.local import LocalAdapter
from plugins.pubsub.config import AdapterConfig, redis_options

__all__ = ["Deliver", "LocalAdapter", "PubSubAdapter", "make_adapter"]


def make_adapter(config: AdapterConfig | None, deliver: Deliver) -> PubSubAdapter:
    """Build the adapter named in ``config`` (``local`` when absent)."""
    name = "local" if config is None else config.name
    if name in ("local", "memory"):
        return LocalAdapter(deliver)
    if name == "redis":
        from plugins.pubsub.adapters.redis_adapter import RedisAdapter

        assert config is not None
        return RedisAdapter(redis_options(config).redis_url, deliver)
    raise ValueError(f"unknown pubsub adapter {name!r}")
