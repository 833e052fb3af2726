"""The ``config:`` block of an ``iii-stream`` worker entry, and which store it selects.

Upstream keys (workers.md §4.7) plus this project's limits::

    port: 3112
    host: 0.0.0.0
    auth_function: my::auth                 # optional, see plugins.stream.socket
    adapter: {name: kv, config: {store_method: file_based, file_path: ./data/stream_store}}
    max_item_bytes: 1048576                 # a bigger item is refused with VALUE_TOO_LARGE
    send_buffer_bytes: 1048576              # per socket; overflow drops the subscriber (4008)
    max_subscriptions_per_socket: 1000      # one more join closes the socket (1008)

Adapters: ``kv`` (``store_method: in_memory|file_based``, ``file_path``; ``save_interval_ms``
and ``channel_size`` accepted and unused), ``memory``, ``file`` (``path``), ``redis``
(``redis_url``) and ``bridge`` (``bridge_url``; ``connect_timeout_ms``, default 10000, bounds
the first connection at start). Without ``adapter`` the store is SQLite at
``<base_dir>/data/stream.sqlite3``. A ``file_path``/``path`` ending in ``.db``, ``.sqlite`` or
``.sqlite3`` names the database file; anything else is a directory holding ``stream.sqlite3``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from iii_sdk.errors import ConfigError
from plugins._shared.adapter import (
    DEFAULT_BRIDGE_URL,
    DEFAULT_REDIS_URL,
    AdapterConfig,
    check_adapter,
    db_path,
    store_file,
    sub_config,
)

__all__ = ["AdapterConfig", "StoreChoice", "StreamConfig", "resolve_store"]

DB_FILE_NAME = "stream.sqlite3"


class StreamConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-stream`` worker config; unknown keys are rejected."""

    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 3112
    host: str = "0.0.0.0"
    auth_function: str | None = None
    adapter: AdapterConfig | None = None
    max_item_bytes: Annotated[int, msgspec.Meta(ge=1)] = 1024 * 1024
    send_buffer_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1024 * 1024
    max_subscriptions_per_socket: Annotated[int, msgspec.Meta(ge=1)] = 1000

    def __post_init__(self) -> None:
        if self.adapter is not None:
            check_adapter(lambda: resolve_store(self, Path()))


class _KvConfig(msgspec.Struct, forbid_unknown_fields=True):
    store_method: str = "in_memory"
    file_path: str = "kv_store_data.db"
    save_interval_ms: int | None = None
    channel_size: int | None = None


class _FileConfig(msgspec.Struct, forbid_unknown_fields=True):
    path: str = f"data/{DB_FILE_NAME}"


class _RedisConfig(msgspec.Struct, forbid_unknown_fields=True):
    redis_url: str = DEFAULT_REDIS_URL


class _BridgeConfig(msgspec.Struct, forbid_unknown_fields=True):
    bridge_url: str = DEFAULT_BRIDGE_URL
    connect_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] = 10_000


@dataclass(frozen=True)
class StoreChoice:
    """The resolved store: ``kind`` plus its ``path`` (file) or ``url`` (redis, bridge)."""

    kind: Literal["memory", "file", "redis", "bridge"]
    path: Path | None = None
    url: str | None = None
    connect_timeout_ms: int = 10_000


def resolve_store(config: StreamConfig, base_dir: Path) -> StoreChoice:
    """Pick the store ``config`` asks for; raise :class:`ConfigError` naming the bad key."""
    adapter = config.adapter
    if adapter is None:
        return StoreChoice("file", path=base_dir / "data" / DB_FILE_NAME)
    if adapter.name == "memory":
        return StoreChoice("memory")
    if adapter.name == "file":
        return StoreChoice(
            "file", path=db_path(base_dir / sub_config(adapter, _FileConfig).path, DB_FILE_NAME)
        )
    if adapter.name == "redis":
        return StoreChoice("redis", url=sub_config(adapter, _RedisConfig).redis_url)
    if adapter.name == "bridge":
        bridge = sub_config(adapter, _BridgeConfig)
        return StoreChoice(
            "bridge", url=bridge.bridge_url, connect_timeout_ms=bridge.connect_timeout_ms
        )
    if adapter.name == "kv":
        kv = sub_config(adapter, _KvConfig)
        path = store_file(kv.store_method, base_dir / kv.file_path, DB_FILE_NAME, "iii-stream")
        return StoreChoice("memory") if path is None else StoreChoice("file", path=path)
    raise ConfigError(
        f"unknown stream adapter {adapter.name!r} (expected kv, memory, file, redis or bridge)",
        "adapter.name",
    )
