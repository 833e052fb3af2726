"""The ``redis`` queue adapter's key layout, its counts and its dead letters.

Keys, under the adapter's prefix: ``s:<key>`` the stream (read by the consumer group),
``d:<key>`` the delayed jobs (a sorted set scored by when they are due), ``dlq:<key>`` the dead
letters (a hash by job id) with ``dlqi:<key>`` their index by failure time, ``lease:<key>`` the
FIFO lease, and ``keys`` the set of every queue key ever pushed to.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from redis.exceptions import ResponseError

from plugins.queue.adapters.base import QueueStats
from plugins.queue.job import Job

__all__ = ["GROUP", "RedisKeys", "dead_letters", "discard", "known_keys", "redrive", "stats"]

GROUP = "iii"
"""The consumer group every engine reads a queue's stream in."""

_encode = msgspec.json.Encoder().encode
_decode_job = msgspec.json.Decoder(Job).decode


class RedisKeys:
    """The Redis key names of the queues under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.known = f"{prefix}keys"
        """The set of every queue key ever pushed to."""

    def stream(self, key: str) -> str:
        """The stream of ``key``'s waiting and running jobs."""
        return f"{self.prefix}s:{key}"

    def delayed(self, key: str) -> str:
        """The sorted set of ``key``'s jobs waiting for a retry, scored by when they are due."""
        return f"{self.prefix}d:{key}"

    def dead(self, key: str) -> str:
        """The hash of ``key``'s dead letters by job id."""
        return f"{self.prefix}dlq:{key}"

    def dead_index(self, key: str) -> str:
        """The sorted set of ``key``'s dead letter ids, scored by failure time."""
        return f"{self.prefix}dlqi:{key}"

    def lease(self, key: str) -> str:
        """The lease a FIFO queue's consumer holds."""
        return f"{self.prefix}lease:{key}"


async def stats(client: Any, keys: RedisKeys, key: str) -> QueueStats:
    """Waiting (stream + delayed, minus pending), in flight (pending), dead."""
    stream = keys.stream(key)
    length = await client.xlen(stream)
    pending = 0
    with contextlib.suppress(ResponseError):  # no group yet
        summary = await client.xpending(stream, GROUP)
        pending = int(summary["pending"]) if summary else 0
    delayed = await client.zcard(keys.delayed(key))
    dead = await client.hlen(keys.dead(key))
    return QueueStats(length - pending + delayed, pending, dead)


async def dead_letters(
    client: Any, keys: RedisKeys, key: str, offset: int, limit: int
) -> list[Job]:
    """Dead letters by failure time."""
    ids = await client.zrange(keys.dead_index(key), offset, offset + limit - 1)
    if not ids:
        return []
    records = await client.hmget(keys.dead(key), ids)
    return [_decode_job(r) for r in records if r is not None]


async def redrive(client: Any, keys: RedisKeys, key: str, message_id: str | None) -> int:
    """Put dead letters back on the stream with attempts reset; how many were."""
    index = keys.dead_index(key)
    if message_id is None:
        ids = [i.decode() for i in await client.zrange(index, 0, -1)]
    else:
        ids = [message_id]
    count = 0
    for job_id in ids:
        record = await client.hget(keys.dead(key), job_id)
        if record is None:
            continue
        job = _decode_job(record)
        job.attempts, job.error, job.failed_at, job.available_at = 0, None, None, 0.0
        async with client.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.dead(key), job_id)
            pipe.zrem(index, job_id)
            pipe.xadd(keys.stream(key), {"job": _encode(job)})
            removed = (await pipe.execute())[0]
        count += int(removed)
    return count


async def discard(client: Any, keys: RedisKeys, key: str, message_id: str) -> int:
    """Delete one dead letter; 1 if it existed."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.hdel(keys.dead(key), message_id)
        pipe.zrem(keys.dead_index(key), message_id)
        removed = (await pipe.execute())[0]
    return int(removed)


async def known_keys(client: Any, keys: RedisKeys) -> list[str]:
    """Every queue key ever pushed to, sorted."""
    members = await client.smembers(keys.known)
    return sorted(m.decode() for m in members)
