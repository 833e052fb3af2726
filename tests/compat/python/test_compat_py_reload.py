"""Hot reload (docs/configuration.md, Hot reload) while official SDK workers are connected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from iii_engine.config.schema import parse_config
from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.compat.network import free_port
from tests.compat.support import (
    OfficialFactory,
    eventually,
    http_base,
    official_call,
    wait_for_binding,
    wait_for_functions,
)

pytestmark = pytest.mark.compat


def config_text(port: int, *, http_timeout: int = 30000, handshake_ms: int = 10000) -> str:
    entries = [
        {
            "name": "iii-worker-manager",
            "config": {"host": "127.0.0.1", "port": port, "handshake_timeout_ms": handshake_ms},
        },
        {"name": "iii-state", "config": {"adapter": {"name": "memory"}}},
        {
            "name": "iii-http",
            "config": {"host": "127.0.0.1", "port": 0, "default_timeout": http_timeout},
        },
    ]
    return yaml.safe_dump({"workers": entries})


async def reload(engine: Engine, text: str) -> None:
    await engine.apply_reload(parse_config(text, base_dir=Path.cwd()))


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json()


async def test_routes_of_an_official_worker_survive_an_http_restart(
    official: OfficialFactory,
) -> None:
    port = free_port()
    async with start_engine(config_text(port)) as engine:
        client = await official(engine, "official-reloaded-http")
        client.register_function("offpy::hello", lambda req: {"body": {"hello": "reload"}})
        client.register_trigger(
            {
                "type": "http",
                "function_id": "offpy::hello",
                "config": {"api_path": "/reload/hello", "http_method": "GET"},
            }
        )
        await wait_for_binding(engine, "offpy::hello")
        assert await get_json(http_base(engine) + "/reload/hello") == (200, {"hello": "reload"})

        await reload(engine, config_text(port, http_timeout=20000))

        async def served() -> bool:
            try:
                return await get_json(http_base(engine) + "/reload/hello") == (
                    200,
                    {"hello": "reload"},
                )
            except aiohttp.ClientError:
                return False

        await eventually(served, "the route to be served by the restarted iii-http")


async def test_official_worker_reconnects_when_its_listener_restarts(
    official: OfficialFactory,
) -> None:
    port = free_port()
    async with start_engine(config_text(port)) as engine:
        client = await official(engine, "official-reloaded-listener")
        client.register_function("offpy::still", lambda data: "still here")
        await wait_for_functions(engine, "offpy::still")
        old_id = client.worker_id

        await reload(engine, config_text(port, handshake_ms=9000))

        async def back() -> bool:
            return client.worker_id not in (None, old_id)

        await eventually(back, "the official worker to reconnect to the restarted listener")
        await wait_for_functions(engine, "offpy::still")
        assert await official_call(client, "offpy::still", {}) == "still here"
        state = await official_call(client, "state::set", {"scope": "s", "key": "k", "value": 1})
        assert state == {"old_value": None, "new_value": 1}
