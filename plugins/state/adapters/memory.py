"""The ``memory`` adapter: a dict of ordered dicts, lost when the engine stops."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from plugins.state.adapters.base import StateAdapter

__all__ = ["MemoryAdapter"]

T = TypeVar("T")


class MemoryAdapter(StateAdapter):
    """In-process store; every call completes without yielding, so each is atomic.

    A scope disappears with its last key (upstream's kv keeps the empty scope listed until a
    restart; we keep every adapter consistent instead).
    """

    def __init__(self) -> None:
        self._scopes: dict[str, dict[str, bytes]] = {}
        # Reads and writes here never wait: the worker answers them without a coroutine.
        self.get_now = self._get
        self.set_now = self._put

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to release."""

    async def set(self, scope: str, key: str, data: bytes) -> bytes | None:
        """Store ``data``; return the previous value."""
        return self._put(scope, key, data)

    async def get(self, scope: str, key: str) -> bytes | None:
        """The stored value."""
        return self._get(scope, key)

    async def delete(self, scope: str, key: str) -> bytes | None:
        """Remove a key; return the removed value."""
        return self._remove(scope, key)

    async def update(
        self, scope: str, key: str, transform: Callable[[bytes | None], tuple[bytes, T]]
    ) -> tuple[bytes | None, bytes, T]:
        """Replace the value by ``transform(old)`` (no await in between: atomic)."""
        items = self._scopes.get(scope)
        old = None if items is None else items.get(key)
        new, extra = transform(old)
        self._put(scope, key, new)
        return old, new, extra

    async def list_values(self, scope: str) -> list[bytes]:
        """Every value of a scope, in key insertion order."""
        items = self._scopes.get(scope)
        return [] if items is None else list(items.values())

    async def list_groups(self) -> list[str]:
        """The non-empty scopes, sorted."""
        return sorted(self._scopes)

    def _get(self, scope: str, key: str) -> bytes | None:
        items = self._scopes.get(scope)
        return None if items is None else items.get(key)

    def _put(self, scope: str, key: str, data: bytes) -> bytes | None:
        items = self._scopes.get(scope)
        if items is None:
            items = self._scopes[scope] = {}
        old = items.get(key)
        items[key] = data
        return old

    def _remove(self, scope: str, key: str) -> bytes | None:
        items = self._scopes.get(scope)
        if items is None:
            return None
        old = items.pop(key, None)
        if not items:
            del self._scopes[scope]
        return old
