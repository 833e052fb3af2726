"""Stream stores: upstream config blocks, SQLite persistence, Redis fan-out, the bridge."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.errors import ConfigError
from tests.plugins.stream.stream_helpers import Subscriber, call, call_error, item, stream_port

UPSTREAM = """
workers:
  - name: iii-stream
    config:
      port: ${STREAMS_PORT:0}
      host: 127.0.0.1
      adapter:
        name: kv
        config:
          store_method: file_based
          file_path: ./data/stream_store
          save_interval_ms: 5000
  - name: iii-state
    config:
      adapter: {name: kv, config: {store_method: in_memory}}
"""


async def test_upstream_config_block_loads_and_persists(tmp_path: Path, iii_worker: Any) -> None:
    async with start_engine(UPSTREAM, base_dir=tmp_path) as engine:
        client = await iii_worker(engine)
        await call(client, "stream::set", {**item("m1"), "data": {"kept": True}})
        await call(client, "stream::set", {**item("m2"), "data": 2})
        await call(client, "stream::delete", item("m2"))
    assert (tmp_path / "data" / "stream_store" / "stream.sqlite3").is_file()
    async with start_engine(UPSTREAM, base_dir=tmp_path) as engine:
        client = await iii_worker(engine)
        assert await call(client, "stream::get", item("m1")) == {"kept": True}
        assert await call(client, "stream::get", item("m2")) is None
        assert await call(client, "stream::list_groups", {"stream_name": "chat"}) == ["room-1"]


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"adapter": {"name": "nope"}}, "unknown stream adapter 'nope'"),
        ({"adapter": {"name": "redis", "config": {"redis_url": 5}}}, "redis_url"),
        ({"adapter": {"name": "bridge", "config": {"url": "x"}}}, "url"),
        ({"port": "x"}, "port"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"max_item_bytes": 0}, "max_item_bytes"),
    ],
)
async def test_invalid_config_names_the_key(
    tmp_path: Path, config: dict[str, Any], fragment: str
) -> None:
    entry = {"name": "stream", "config": config}
    with pytest.raises(ConfigError, match=fragment) as info:
        async with start_engine(workers=[entry], base_dir=tmp_path):
            pass
    assert "config" in str(info.value)


def _redis_entry(redis_url: str) -> dict[str, Any]:
    url = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own
    return {
        "name": "iii-stream",
        "config": {"port": 0, "adapter": {"name": "redis", "config": {"redis_url": url}}},
    }


@pytest.mark.redis
async def test_redis_fans_out_between_two_engines(redis_url: str, iii_worker: Any) -> None:
    import redis.asyncio as aioredis

    entry = _redis_entry(redis_url)
    flush = aioredis.from_url(entry["config"]["adapter"]["config"]["redis_url"])
    await flush.flushdb()
    await flush.aclose()
    async with (
        start_engine(workers=[entry]) as engine_a,
        start_engine(workers=[entry]) as engine_b,
        aiohttp.ClientSession() as session,
    ):
        writer_b = await iii_worker(engine_b)
        reader_a = await iii_worker(engine_a)
        sub_a = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{stream_port(engine_a)}/"))
        sub_b = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{stream_port(engine_b)}/"))
        assert (await sub_a.join("a"))["event"] == {"type": "sync", "data": []}
        await sub_b.join("b")
        for i in range(20):
            await call(writer_b, "stream::set", {**item("m"), "data": i})
        await call(
            writer_b,
            "stream::send",
            {"stream_name": "chat", "group_id": "room-1", "type": "t", "data": "x"},
        )
        for sub in (sub_a, sub_b):
            got = [(await sub.next())["event"] for _ in range(21)]
            assert [e["data"] for e in got[:20]] == list(range(20))
            assert got[20] == {"type": "event", "event": {"type": "t", "data": "x"}}
        assert await call(reader_a, "stream::get", item("m")) == 19
        assert await call(reader_a, "stream::list_all", {}) == {
            "stream": [{"id": "chat", "groups": ["room-1"]}],
            "count": 1,
        }


BACKEND = [
    {"name": "iii-stream", "config": {"port": 0, "adapter": {"name": "kv"}}},
    {"name": "iii-state", "config": {"adapter": {"name": "kv"}}},
    {"name": "iii-pubsub"},
]


def _bridged(backend: Engine) -> list[dict[str, Any]]:
    bridge = {"name": "bridge", "config": {"bridge_url": backend.worker_url}}
    return [
        {"name": "iii-stream", "config": {"port": 0, "adapter": bridge}},
        {"name": "iii-state", "config": {"adapter": bridge}},
    ]


async def test_bridge_forwards_state_and_stream_to_another_engine(iii_worker: Any) -> None:
    async with (
        start_engine(workers=BACKEND) as backend,
        start_engine(workers=_bridged(backend)) as front,
        aiohttp.ClientSession() as session,
    ):
        at_front = await iii_worker(front)
        at_back = await iii_worker(backend)
        local_events: asyncio.Queue[Any] = asyncio.Queue()
        at_front.register_function("t::on_state", local_events.put)
        at_front.register_trigger("state", "t::on_state", {"scope": "s"})
        at_front.register_function("t::on_stream", local_events.put)
        at_front.register_trigger("stream", "t::on_stream", {"stream_name": "chat"})
        sub = Subscriber(await session.ws_connect(f"ws://127.0.0.1:{stream_port(front)}/"))
        await call(at_front, "stream::list_all", {})  # the bindings above are applied
        await sub.join("s")

        created = await call(at_front, "stream::set", {**item("m"), "data": {"n": 1}})
        assert created == {"old_value": None, "new_value": {"n": 1}}
        assert await call(at_back, "stream::get", item("m")) == {"n": 1}
        ops = [{"type": "increment", "path": "n", "by": 2}]
        updated = await call(at_front, "stream::update", {**item("m"), "ops": ops})
        assert updated == {"old_value": {"n": 1}, "new_value": {"n": 3}}
        group = {"stream_name": "chat", "group_id": "room-1"}
        assert await call(at_front, "stream::list", group) == [{"n": 3}]
        assert await call(at_front, "stream::list_groups", {"stream_name": "chat"}) == ["room-1"]
        assert await call(at_front, "stream::delete", item("m")) == {"old_value": {"n": 3}}
        assert [(await sub.next())["event"]["type"] for _ in range(3)] == [
            "create",
            "update",
            "delete",
        ]

        assert await call(at_front, "state::set", {"scope": "s", "key": "k", "value": 1}) == {
            "old_value": None,
            "new_value": 1,
        }
        assert await call(at_back, "state::get", {"scope": "s", "key": "k"}) == 1
        ops = [{"type": "increment", "path": "", "by": 4}]
        result = await call(at_front, "state::update", {"scope": "s", "key": "k", "ops": ops})
        assert result == {"old_value": 1, "new_value": 5}
        assert await call(at_front, "state::list", {"scope": "s"}) == [5]
        assert await call(at_front, "state::list_groups", {}) == {"groups": ["s"]}
        assert await call(at_front, "state::delete", {"scope": "s", "key": "k"}) == 5
        assert await call(at_back, "state::get", {"scope": "s", "key": "k"}) is None
        # Triggers fire on the bridged engine, from the forwarded results.
        seen = [await asyncio.wait_for(local_events.get(), 5) for _ in range(6)]
        assert [e["event"]["type"] for e in seen if e["type"] == "stream"] == [
            "create",
            "update",
            "delete",
        ]
        assert [e["event_type"] for e in seen if e["type"] == "state"] == [
            "state:created",
            "state:updated",
            "state:deleted",
        ]


async def test_bridge_to_nowhere_fails_at_start(tmp_path: Path) -> None:
    dead = {
        "name": "bridge",
        "config": {"bridge_url": "ws://127.0.0.1:9/", "connect_timeout_ms": 300},
    }
    entry = {"name": "iii-stream", "config": {"port": 0, "adapter": dead}}
    with pytest.raises(Exception, match="bridge"):
        async with start_engine(workers=[entry], base_dir=tmp_path):
            pass


async def test_bridge_passes_remote_errors_through(iii_worker: Any) -> None:
    async with start_engine(workers=BACKEND[2:]) as backend:  # no iii-stream there
        front_workers = _bridged(backend)[:1]
        async with start_engine(workers=front_workers) as front:
            client = await iii_worker(front)
            error = await call_error(client, "stream::get", item("m"))
            assert error.code == "function_not_found"
