"""The one interface every iii-state storage adapter implements.

Values cross this interface as compact JSON bytes: encoding once in the worker gives the
``max_value_bytes`` check for free, stores are isolated from callers' objects, and Redis or
SQLite keep the text as is. ``None`` means "no stored value" (a stored JSON null is ``b"null"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

__all__ = ["StateAdapter"]

T = TypeVar("T")


class StateAdapter(Protocol):
    """A two-level store: scope -> key -> JSON bytes, keys kept in insertion order."""

    async def open(self) -> None:
        """Connect or load; raise if the store is unusable."""
        ...

    async def close(self) -> None:
        """Flush pending writes and release the store."""
        ...

    async def set(self, scope: str, key: str, data: bytes) -> bytes | None:
        """Store ``data``; return the previous value."""
        ...

    async def get(self, scope: str, key: str) -> bytes | None:
        """The stored value."""
        ...

    async def delete(self, scope: str, key: str) -> bytes | None:
        """Remove a key; return the removed value."""
        ...

    async def update(
        self, scope: str, key: str, transform: Callable[[bytes | None], tuple[bytes, T]]
    ) -> tuple[bytes | None, bytes, T]:
        """Atomically replace the value by ``transform(old) -> (new, extra)``.

        Returns ``(old, new, extra)``. ``transform`` must be pure: an adapter may call it more
        than once (optimistic retries).
        """
        ...

    async def list_values(self, scope: str) -> list[bytes]:
        """Every value of a scope (empty for an unknown scope)."""
        ...

    async def list_groups(self) -> list[str]:
        """The scopes that hold at least one key, sorted."""
        ...
