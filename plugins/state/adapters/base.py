"""The one interface every iii-state storage adapter implements.

Values cross this interface as compact JSON bytes: encoding once in the worker gives the
``max_value_bytes`` check for free, stores are isolated from callers' objects, and Redis or
SQLite keep the text as is. ``None`` means "no stored value" (a stored JSON null is ``b"null"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from plugins._shared.update_ops import UpdateOp

__all__ = ["StateAdapter"]

T = TypeVar("T")


class StateAdapter(Protocol):
    """A two-level store: scope -> key -> JSON bytes, keys kept in insertion order.

    Adapters subclass this protocol to inherit the defaults of the optional members
    (:meth:`update_ops`, :attr:`get_now`, :attr:`set_now`).
    """

    get_now: Callable[[str, str], bytes | None] | None = None
    """:meth:`get` without waiting, on stores that never need to wait to read; else None."""

    set_now: Callable[[str, str, bytes], bytes | None] | None = None
    """:meth:`set` without waiting (stored and final on return), on stores that never need to
    wait to write; else None. A store that answers only once a write is durable has none."""

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

    async def update_ops(
        self, scope: str, key: str, ops: list[UpdateOp]
    ) -> tuple[Any, Any, list[dict[str, Any]]] | None:
        """Apply update ops where the data lives: ``(old value or None, new value, errors)``.

        The default, None, has the caller apply them through :meth:`update`; an adapter whose
        data lives elsewhere (the bridge) sends them there to be applied atomically.
        """
        return None

    async def list_values(self, scope: str) -> list[bytes]:
        """Every value of a scope (empty for an unknown scope)."""
        ...

    async def list_groups(self) -> list[str]:
        """The scopes that hold at least one key, sorted."""
        ...
