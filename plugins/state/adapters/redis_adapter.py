"""The ``redis`` adapter: one Redis hash per scope, shared by every engine using the server.

Scope ``s`` is the hash ``state:s`` (field = key, value = JSON text), as upstream. ``set`` and
``delete`` are Lua scripts returning the previous value atomically. ``update`` reads, applies
the ops in Python and commits with a compare-and-set script, retrying on a concurrent write:
running the ops in Lua would go through cjson, which loses integers above 2^53 and cannot tell
``{}`` from ``[]``. ``list`` returns values in Redis hash order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

import redis.asyncio as redis

from plugins.state.adapters.base import StateAdapter

__all__ = ["RedisAdapter"]

T = TypeVar("T")

_SET = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return old
"""
_DELETE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then redis.call('HDEL', KEYS[1], ARGV[1]) end
return old
"""
# ARGV: field, "1" if a value was read else "0", the value read, the new value.
_COMPARE_AND_SET = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur == false and ARGV[2] == '0') or (cur ~= false and ARGV[2] == '1' and cur == ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
  return 1
end
return 0
"""
_MAX_UPDATE_ATTEMPTS = 100
_GLOB_SPECIALS = str.maketrans({c: "\\" + c for c in "*?[]\\"})


class RedisAdapter(StateAdapter):
    """Store on the Redis server at ``url``; ``prefix`` namespaces the hashes."""

    def __init__(self, url: str, prefix: str = "state:") -> None:
        self.url = url
        self.prefix = prefix
        self._client: redis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @property
    def client(self) -> redis.Redis:
        """The connected client (after :meth:`open`)."""
        if self._client is None:
            raise RuntimeError("redis adapter is not open")
        return self._client

    async def open(self) -> None:
        """Connect and check the server answers."""
        client = redis.from_url(self.url)
        try:
            await client.ping()
        except Exception:
            await client.aclose()
            raise
        self._client = client
        for name, source in (("set", _SET), ("delete", _DELETE), ("cas", _COMPARE_AND_SET)):
            self._scripts[name] = client.register_script(source)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def set(self, scope: str, key: str, data: bytes) -> bytes | None:
        """Store ``data``; return the previous value."""
        old: bytes | None = await self._scripts["set"](keys=[self._hash(scope)], args=[key, data])
        return old

    async def get(self, scope: str, key: str) -> bytes | None:
        """The stored value."""
        return cast(bytes | None, await self.client.hget(self._hash(scope), key))

    async def delete(self, scope: str, key: str) -> bytes | None:
        """Remove a key; return the removed value."""
        old: bytes | None = await self._scripts["delete"](keys=[self._hash(scope)], args=[key])
        return old

    async def update(
        self, scope: str, key: str, transform: Callable[[bytes | None], tuple[bytes, T]]
    ) -> tuple[bytes | None, bytes, T]:
        """Replace the value by ``transform(old)``, retrying if another writer got in between."""
        name = self._hash(scope)
        # Updates of one key from this process queue up locally, so compare-and-set retries
        # only happen when another process writes the same key.
        slot = (name, key)
        lock, users = self._locks.get(slot) or (asyncio.Lock(), 0)
        self._locks[slot] = (lock, users + 1)
        try:
            async with lock:
                return await self._update_once_free(name, key, transform)
        finally:
            lock, users = self._locks[slot]
            if users == 1:
                del self._locks[slot]
            else:
                self._locks[slot] = (lock, users - 1)

    async def _update_once_free(
        self, name: str, key: str, transform: Callable[[bytes | None], tuple[bytes, T]]
    ) -> tuple[bytes | None, bytes, T]:
        for _attempt in range(_MAX_UPDATE_ATTEMPTS):
            old = cast(bytes | None, await self.client.hget(name, key))
            new, extra = transform(old)
            args = [key, "0" if old is None else "1", old or b"", new]
            if await self._scripts["cas"](keys=[name], args=args):
                return old, new, extra
        raise RuntimeError(f"too many concurrent writers on {name!r}/{key!r}")

    async def list_values(self, scope: str) -> list[bytes]:
        """Every value of a scope."""
        return cast(list[bytes], await self.client.hvals(self._hash(scope)))

    async def list_groups(self) -> list[str]:
        """Scopes found by SCANning ``<prefix>*``, sorted."""
        start = len(self.prefix)
        pattern = self.prefix.translate(_GLOB_SPECIALS) + "*"
        groups = {
            name.decode()[start:] async for name in self.client.scan_iter(match=pattern, count=500)
        }
        return sorted(groups)

    def _hash(self, scope: str) -> str:
        return self.prefix + scope
