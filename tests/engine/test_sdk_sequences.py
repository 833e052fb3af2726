"""The frame sequences the official SDKs send on connect and reconnect, replayed raw.

docs/protocol.md 2.2: the SDKs do not wait for ``workerregistered``; Python sends its trigger types,
functions, triggers, then ``engine::workers::register`` (void, no id); Node announces itself
first. On reconnect they send ``reattach`` and replay everything with the same ids.
"""

from __future__ import annotations

import os
from typing import Any

from iii_engine.engine import Engine
from tests.raw_client import RawWorker, disconnect, open_raw, raw_worker


def registration_frames(name: str) -> list[dict[str, Any]]:
    return [
        {"type": "registertriggertype", "id": f"{name}-type", "description": "t"},
        {"type": "registerfunction", "id": f"{name}::fn", "description": "f"},
        {
            "type": "registertrigger",
            "id": f"{name}-binding",
            "trigger_type": "engine::workers-available",
            "function_id": f"{name}::fn",
            "config": {},
        },
    ]


def announce(name: str) -> dict[str, Any]:
    # Void and without invocation_id, exactly as the SDKs send it.
    return {
        "type": "invokefunction",
        "function_id": "engine::workers::register",
        "data": {"runtime": "python", "name": name, "pid": os.getpid(), "isolation": None},
        "action": {"type": "void"},
    }


async def send_all(w: RawWorker, frames: list[dict[str, Any]]) -> None:
    for frame in frames:
        await w.send(frame)
    await w.barrier()


async def assert_registered(engine: Engine, w: RawWorker, name: str) -> None:
    async with raw_worker(engine) as probe:
        info = await probe.call_ok("engine::workers::info", {"name": name})
        assert info["worker"]["id"] == w.worker_id
        assert [f["function_id"] for f in info["functions"]] == [f"{name}::fn"]
        assert [t["id"] for t in info["trigger_types"]] == [f"{name}-type"]
        assert [b["id"] for b in info["registered_triggers"]] == [f"{name}-binding"]


async def test_python_order(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await send_all(w, [*registration_frames("py"), announce("py")])
        assert w.inbox == []  # no acknowledgements of any kind
        await assert_registered(iii_engine, w, "py")


async def test_node_order(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as w:
        await send_all(w, [announce("node"), *registration_frames("node")])
        assert w.inbox == []
        await assert_registered(iii_engine, w, "node")


async def test_reconnect_with_reattach_replays_cleanly(iii_engine: Engine) -> None:
    async with raw_worker(iii_engine) as registrant:
        await registrant.send(
            {
                "type": "registertrigger",
                "id": "on-sdk-type",
                "trigger_type": "sdk-type",
                "function_id": "x::y",
                "config": {"k": 1},
            }
        )
        old = await open_raw(iii_engine.worker_url)
        await send_all(old, [*registration_frames("sdk"), announce("sdk")])
        assert (await old.recv("registertrigger"))["id"] == "on-sdk-type"
        new = await open_raw(iii_engine.worker_url)
        try:
            reattach = {
                "type": "reattach",
                "previous_worker_id": old.worker_id,
                "reattach_token": old.reattach_token,
            }
            await send_all(new, [reattach, *registration_frames("sdk"), announce("sdk")])
            assert new.take("registrationrejected") == []
            # The registrant's binding moved to the new provider connection.
            replayed = await new.recv("registertrigger")
            assert (replayed["id"], replayed["config"]) == ("on-sdk-type", {"k": 1})
            await assert_registered(iii_engine, new, "sdk")
            assert old.worker_id not in iii_engine.workers.connections
            assert len(iii_engine.triggers.live) == 2
        finally:
            await old.close()
            await disconnect(iii_engine, new)
        assert list(iii_engine.triggers.parked) == ["on-sdk-type"]


async def test_reconnect_without_reattach_after_old_socket_is_gone(iii_engine: Engine) -> None:
    old = await open_raw(iii_engine.worker_url)
    await send_all(old, [*registration_frames("svc"), announce("svc")])
    await disconnect(iii_engine, old)
    async with raw_worker(iii_engine) as new:
        await send_all(new, [*registration_frames("svc"), announce("svc")])
        assert new.take("registrationrejected") == []
        await assert_registered(iii_engine, new, "svc")


async def test_duplicate_worker_started_twice(iii_engine: Engine) -> None:
    # A second copy of a running worker: its functions are rejected one by one, then its name,
    # and the engine closes it; the first copy is untouched.
    async with raw_worker(iii_engine) as first:
        await send_all(first, [*registration_frames("dup"), announce("dup")])
        second = await open_raw(iii_engine.worker_url)
        try:
            for frame in [*registration_frames("dup"), announce("dup")]:
                await second.send(frame)
            rejected = await second.recv(
                "registrationrejected", lambda f: f["code"] == "WORKER_NAMESPACE_CONFLICT"
            )
            assert rejected["owner_worker_id"] == first.worker_id
            assert await second.closed() is not None
        finally:
            await second.close()
        await assert_registered(iii_engine, first, "dup")
