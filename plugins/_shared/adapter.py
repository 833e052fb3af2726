"""The ``adapter: {name, config?}`` block shared by the state, stream and queue workers.

Each worker keeps its own adapter names and per-adapter keys; this module holds the parts they
have in common: the block itself, decoding ``adapter.config`` into a worker's typed struct with
errors that name the key path, the SQLite file a ``path``/``file_path`` denotes, upstream's
``store_method`` (``in_memory`` | ``file_based``) and the check run when a config is loaded::

    kv = sub_config(adapter, _KvConfig)          # ConfigError at `$.adapter.config.<key>`
    path = store_file(kv.store_method, base_dir / kv.file_path, "state.sqlite3", "iii-state")
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from iii_sdk.errors import ConfigError

__all__ = [
    "DB_SUFFIXES",
    "DEFAULT_BRIDGE_URL",
    "DEFAULT_REDIS_URL",
    "AdapterConfig",
    "check_adapter",
    "db_path",
    "store_file",
    "sub_config",
]

C = TypeVar("C")

DB_SUFFIXES = frozenset({".db", ".sqlite", ".sqlite3"})
DEFAULT_REDIS_URL = "redis://localhost:6379"
DEFAULT_BRIDGE_URL = "ws://localhost:49134"


class AdapterConfig(msgspec.Struct, forbid_unknown_fields=True):
    """``adapter: {name, config?}``."""

    name: str
    config: dict[str, Any] | None = None


def check_adapter(resolve: Callable[[], object]) -> None:
    """Run ``resolve`` at config load, turning its :class:`ConfigError` into msgspec's error.

    Raising :class:`ValueError` from a struct's ``__post_init__`` makes msgspec report the
    problem when the config is loaded (and in ``check-config``), at the key path of the error.
    """
    try:
        resolve()
    except ConfigError as exc:
        where = "" if "- at `$" in exc.message else f" - at `$.{exc.path}`"
        raise ValueError(exc.message + where) from exc


def db_path(path: Path, file_name: str) -> Path:
    """The SQLite file for a configured path (a directory gets ``file_name`` inside)."""
    if path.suffix in DB_SUFFIXES and not path.is_dir():
        return path
    return path / file_name


def store_file(store_method: str, path: Path, file_name: str, worker: str) -> Path | None:
    """The SQLite file of upstream's ``store_method``: ``file_based`` keeps one, else ``None``.

    An unknown ``store_method`` is logged and treated as ``in_memory``, as upstream does.
    """
    if store_method == "file_based":
        return db_path(path, file_name)
    if store_method != "in_memory":
        logging.getLogger(f"iii.{worker.removeprefix('iii-')}").warning(
            "%s: unknown store_method %r, using in_memory", worker, store_method
        )
    return None


def sub_config(adapter: AdapterConfig, type_: type[C]) -> C:
    """Decode ``adapter.config`` into ``type_``; errors name ``$.adapter.config.<key>``."""
    try:
        return msgspec.convert(adapter.config or {}, type_)
    except msgspec.ValidationError as exc:
        # Re-root msgspec's "- at `$.field`" so the reported path names the adapter block.
        message = str(exc).replace("`$.", "`$.adapter.config.").replace("`$`", "`$.adapter.config`")
        raise ConfigError(message, "adapter.config") from exc
