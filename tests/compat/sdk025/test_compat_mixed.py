"""0.23 and 0.25 official clients and our SDK on one engine, observing each other."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from iii_engine.engine import Engine
from tests.compat.procs import SpawnFactory
from tests.compat.sdk025.runner import PYTHON, available
from tests.compat.support import OfficialFactory, official_call, wait_for_functions

pytestmark = [pytest.mark.compat, pytest.mark.timeout(90)]

WORKER = __file__.rsplit("/", 1)[0] + "/worker025.py"


async def test_our_sdk_observes_functions_of_023_and_025_workers(
    iii_engine: Engine, official: OfficialFactory, spawn: SpawnFactory, iii_worker: Any
) -> None:
    if (missing := available()) is not None:
        pytest.fail(missing)
    old = await official(iii_engine, "py23")
    old.register_function("py23::square", lambda n: n * n)
    owner = await spawn(iii_engine, str(PYTHON), WORKER, "owner", name="py25 owner")
    await owner.expect("READY", within=30)
    await wait_for_functions(iii_engine, "py23::square", "py25::double")

    ours = await iii_worker(iii_engine, name="ours")
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def collect(envelope: dict[str, Any]) -> None:
        await seen.put(envelope)

    ours.register_function("ours::seen", collect)
    on_old = ours.observe("py23::square", "ours::seen", filters={"input": {"$gte": 3}})
    on_new = ours.observe("py25::double", "ours::seen", capture=["input", "output", "caller"])
    async with asyncio.timeout(10):
        await on_old.ready()
        await on_new.ready()  # the 0.25 owner acked it

    assert await ours.trigger("py23::square", 2) == 4  # filtered out
    assert await ours.trigger("py23::square", 3) == 9
    assert await ours.trigger("py25::double", 4) == 8
    assert await official_call(old, "py25::double", 5) == 10  # a 0.23 caller of a 0.25 owner
    got = [await asyncio.wait_for(seen.get(), 10) for _ in range(3)]
    assert sorted((e["function_id"], e["input"], e["output"]) for e in got) == [
        ("py23::square", 3, 9),
        ("py25::double", 4, 8),
        ("py25::double", 5, 10),
    ]
    assert {e["caller"]["worker_name"] for e in got} == {"ours", "py23"}
    on_old.dispose()
    on_new.dispose()
    assert on_old.state == "disposed"


async def test_a_025_worker_observes_our_sdk(
    iii_engine: Engine, spawn: SpawnFactory, iii_worker: Any
) -> None:
    if (missing := available()) is not None:
        pytest.fail(missing)
    ours = await iii_worker(iii_engine, name="ours")
    ours.register_function("ours::add", lambda p: p["a"] + p["b"])
    await wait_for_functions(iii_engine, "ours::add")
    watcher = await spawn(iii_engine, str(PYTHON), WORKER, "watcher", "ours::add", name="w25")
    await watcher.expect("READY", within=30)
    assert await ours.trigger("ours::add", {"a": 2, "b": 3}) == 5
    envelope = json.loads(await watcher.expect("SEEN", within=10))
    assert envelope["function_id"] == "ours::add"
    assert envelope["input"] == {"a": 2, "b": 3}
    assert envelope["output"] == 5
    assert envelope["caller"]["worker_name"] == "ours"
