"""The shared ``redis_url`` fixture gives a live, writable server."""

from __future__ import annotations

import redis.asyncio as redis


async def test_redis_url_answers_and_stores(redis_url: str) -> None:
    client = redis.from_url(redis_url)
    try:
        assert await client.ping() is True
        await client.set("iii-fixture-probe", "1")
        assert await client.get("iii-fixture-probe") == b"1"
    finally:
        await client.delete("iii-fixture-probe")
        await client.aclose()
