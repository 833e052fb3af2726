"""The ``config:`` block of an ``iii-state`` worker entry, and which adapter it selects.

Accepted adapter spellings (upstream's first, then ours)::

    adapter: {name: kv, config: {store_method: file_based, file_path: ./data/state_store.db}}
    adapter: {name: kv}                        # store_method defaults to in_memory upstream
    adapter: {name: memory}
    adapter: {name: file, config: {path: ./data/state.sqlite3}}
    adapter: {name: redis, config: {redis_url: redis://localhost:6379}}
    adapter: {name: bridge, config: {bridge_url: ws://localhost:49134}}   # another engine

Without ``adapter`` the store is the embedded durable default: SQLite at
``<base_dir>/data/state.sqlite3``. A ``file_path``/``path`` names the SQLite file itself when it
ends in ``.db``, ``.sqlite`` or ``.sqlite3`` and is not an existing directory; otherwise it is a
directory (upstream's kv keeps a directory there) holding ``state.sqlite3``. Relative paths
resolve against the config file's directory. ``save_interval_ms`` is accepted for upstream
compatibility; the file adapter commits continuously in the background, so it has no effect.
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

__all__ = ["AdapterChoice", "AdapterConfig", "StateConfig", "resolve_adapter"]

DB_FILE_NAME = "state.sqlite3"


class StateConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``iii-state`` worker config (docs/configuration.md); unknown keys are rejected."""

    adapter: AdapterConfig | None = None
    triggers_enabled: bool = True
    max_value_bytes: Annotated[int, msgspec.Meta(ge=1)] | None = None
    save_interval_ms: Annotated[int, msgspec.Meta(ge=100, le=3_600_000)] | None = None

    def __post_init__(self) -> None:
        if self.adapter is not None:
            check_adapter(lambda: resolve_adapter(self, Path()))


class _KvConfig(msgspec.Struct, forbid_unknown_fields=True):
    store_method: str = "in_memory"
    file_path: str = "kv_store_data.db"
    save_interval_ms: int | None = None


class _FileConfig(msgspec.Struct, forbid_unknown_fields=True):
    path: str = f"data/{DB_FILE_NAME}"


class _RedisConfig(msgspec.Struct, forbid_unknown_fields=True):
    redis_url: str = DEFAULT_REDIS_URL


class _BridgeConfig(msgspec.Struct, forbid_unknown_fields=True):
    bridge_url: str = DEFAULT_BRIDGE_URL


@dataclass(frozen=True)
class AdapterChoice:
    """The resolved store: ``kind`` plus its ``path`` (file) or ``url`` (redis)."""

    kind: Literal["memory", "file", "redis", "bridge"]
    path: Path | None = None
    url: str | None = None


def resolve_adapter(config: StateConfig, base_dir: Path) -> AdapterChoice:
    """Pick the adapter ``config`` asks for; raise :class:`ConfigError` naming the bad key."""
    adapter = config.adapter
    if adapter is None:
        return AdapterChoice("file", path=base_dir / "data" / DB_FILE_NAME)
    if adapter.name == "memory":
        return AdapterChoice("memory")
    if adapter.name == "file":
        file_cfg = sub_config(adapter, _FileConfig)
        return AdapterChoice("file", path=db_path(base_dir / file_cfg.path, DB_FILE_NAME))
    if adapter.name == "redis":
        return AdapterChoice("redis", url=sub_config(adapter, _RedisConfig).redis_url)
    if adapter.name == "kv":
        kv = sub_config(adapter, _KvConfig)
        path = store_file(kv.store_method, base_dir / kv.file_path, DB_FILE_NAME, "iii-state")
        return AdapterChoice("memory") if path is None else AdapterChoice("file", path=path)
    if adapter.name == "bridge":
        return AdapterChoice("bridge", url=sub_config(adapter, _BridgeConfig).bridge_url)
    raise ConfigError(
        f"unknown state adapter {adapter.name!r} (expected kv, memory, file, redis or bridge)",
        "adapter.name",
    )
