"""One contract, run against every iii-state adapter (memory, file/SQLite, real Redis)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as redis

from plugins.state.adapters import FileAdapter, MemoryAdapter, StateAdapter
from plugins.state.adapters.redis_adapter import RedisAdapter

STATE_TEST_DB = 9  # the redis_url server is shared with other plugin tests


def _redis_db_url(redis_url: str) -> str:
    return redis_url.rsplit("/", 1)[0] + f"/{STATE_TEST_DB}"


async def _fresh_redis_db(redis_url: str) -> str:
    """A flushed Redis database of our own on the shared server."""
    url = _redis_db_url(redis_url)
    client = redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


@pytest.fixture
async def redis_db(redis_url: str) -> str:
    return await _fresh_redis_db(redis_url)


@pytest.fixture(params=["memory", "file", "redis"])
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateAdapter]:
    store: StateAdapter
    if request.param == "memory":
        store = MemoryAdapter()
    elif request.param == "file":
        store = FileAdapter(tmp_path / "state.sqlite3")
    else:
        store = RedisAdapter(await _fresh_redis_db(request.getfixturevalue("redis_url")))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _appending(suffix: bytes) -> Callable[[bytes | None], tuple[bytes, int]]:
    def transform(old: bytes | None) -> tuple[bytes, int]:
        return (old or b"") + suffix, len(old or b"")

    return transform


async def test_set_returns_previous_value_and_get_reads_it(adapter: StateAdapter) -> None:
    assert await adapter.get("s", "k") is None
    assert await adapter.set("s", "k", b'{"a":1}') is None
    assert await adapter.get("s", "k") == b'{"a":1}'
    assert await adapter.set("s", "k", b"2") == b'{"a":1}'
    assert await adapter.get("s", "k") == b"2"
    assert await adapter.get("other", "k") is None


async def test_a_stored_null_is_a_value(adapter: StateAdapter) -> None:
    assert await adapter.set("s", "k", b"null") is None
    assert await adapter.get("s", "k") == b"null"
    assert await adapter.set("s", "k", b"1") == b"null"


async def test_delete_returns_the_removed_value(adapter: StateAdapter) -> None:
    await adapter.set("s", "k", b'"v"')
    assert await adapter.delete("s", "k") == b'"v"'
    assert await adapter.get("s", "k") is None
    assert await adapter.delete("s", "k") is None
    assert await adapter.delete("nope", "k") is None


async def test_update_creates_and_replaces_atomically(adapter: StateAdapter) -> None:
    assert await adapter.update("s", "k", _appending(b"ab")) == (None, b"ab", 0)
    assert await adapter.update("s", "k", _appending(b"c")) == (b"ab", b"abc", 2)
    assert await adapter.get("s", "k") == b"abc"


async def test_concurrent_updates_lose_nothing(adapter: StateAdapter) -> None:
    await asyncio.gather(*(adapter.update("s", "n", _appending(b"x")) for _ in range(40)))
    assert await adapter.get("s", "n") == b"x" * 40


async def test_list_values_in_insertion_order(adapter: StateAdapter) -> None:
    assert await adapter.list_values("s") == []
    for key, value in [("b", b"1"), ("a", b"2"), ("c", b"3")]:
        await adapter.set("s", key, value)
    await adapter.set("s", "b", b"10")  # an overwrite keeps its position
    await adapter.delete("s", "a")
    await adapter.set("s", "a", b"20")  # a re-insert goes last
    await adapter.set("t", "x", b"99")
    assert await adapter.list_values("s") == [b"10", b"3", b"20"]
    assert await adapter.list_values("t") == [b"99"]


async def test_list_groups_sorted_and_emptied_scopes_disappear(adapter: StateAdapter) -> None:
    assert await adapter.list_groups() == []
    for scope in ["zeta", "alpha", "a:b*c", "ünï"]:
        await adapter.set(scope, "k1", b"1")
        await adapter.set(scope, "k2", b"2")
    assert await adapter.list_groups() == sorted(["zeta", "alpha", "a:b*c", "ünï"])
    await adapter.delete("zeta", "k1")
    await adapter.delete("zeta", "k2")
    assert await adapter.list_groups() == sorted(["alpha", "a:b*c", "ünï"])


async def test_keys_and_values_are_opaque_text(adapter: StateAdapter) -> None:
    value = '{"emoji":"😀","nl":"a\\nb"}'.encode()
    await adapter.set("sc ope", "k/e:y*?", value)
    assert await adapter.get("sc ope", "k/e:y*?") == value


# --- file adapter --------


async def test_file_adapter_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "state.sqlite3"
    first = FileAdapter(path)
    await first.open()
    for key in ["b", "a", "c", "gone"]:
        await first.set("s", key, f'"{key}"'.encode())
    await first.update("s", "a", lambda old: (b'"A"', None))
    await first.delete("s", "gone")
    await first.set("empty", "k", b"1")
    await first.delete("empty", "k")
    await first.set("other", "k", b"null")
    await first.close()

    second = FileAdapter(path)
    await second.open()
    try:
        assert await second.list_values("s") == [b'"b"', b'"A"', b'"c"']
        assert await second.get("s", "gone") is None
        assert await second.get("other", "k") == b"null"
        assert await second.list_groups() == ["other", "s"]
        await second.delete("s", "b")
        await second.set("s", "b", b'"B"')
    finally:
        await second.close()

    third = FileAdapter(path)
    await third.open()
    try:
        assert await third.list_values("s") == [b'"A"', b'"c"', b'"B"']
    finally:
        await third.close()


async def test_file_adapter_commits_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = FileAdapter(path)
    await store.open()
    try:
        for i in range(200):
            await store.set("s", f"k{i}", str(i).encode())
        await store.flush()
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT key, value FROM state ORDER BY seq").fetchall()
        assert rows == [(f"k{i}", str(i)) for i in range(200)]
    finally:
        await store.close()


# --- redis adapter --------


async def test_redis_layout_is_one_hash_per_scope(redis_db: str) -> None:
    store = RedisAdapter(redis_db)
    await store.open()
    client = redis.from_url(redis_db)
    try:
        await store.set("orders", "o1", b'{"n":1}')
        assert await client.hgetall("state:orders") == {b"o1": b'{"n":1}'}
        await client.set("unrelated", "x")
        assert await store.list_groups() == ["orders"]
    finally:
        await client.aclose()
        await store.close()


async def test_redis_updates_from_two_engines_lose_nothing(redis_db: str) -> None:
    one, two = RedisAdapter(redis_db), RedisAdapter(redis_db)
    await one.open()
    await two.open()
    try:
        calls = [store.update("s", "n", _appending(b"x")) for store in (one, two) * 25]
        await asyncio.gather(*calls)
        assert await one.get("s", "n") == b"x" * 50
    finally:
        await one.close()
        await two.close()


async def test_redis_open_fails_when_the_server_is_unreachable() -> None:
    store = RedisAdapter("redis://127.0.0.1:1/0")
    with pytest.raises(redis.ConnectionError):
        await store.open()


async def test_file_adapter_close_commits_even_if_the_flusher_was_cancelled(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    store = FileAdapter(path)
    await store.open()
    for i in range(100):
        await store.set("s", f"k{i}", b"1")
    writes = [asyncio.ensure_future(store.set("s", f"k{i}", b"1")) for i in range(100, 150)]
    await asyncio.sleep(0)  # each write is journalled and waits for its commit
    flusher = store._flusher
    assert flusher is not None
    flusher.cancel()
    await store.close()
    await asyncio.gather(*writes)  # released by close, which committed them
    reopened = FileAdapter(path)
    await reopened.open()
    try:
        assert len(await reopened.list_values("s")) == 150
    finally:
        await reopened.close()


async def test_file_adapter_refuses_writes_after_close(tmp_path: Path) -> None:
    store = FileAdapter(tmp_path / "state.sqlite3")
    await store.open()
    await store.set("s", "k", b"1")
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.set("s", "k", b"2")
    with pytest.raises(RuntimeError, match="closed"):
        await store.delete("s", "k")
    assert await store.get("s", "k") == b"1"


async def test_redis_update_locks_are_released(redis_db: str) -> None:
    store = RedisAdapter(redis_db)
    await store.open()
    try:
        await asyncio.gather(*(store.update("s", f"k{i % 3}", _appending(b"x")) for i in range(30)))
        assert [await store.get("s", f"k{i}") for i in range(3)] == [b"x" * 10] * 3
        assert store._locks == {}
    finally:
        await store.close()


@pytest.mark.parametrize("seed", range(5))
async def test_file_adapter_reopens_exactly_as_memory_after_random_writes(
    tmp_path: Path, seed: int
) -> None:
    """Coalesced background commits must reproduce every value and the key order."""
    rng = random.Random(seed)
    model = MemoryAdapter()
    path = tmp_path / "state.sqlite3"
    store = FileAdapter(path)
    await store.open()
    for step in range(600):
        scope, key = rng.choice("ab"), rng.choice("uvwxyz")
        if rng.random() < 0.3:
            assert await store.delete(scope, key) == await model.delete(scope, key)
        else:
            data = str(step).encode()
            assert await store.set(scope, key, data) == await model.set(scope, key, data)
        if rng.random() < 0.05:
            await store.flush()
    await store.close()
    reopened = FileAdapter(path)
    await reopened.open()
    try:
        assert await reopened.list_groups() == await model.list_groups()
        for scope in "ab":
            assert await reopened.list_values(scope) == await model.list_values(scope)
    finally:
        await reopened.close()
