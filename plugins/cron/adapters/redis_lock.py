"""The ``redis`` lock backend: once per tick across every engine sharing one Redis.

Two keys per job (``<prefix>`` defaults to upstream's ``cron_lock:``):

* ``<prefix><job>:<scheduled ms>`` claims one tick. It is set with ``NX PX`` by the first engine
  that reaches the tick, whatever the outcome, and only expires (it is never deleted), so an
  engine that wakes late cannot run a tick another engine already ran or skipped.
* ``<prefix><job>`` is the run lock (``NX PX``), held while the handler runs, renewed by its
  holder and released by compare-and-delete, so runs of one job never overlap across engines.

Both keys are taken by one Lua script, atomically. A tick claimed while the job is still
running elsewhere is skipped, as on one engine.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis.asyncio as redis

__all__ = ["RedisLock"]

# KEYS: run lock, tick claim. ARGV: token, ttl ms.
_ACQUIRE = """
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLock:
    """Locks on the Redis server at ``url``."""

    def __init__(self, url: str, ttl_ms: int, prefix: str = "cron_lock:") -> None:
        self.url = url
        self.ttl_ms = ttl_ms
        self.shared = True
        self.prefix = prefix
        self.instance = uuid.uuid4().hex
        self._client: redis.Redis | None = None
        self._scripts: dict[str, Any] = {}

    async def open(self) -> None:
        """Connect and check the server answers."""
        client = redis.from_url(self.url)
        try:
            await client.ping()
        except Exception:
            await client.aclose()
            raise
        self._client = client
        for name, source in (("acquire", _ACQUIRE), ("renew", _RENEW), ("release", _RELEASE)):
            self._scripts[name] = client.register_script(source)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def acquire(self, job_id: str, scheduled_ms: int) -> str | None:
        """Claim tick ``scheduled_ms`` and the run lock of ``job_id`` together."""
        token = f"{self.instance}:{scheduled_ms}"
        keys = [self.prefix + job_id, f"{self.prefix}{job_id}:{scheduled_ms}"]
        won = await self._scripts["acquire"](keys=keys, args=[token, self.ttl_ms])
        return token if won == 1 else None

    async def renew(self, job_id: str, token: str) -> bool:
        """Extend the run lock if ``token`` still holds it."""
        done = await self._scripts["renew"](keys=[self.prefix + job_id], args=[token, self.ttl_ms])
        return bool(done)

    async def client_pttl(self, job_id: str) -> int:
        """Milliseconds left on the run lock of ``job_id`` (negative when not held)."""
        assert self._client is not None
        ttl: int = await self._client.pttl(self.prefix + job_id)
        return ttl

    async def release(self, job_id: str, token: str) -> None:
        """Compare-and-delete the run lock."""
        await self._scripts["release"](keys=[self.prefix + job_id], args=[token])
