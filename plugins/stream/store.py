"""Where stream items live: one interface (:class:`StreamStore`) over several backends.

Items are JSON values addressed by ``(stream_name, group_id, item_id)``. :class:`KeyedStore`
keeps them in any iii-state storage adapter (memory, SQLite file, Redis), one adapter scope per
group: the scope is ``<stream name, percent-encoded>:<group id>`` (Redis hash
``stream:chat:room-1``), so a stream name may hold ``:`` and still list its own groups only.
The bridge (:mod:`plugins.stream.bridge`) implements the same interface by calling another
engine. Old values come back as :data:`MISSING` when nothing was stored.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol
from urllib.parse import quote, unquote

import msgspec

from plugins._shared.update_ops import MISSING, UpdateOp, apply_ops
from plugins.state.adapters.base import StateAdapter

__all__ = ["ItemTooLarge", "KeyedStore", "StreamStore", "UpdateResult"]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

UpdateResult = tuple[Any, Any, list[dict[str, Any]]]
"""``(old value or MISSING, new value, op errors)``."""


class ItemTooLarge(Exception):
    """An item (after an update) is larger than the configured limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Item size {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class StreamStore(Protocol):
    """Stream items by stream, group and item id."""

    async def open(self) -> None:
        """Connect or load; raise if the store is unusable."""
        ...

    async def close(self) -> None:
        """Flush and release."""
        ...

    async def set(self, stream: str, group: str, item: str, value: Any, data: bytes) -> Any:
        """Store ``value`` (``data`` is its compact JSON); return the old value or MISSING."""
        ...

    async def get(self, stream: str, group: str, item: str) -> Any:
        """The stored value, or None."""
        ...

    async def delete(self, stream: str, group: str, item: str) -> Any:
        """Remove an item; return its value or MISSING."""
        ...

    async def update(
        self, stream: str, group: str, item: str, ops: list[UpdateOp], max_bytes: int
    ) -> UpdateResult:
        """Apply ``ops`` atomically; raise :class:`ItemTooLarge` past ``max_bytes``."""
        ...

    async def list_items(self, stream: str, group: str) -> list[Any]:
        """The values of a group (empty for an unknown one)."""
        ...

    async def list_groups(self, stream: str) -> list[str]:
        """The non-empty groups of a stream, sorted."""
        ...

    async def list_all(self) -> dict[str, list[str]]:
        """Every stream with its sorted groups."""
        ...


@functools.lru_cache(maxsize=4096)
def _quoted(stream: str) -> str:
    return quote(stream, safe="")


def _scope(stream: str, group: str) -> str:
    return f"{_quoted(stream)}:{group}"


class KeyedStore:
    """A :class:`StreamStore` on an iii-state storage adapter.

    Writes are acknowledged when the adapter returns: the SQLite ``file`` adapter returns only
    once the write is committed, so an answered ``stream::set`` survives a ``kill -9`` of the
    engine. Concurrent writes share commits (the adapter batches them).
    """

    def __init__(self, adapter: StateAdapter) -> None:
        self.adapter = adapter

    async def open(self) -> None:
        """Open the adapter."""
        await self.adapter.open()

    async def close(self) -> None:
        """Close the adapter (a file store commits what is pending)."""
        await self.adapter.close()

    async def set(self, stream: str, group: str, item: str, value: Any, data: bytes) -> Any:
        """Store the encoded item; return the old value or MISSING."""
        old = await self.adapter.set(_scope(stream, group), item, data)
        return MISSING if old is None else _decode(old)

    async def get(self, stream: str, group: str, item: str) -> Any:
        """The stored value, or None."""
        data = await self.adapter.get(_scope(stream, group), item)
        return None if data is None else _decode(data)

    async def delete(self, stream: str, group: str, item: str) -> Any:
        """Remove an item; return its value or MISSING."""
        old = await self.adapter.delete(_scope(stream, group), item)
        return MISSING if old is None else _decode(old)

    async def update(
        self, stream: str, group: str, item: str, ops: list[UpdateOp], max_bytes: int
    ) -> UpdateResult:
        """Apply ``ops`` to a private copy and write the result in one adapter step."""

        def transform(old: bytes | None) -> tuple[bytes, tuple[Any, list[dict[str, Any]]]]:
            new_value, errors = apply_ops(MISSING if old is None else _decode(old), ops)
            data = _encode(new_value)
            if len(data) > max_bytes:
                raise ItemTooLarge(len(data), max_bytes)
            return data, (new_value, errors)

        old, _, (new_value, errors) = await self.adapter.update(
            _scope(stream, group), item, transform
        )
        return (MISSING if old is None else _decode(old)), new_value, errors

    async def list_items(self, stream: str, group: str) -> list[Any]:
        """The values of a group, in insertion order (Redis: hash order)."""
        values = await self.adapter.list_values(_scope(stream, group))
        result: list[Any] = _decode(b"[" + b",".join(values) + b"]")
        return result

    async def list_groups(self, stream: str) -> list[str]:
        """The groups of ``stream`` that hold items, sorted."""
        prefix = f"{_quoted(stream)}:"
        return sorted(
            scope[len(prefix) :]
            for scope in await self.adapter.list_groups()
            if scope.startswith(prefix)
        )

    async def list_all(self) -> dict[str, list[str]]:
        """Every stream with its groups."""
        streams: dict[str, list[str]] = {}
        for scope in await self.adapter.list_groups():
            name, _, group = scope.partition(":")
            streams.setdefault(unquote(name), []).append(group)
        return {name: sorted(groups) for name, groups in sorted(streams.items())}
