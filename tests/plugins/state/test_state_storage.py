"""iii-state storage end to end: durability across engine restarts, config mapping, Redis."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis

from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError
from iii_sdk.worker import Worker
from tests.plugins.state.state_helpers import call, call_error

Connect = Callable[..., Awaitable[Worker]]


def state_entry(config: dict[str, Any] | None = None, name: str = "iii-state") -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if config is not None:
        entry["config"] = config
    return entry


async def write_sample(client: Worker) -> None:
    for key in ["b", "a", "c", "gone"]:
        await call(client, "state::set", {"scope": "orders", "key": key, "value": {"id": key}})
    ops = [{"type": "merge", "value": {"paid": True}}]
    await call(client, "state::update", {"scope": "orders", "key": "a", "ops": ops})
    await call(client, "state::delete", {"scope": "orders", "key": "gone"})
    await call(client, "state::set", {"scope": "config", "key": "flag", "value": None})


async def check_sample(client: Worker) -> None:
    assert await call(client, "state::list", {"scope": "orders"}) == [
        {"id": "b"},
        {"id": "a", "paid": True},
        {"id": "c"},
    ]
    assert await call(client, "state::get", {"scope": "orders", "key": "gone"}) is None
    assert await call(client, "state::set", {"scope": "config", "key": "flag", "value": 1}) == {
        "old_value": None,
        "new_value": 1,
    }
    assert await call(client, "state::list_groups", {}) == {"groups": ["config", "orders"]}


async def restart_round_trip(entry: dict[str, Any], connect: Connect, base_dir: Path) -> None:
    async with start_engine(workers=[entry], base_dir=base_dir) as engine:
        await write_sample(await connect(engine))
    async with start_engine(workers=[entry], base_dir=base_dir) as engine:
        await check_sample(await connect(engine))


async def test_file_adapter_survives_an_engine_restart(tmp_path: Path, iii_worker: Connect) -> None:
    path = tmp_path / "store" / "state.sqlite3"
    entry = state_entry({"adapter": {"name": "file", "config": {"path": str(path)}}})
    await restart_round_trip(entry, iii_worker, tmp_path)
    assert path.is_file()


async def test_default_store_is_sqlite_under_base_dir_data(
    tmp_path: Path, iii_worker: Connect
) -> None:
    await restart_round_trip(state_entry(), iii_worker, tmp_path)
    with sqlite3.connect(tmp_path / "data" / "state.sqlite3") as conn:
        scopes = {row[0] for row in conn.execute("SELECT scope FROM state")}
    assert scopes == {"orders", "config"}


async def test_upstream_kv_file_based_config_maps_to_the_file_adapter(
    tmp_path: Path, iii_worker: Connect
) -> None:
    kv = {"store_method": "file_based", "file_path": "./data/state_store.db"}
    entry = state_entry({"adapter": {"name": "kv", "config": kv}, "save_interval_ms": 500})
    await restart_round_trip(entry, iii_worker, tmp_path)
    assert (tmp_path / "data" / "state_store.db").is_file()


async def test_kv_file_path_that_is_a_directory_holds_the_database(
    tmp_path: Path, iii_worker: Connect
) -> None:
    (tmp_path / "kv_store_data.db").mkdir()  # an upstream data directory
    kv = {"store_method": "file_based", "save_interval_ms": 100}
    await restart_round_trip(
        state_entry({"adapter": {"name": "kv", "config": kv}}, name="state"),
        iii_worker,
        tmp_path,
    )
    assert (tmp_path / "kv_store_data.db" / "state.sqlite3").is_file()


@pytest.mark.parametrize(
    "adapter", [{"name": "memory"}, {"name": "kv"}, {"name": "kv", "config": {"store_method": "?"}}]
)
async def test_in_memory_stores_forget_on_restart_and_write_nothing(
    tmp_path: Path, iii_worker: Connect, adapter: dict[str, Any]
) -> None:
    entry = state_entry({"adapter": adapter})
    async with start_engine(workers=[entry], base_dir=tmp_path) as engine:
        client = await iii_worker(engine)
        await call(client, "state::set", {"scope": "s", "key": "k", "value": 1})
        assert await call(client, "state::get", {"scope": "s", "key": "k"}) == 1
    async with start_engine(workers=[entry], base_dir=tmp_path) as engine:
        client = await iii_worker(engine)
        assert await call(client, "state::get", {"scope": "s", "key": "k"}) is None
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"adapter": {"name": "nope"}}, "unknown state adapter 'nope'"),
        ({"adapter": {"name": "bridge", "config": {"bridge_url": 5}}}, "bridge_url"),
        ({"adapter": {"name": "redis", "config": {"redis_url": 5}}}, "redis_url"),
        ({"adapter": {"name": "memory", "extra": 1}}, "extra"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"max_value_bytes": 0}, "max_value_bytes"),
        ({"save_interval_ms": 99}, "save_interval_ms"),
        ({"triggers_enabled": "yes"}, "triggers_enabled"),
    ],
)
async def test_invalid_config_is_rejected_at_start(
    tmp_path: Path, config: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        async with start_engine(workers=[state_entry(config)], base_dir=tmp_path):
            pass


# --- redis --------


@pytest.fixture
async def redis_db(redis_url: str) -> str:
    url = redis_url.rsplit("/", 1)[0] + "/10"
    client = redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


async def test_two_engines_share_state_through_redis(redis_db: str, iii_worker: Connect) -> None:
    entry = state_entry({"adapter": {"name": "redis", "config": {"redis_url": redis_db}}})
    async with start_engine(workers=[entry]) as one, start_engine(workers=[entry]) as two:
        first, second = await iii_worker(one), await iii_worker(two)
        await write_sample(first)
        await check_sample(second)
        ops = [{"type": "increment", "path": "n", "by": 1}]
        for client in (first, second, first):
            await call(client, "state::update", {"scope": "c", "key": "k", "ops": ops})
        assert await call(first, "state::get", {"scope": "c", "key": "k"}) == {"n": 3}


async def test_redis_failures_map_to_the_function_error_codes(
    redis_db: str, iii_worker: Connect
) -> None:
    raw = redis.from_url(redis_db)
    await raw.set("state:broken", "not a hash")  # every hash command on it fails (WRONGTYPE)
    await raw.aclose()
    entry = state_entry({"adapter": {"name": "redis", "config": {"redis_url": redis_db}}})
    async with start_engine(workers=[entry]) as engine:
        client = await iii_worker(engine)
        key = {"scope": "broken", "key": "k"}
        cases = [
            ("state::set", {**key, "value": 1}, "SET_ERROR", "Failed to set value: "),
            ("state::get", key, "GET_ERROR", "Failed to get value: "),
            ("state::delete", key, "DELETE_ERROR", "Failed to delete value: "),
            ("state::update", {**key, "ops": []}, "UPDATE_ERROR", "Failed to update value: "),
            ("state::list", {"scope": "broken"}, "LIST_ERROR", "Failed to list values: "),
        ]
        for function_id, payload, code, prefix in cases:
            error = await call_error(client, function_id, payload)
            assert (error.code, error.message[: len(prefix)]) == (code, prefix)
            assert "WRONGTYPE" in error.message


async def test_unreachable_redis_fails_the_engine_start() -> None:
    entry = state_entry(
        {"adapter": {"name": "redis", "config": {"redis_url": "redis://127.0.0.1:1"}}}
    )
    with pytest.raises(redis.ConnectionError):
        async with start_engine(workers=[entry]):
            pass


async def test_concurrent_updates_from_two_engines_through_redis_lose_nothing(
    redis_db: str, iii_worker: Connect
) -> None:
    entry = state_entry({"adapter": {"name": "redis", "config": {"redis_url": redis_db}}})
    async with start_engine(workers=[entry]) as one, start_engine(workers=[entry]) as two:
        clients = [await iii_worker(one), await iii_worker(two)]

        async def push(i: int) -> Any:
            ops = [
                {"type": "append", "path": "items", "value": {"i": i}},
                {"type": "increment", "path": "count", "by": 1},
            ]
            payload = {"scope": "c", "key": "k", "ops": ops}
            return await call(clients[i % 2], "state::update", payload)

        results = await asyncio.gather(*(push(i) for i in range(40)))
        final = await call(clients[0], "state::get", {"scope": "c", "key": "k"})
        assert final["count"] == 40
        assert sorted(item["i"] for item in final["items"]) == list(range(40))
        # Each update saw a distinct predecessor: the counts it produced are 1..40.
        assert sorted(r["new_value"]["count"] for r in results) == list(range(1, 41))


@pytest.mark.parametrize(
    ("adapter", "path"),
    [
        ({"name": "nope"}, "config.adapter.name"),
        ({"name": "redis", "config": {"redis_url": 5}}, "config.adapter.config.redis_url"),
        ({"name": "file", "config": {"path": None}}, "config.adapter.config.path"),
    ],
)
async def test_adapter_errors_name_the_config_path(
    tmp_path: Path, adapter: dict[str, Any], path: str
) -> None:
    with pytest.raises(ConfigError) as info:
        async with start_engine(workers=[state_entry({"adapter": adapter})], base_dir=tmp_path):
            pass
    assert info.value.path is not None
    assert info.value.path.endswith(path)
