"""The ``config:`` block of an ``iii-queue`` worker entry, its named queues and its adapter.

Accepted adapter spellings (upstream's first, then ours)::

    adapter: {name: builtin, config: {store_method: file_based, file_path: ./data/queue}}
    adapter: {name: builtin}                 # store_method defaults to in_memory upstream
    adapter: {name: memory}
    adapter: {name: file, config: {path: ./data/queue.sqlite3, synchronous: normal}}
    adapter: {name: redis, config: {redis_url: redis://localhost:6379, visibility_timeout_ms: 5000}}

Without ``adapter`` the queue is the embedded durable default: SQLite at
``<base_dir>/data/queue.sqlite3``. Every adapter block also takes the defaults of
``durable:subscriber`` queues (upstream's builtin keys ``max_attempts``, ``backoff_ms``,
``concurrency``, ``mode``); the other upstream builtin keys are accepted and unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from iii_sdk.errors import ConfigError
from plugins._shared.adapter import (
    DEFAULT_REDIS_URL,
    AdapterConfig,
    check_adapter,
    db_path,
    store_file,
    sub_config,
)

__all__ = [
    "AdapterChoice",
    "AdapterConfig",
    "NamedQueueConfig",
    "QueueConfig",
    "SubscriberDefaults",
    "named_queues",
    "resolve_adapter",
]

DB_FILE_NAME = "queue.sqlite3"
DEFAULT_QUEUE = "default"

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]


class NamedQueueConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One entry of ``queue_configs`` (workers.md §6.4); ``max_retries`` counts total attempts.

    ``timeout_ms`` (ours) bounds one attempt: a handler that has not answered by then fails the
    attempt, which is retried like any failure.
    """

    max_retries: NonNegativeInt = 3
    concurrency: PositiveInt = 10
    type: str = "standard"
    message_group_field: str | None = None
    backoff_ms: NonNegativeInt = 1000
    poll_interval_ms: PositiveInt = 100
    max_priority: int | None = None
    priority_field: str | None = None
    timeout_ms: PositiveInt = 30_000


class QueueConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-queue`` worker config; unknown keys are rejected.

    ``max_message_bytes`` (ours) caps the JSON size of one message's data: a larger message is
    refused with ``message_too_large`` and nothing is stored. ``job_timeout_ms`` bounds one
    attempt of a ``durable:subscriber`` job. For ``missing_function_grace_ms`` after the
    worker starts (workers reconnecting to a restarted engine), a job whose function is not
    registered yet waits for it instead of counting a failed attempt.
    """

    adapter: AdapterConfig | None = None
    queue_configs: dict[str, Any] = msgspec.field(default_factory=dict)
    max_message_bytes: PositiveInt = 1_048_576
    job_timeout_ms: PositiveInt = 30_000
    missing_function_grace_ms: NonNegativeInt = 10_000

    def __post_init__(self) -> None:
        # Raising here makes msgspec report the problem at config load (and in check-config).
        named_queues(self)  # validated here so errors name queue_configs.<name>.<key>
        if self.adapter is not None:
            check_adapter(lambda: resolve_adapter(self, Path()))


def named_queues(config: QueueConfig) -> dict[str, NamedQueueConfig]:
    """Every named queue, ``default`` included (inserted with defaults unless configured)."""
    queues: dict[str, NamedQueueConfig] = {}
    for name, block in config.queue_configs.items():
        where = f"queue_configs.{name}"
        try:
            queue = msgspec.convert({} if block is None else block, NamedQueueConfig)
        except msgspec.ValidationError as exc:
            message = str(exc)
            if "- at `$" not in message:
                message += " - at `$`"
            raise ValueError(message.replace("`$", f"`$.{where}", 1)) from exc
        _check_queue(where, queue)
        queues[name] = queue
    queues.setdefault(DEFAULT_QUEUE, NamedQueueConfig())
    return queues


def _check_queue(where: str, queue: NamedQueueConfig) -> None:
    if queue.type not in ("standard", "fifo"):
        raise ValueError(f"type must be standard or fifo, got {queue.type!r} - at `$.{where}.type`")
    if queue.type == "fifo" and not queue.message_group_field:
        raise ValueError(
            f"a fifo queue requires message_group_field - at `$.{where}.message_group_field`"
        )
    if queue.max_priority is not None and not 1 <= queue.max_priority <= 255:
        raise ValueError(f"max_priority must be 1..255 - at `$.{where}.max_priority`")


class SubscriberDefaults(msgspec.Struct, kw_only=True, frozen=True):
    """Defaults of ``durable:subscriber`` queues (upstream's builtin adapter keys)."""

    max_attempts: PositiveInt = 3
    backoff_ms: NonNegativeInt = 1000
    concurrency: PositiveInt = 10
    mode: Literal["concurrent", "fifo"] = "concurrent"


class _BuiltinConfig(SubscriberDefaults, forbid_unknown_fields=True, kw_only=True, frozen=True):
    store_method: Literal["in_memory", "file_based"] = "in_memory"
    file_path: str = "data"
    save_interval_ms: int | None = None
    poll_interval_ms: int | None = None
    channel_size: int | None = None
    synchronous: Literal["normal", "full"] = "normal"


class _MemoryConfig(SubscriberDefaults, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class _FileConfig(SubscriberDefaults, forbid_unknown_fields=True, kw_only=True, frozen=True):
    path: str = f"data/{DB_FILE_NAME}"
    synchronous: Literal["normal", "full"] = "normal"


class _RedisConfig(SubscriberDefaults, forbid_unknown_fields=True, kw_only=True, frozen=True):
    redis_url: str = DEFAULT_REDIS_URL
    visibility_timeout_ms: PositiveInt = 30_000
    key_prefix: str = "iii:queue:"


@dataclass(frozen=True)
class AdapterChoice:
    """The resolved store and the subscriber defaults of its block."""

    kind: Literal["memory", "file", "redis"]
    path: Path | None = None
    synchronous: Literal["normal", "full"] = "normal"
    url: str | None = None
    visibility_timeout_ms: int = 30_000
    key_prefix: str = "iii:queue:"
    defaults: SubscriberDefaults = field(default_factory=SubscriberDefaults)


def _defaults(block: SubscriberDefaults) -> SubscriberDefaults:
    return SubscriberDefaults(
        max_attempts=block.max_attempts,
        backoff_ms=block.backoff_ms,
        concurrency=block.concurrency,
        mode=block.mode,
    )


def resolve_adapter(config: QueueConfig, base_dir: Path) -> AdapterChoice:
    """Pick the adapter ``config`` asks for; raise :class:`ConfigError` naming the bad key."""
    adapter = config.adapter
    if adapter is None:
        return AdapterChoice("file", path=base_dir / "data" / DB_FILE_NAME)
    if adapter.name == "memory":
        return AdapterChoice("memory", defaults=_defaults(sub_config(adapter, _MemoryConfig)))
    if adapter.name == "file":
        fc = sub_config(adapter, _FileConfig)
        path = db_path(base_dir / fc.path, DB_FILE_NAME)
        return AdapterChoice("file", path=path, synchronous=fc.synchronous, defaults=_defaults(fc))
    if adapter.name == "builtin":
        bc = sub_config(adapter, _BuiltinConfig)
        kept = store_file(bc.store_method, base_dir / bc.file_path, DB_FILE_NAME, "iii-queue")
        if kept is None:
            return AdapterChoice("memory", defaults=_defaults(bc))
        return AdapterChoice("file", path=kept, synchronous=bc.synchronous, defaults=_defaults(bc))
    if adapter.name == "redis":
        rc = sub_config(adapter, _RedisConfig)
        return AdapterChoice(
            "redis",
            url=rc.redis_url,
            visibility_timeout_ms=rc.visibility_timeout_ms,
            key_prefix=rc.key_prefix,
            defaults=_defaults(rc),
        )
    if adapter.name == "rabbitmq":
        raise ConfigError(
            "the rabbitmq queue adapter is not supported; use redis (shared by several engines)",
            "adapter.name",
        )
    raise ConfigError(
        f"unknown queue adapter {adapter.name!r} (expected builtin, memory, file or redis)",
        "adapter.name",
    )
