"""The ``config:`` block of an ``iii-cron`` worker entry (workers.md §7.4).

Upstream's blocks load unchanged::

    adapter: {name: kv, config: {lock_ttl_ms: 30000, lock_index: cron_locks}}
    adapter: {name: redis, config: {redis_url: redis://localhost:6379}}

``kv`` (the default) locks inside this engine; ``redis`` locks on a Redis server so several
engines sharing it fire each tick once. ``store_method``, ``file_path`` and
``save_interval_ms`` of the kv adapter are accepted for compatibility and have no effect: the
locks are process-local and keeping them on disk would only block jobs after a crash.
``lock_ttl_ms`` bounds how long a crashed engine's lock keeps others from running a job; a
running job renews its lock, so a handler may take longer than the TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import msgspec

__all__ = ["CronConfig", "LockChoice", "resolve_lock"]

C = TypeVar("C")

DEFAULT_LOCK_TTL_MS = 30_000
DEFAULT_REDIS_URL = "redis://localhost:6379"
DEFAULT_LOCK_INDEX = "cron_locks"

_Ttl = Annotated[int, msgspec.Meta(ge=100, le=86_400_000)]


class AdapterConfig(msgspec.Struct, forbid_unknown_fields=True):
    """``adapter: {name, config?}``."""

    name: str
    config: dict[str, Any] | None = None


class CronConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-cron`` worker config; unknown keys are rejected."""

    adapter: AdapterConfig | None = None

    def __post_init__(self) -> None:
        # Raising here reports a bad adapter block at config load, with its key path.
        resolve_lock(self)


class _KvConfig(msgspec.Struct, forbid_unknown_fields=True):
    lock_ttl_ms: _Ttl = DEFAULT_LOCK_TTL_MS
    lock_index: str = DEFAULT_LOCK_INDEX
    store_method: str | None = None
    file_path: str | None = None
    save_interval_ms: int | None = None


class _RedisConfig(msgspec.Struct, forbid_unknown_fields=True):
    redis_url: str = DEFAULT_REDIS_URL
    lock_ttl_ms: _Ttl = DEFAULT_LOCK_TTL_MS
    key_prefix: str = "cron_lock:"


@dataclass(frozen=True)
class LockChoice:
    """The resolved lock backend."""

    kind: Literal["kv", "redis"]
    ttl_ms: int = DEFAULT_LOCK_TTL_MS
    index: str = DEFAULT_LOCK_INDEX
    url: str | None = None
    prefix: str = "cron_lock:"


def resolve_lock(config: CronConfig) -> LockChoice:
    """The lock backend ``config`` selects; ``ValueError`` naming the bad key otherwise."""
    adapter = config.adapter
    if adapter is None:
        return LockChoice("kv")
    if adapter.name == "kv":
        kv = _sub_config(adapter, _KvConfig)
        return LockChoice("kv", ttl_ms=kv.lock_ttl_ms, index=kv.lock_index)
    if adapter.name == "redis":
        red = _sub_config(adapter, _RedisConfig)
        return LockChoice("redis", ttl_ms=red.lock_ttl_ms, url=red.redis_url, prefix=red.key_prefix)
    raise ValueError(
        f"unknown cron adapter {adapter.name!r} (expected kv or redis) - at `$.adapter.name`"
    )


def _sub_config(adapter: AdapterConfig, type_: type[C]) -> C:
    try:
        return msgspec.convert(adapter.config or {}, type_)
    except msgspec.ValidationError as exc:
        message = str(exc).replace("`$.", "`$.adapter.config.").replace("`$`", "`$.adapter.config`")
        if "- at `$" not in message:
            message += " - at `$.adapter.config`"
        raise ValueError(message) from exc
