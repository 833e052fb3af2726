"""The ``iii-pubsub`` worker's ``config:`` block and the ``subscribe`` trigger's config."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AdapterConfig",
    "PubSubConfig",
    "RedisAdapterConfig",
    "SubscribeConfig",
    "redis_options",
]


class AdapterConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which backend carries messages: ``local`` (alias ``memory``) or ``redis``."""

    name: str = "local"
    config: dict[str, Any] | None = None


class PubSubConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Config of the ``iii-pubsub`` worker (docs/configuration.md)."""

    adapter: AdapterConfig | None = None

    def __post_init__(self) -> None:
        if self.adapter is not None and self.adapter.name not in ("local", "memory", "redis"):
            raise ValueError(
                f"unknown pubsub adapter {self.adapter.name!r} (expected local, memory or redis)"
            )
        if self.adapter is not None and self.adapter.name == "redis":
            redis_options(self.adapter)  # report a bad redis block at config load, with its path


def redis_options(adapter: AdapterConfig) -> RedisAdapterConfig:
    """The redis adapter's options; ``ValueError`` naming the key path when they are invalid."""
    try:
        return msgspec.convert(adapter.config or {}, RedisAdapterConfig)
    except msgspec.ValidationError as exc:
        message = str(exc)
        suffix = "" if "- at `$" in message else " - at `$`"
        raise ValueError(
            (message + suffix).replace("- at `$", "- at `$.adapter.config", 1)
        ) from exc


class RedisAdapterConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Config of the ``redis`` adapter."""

    redis_url: str = "redis://localhost:6379"


class SubscribeConfig(msgspec.Struct, kw_only=True):
    """Config of one ``subscribe`` binding; unknown keys are ignored."""

    topic: str | None = None
    condition_function_id: str | None = None
