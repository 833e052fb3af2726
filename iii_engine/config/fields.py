"""Reading one value of a ``config.yaml`` entry, with the error naming its key path.

Each reader takes the raw YAML value and ``where`` (``workers[2].env``) and returns the typed
value or raises :class:`~iii_sdk.errors.ConfigError` at that path.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Final, Literal

from iii_sdk.errors import ConfigError

__all__ = ["RESTARTS", "Restart", "as_list", "command", "cwd", "env", "kind", "restart", "strings"]

Restart = Literal["always", "on-failure", "never"]
RESTARTS: Final = ("always", "on-failure", "never")


def as_list(value: Any, where: str) -> list[Any]:
    """A list of entries (``None`` is empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"expected a list of entries, got {kind(value)}", where)
    return value


def command(value: Any, where: str) -> list[str] | None:
    """A command: a shell-style string split into argv, or a list of strings."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"cannot split command: {exc}", where) from exc
    else:
        argv = strings(value, where)
    if not argv:
        raise ConfigError("the command is empty", where)
    return argv


def cwd(value: Any, where: str, base_dir: Path) -> Path | None:
    """A working directory, resolved against ``base_dir``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"expected a string, got {kind(value)}", where)
    return (base_dir / value).resolve()


def env(value: Any, where: str) -> dict[str, str]:
    """Environment variables: a mapping of scalars (booleans as ``true`` / ``false``)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"expected a mapping, got {kind(value)}", where)
    env: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict | list) or item is None:
            raise ConfigError(f"expected a scalar, got {kind(item)}", f"{where}.{key}")
        env[str(key)] = str(item).lower() if isinstance(item, bool) else str(item)
    return env


def restart(value: Any, where: str) -> Restart:
    """A restart policy (``on-failure`` when absent)."""
    if value is None:
        return "on-failure"
    if value not in RESTARTS:
        raise ConfigError(f"expected one of {', '.join(RESTARTS)}, got {value!r}", where)
    restart: Restart = value
    return restart


def strings(value: Any, where: str) -> list[str]:
    """A list of strings (``None`` is empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"expected a list of strings, got {kind(value)}", where)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"expected a string, got {kind(item)}", f"{where}[{i}]")
    return list(value)


def kind(value: Any) -> str:
    """How an error names the type of ``value`` (``a mapping``, ``null``, ...)."""
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a bool",
        int: "an int",
        float: "a float",
        type(None): "null",
    }.get(type(value), type(value).__name__)
