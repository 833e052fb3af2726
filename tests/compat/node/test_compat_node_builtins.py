"""The official Node SDK against the built-ins: iii-http routes, iii-state calls, pubsub."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from iii_engine.engine import Engine
from tests.compat.support import http_base

pytestmark = pytest.mark.compat


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_http_add_two_numbers_keeps_a_running_total_in_state(
    builtin_engine: Engine, node: Any, session: aiohttp.ClientSession
) -> None:
    await node(builtin_engine, "builtins.mjs")
    url = http_base(builtin_engine) + "/math/add-two-numbers"

    async with session.post(url, json={"a": 2, "b": 3}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"c": 5, "running_total": 5}
    async with session.post(url, json={"a": 10, "b": -4}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"c": 6, "running_total": 11}

    stored = await builtin_engine.invoke("state::get", {"scope": "math", "key": "running_total"})
    assert stored == 11


async def test_state_calls_from_node(builtin_engine: Engine, node: Any, iii_worker: Any) -> None:
    await node(builtin_engine, "builtins.mjs")
    ours = await iii_worker(builtin_engine, name="ours")
    out = await ours.trigger("node::state_ops", {"scope": "node-scope"})

    first = {"n": 1, "tags": ["a"]}
    second = {"n": 2, "tags": ["a"]}
    assert out["set_new"] == {"old_value": None, "new_value": first}
    assert out["set_again"] == {"old_value": first, "new_value": second}
    assert out["get"] == second
    assert out["get_missing"] is None
    updated = {"n": 7, "tags": ["a", "b"], "session-abc": {"author": "alice", "ts": "chunk"}}
    assert out["update"]["old_value"] == second
    assert out["update"]["new_value"] == updated
    assert not out["update"].get("errors")
    assert sorted(out["list"], key=str) == sorted([updated, "second"], key=str)
    assert "node-scope" in out["list_groups"]["groups"]
    assert out["delete"] == "second"
    assert out["delete_missing"] is None


async def test_streamed_download_from_node(
    builtin_engine: Engine, node: Any, session: aiohttp.ClientSession
) -> None:
    await node(builtin_engine, "builtins.mjs")
    async with session.get(http_base(builtin_engine) + "/node/download") as resp:
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/octet-stream"
        body = await resp.read()
    assert len(body) == 256 * 1024
    assert hashlib.sha256(body).hexdigest() == resp.headers["x-sha256"]
    assert body[:4] == bytes([0, 31, 62, 93])


async def test_streamed_upload_to_node(
    builtin_engine: Engine, node: Any, session: aiohttp.ClientSession
) -> None:
    await node(builtin_engine, "builtins.mjs")
    blob = os.urandom(200_000)
    headers = {"content-type": "application/octet-stream"}
    url = http_base(builtin_engine) + "/node/upload"
    async with session.post(url, data=blob, headers=headers) as resp:
        assert resp.status == 200
        assert await resp.json() == {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}


async def test_pubsub_and_state_triggers_reach_node(
    builtin_engine: Engine, node: Any, iii_worker: Any
) -> None:
    worker = await node(builtin_engine, "builtins.mjs")
    ours = await iii_worker(builtin_engine, name="ours")

    await ours.trigger("publish", {"topic": "other-topic", "data": {"not": "for node"}})
    await ours.trigger("publish", {"topic": "node-topic", "data": {"hello": "node"}})
    assert json.loads(await worker.expect("PUBSUB")) == {"hello": "node"}

    await ours.trigger("state::set", {"scope": "node-watch", "key": "w", "value": [1]})
    event = json.loads(await worker.expect("STATE"))
    assert event == {
        "type": "state",
        "event_type": "state:created",
        "scope": "node-watch",
        "key": "w",
        "old_value": None,
        "new_value": [1],
    }
