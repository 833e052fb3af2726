"""The owner side: functionregistered, acks, rejections, reports, owner delivery, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from iii_engine.engine import Engine
from tests.observe.conftest import Connect, observe, state_change
from tests.raw_client import open_raw


async def test_functionregistered_after_register_then_added_ack_and_rejection(
    iii_engine: Engine, raw: Connect
) -> None:
    owner = await open_raw(iii_engine.worker_url)
    try:
        await owner.send({"type": "registerfunction", "id": "app::price"})
        await owner.register_worker("owner", features=["observe.v1", "local-dispatch.v1"])
        registered = await owner.recv("functionregistered")
        assert registered == {
            "type": "functionregistered",
            "id": "app::price",
            "namespace": "default",
            "revision": 0,
            "local_dispatch": True,
            "observers": [],
        }
        watcher = await raw(iii_engine, "watcher")
        await watcher.register_function("watch::t")
        result = await observe(
            watcher, "o-a", "app::price", "watch::t", filters={"input.qty": {"$gte": 2}}
        )
        assert result["state"] == "pending"  # until the owner acks
        added = await owner.recv("observeradded")
        assert added["revision"] == 1
        assert added["observer"] == {
            "id": "o-a",
            "args": {},
            "filters": {"$and": [{"input.qty": {"$gte": 2}}]},
            "target": "watch::t",
            "capture": ["input", "output", "caller"],
            "on": "success",
        }
        await owner.send(
            {"type": "observerack", "function_id": "app::price", "id": "o-a", "revision": 0}
        )  # stale: ignored
        await owner.send(
            {"type": "observerack", "function_id": "app::price", "id": "o-a", "revision": 1}
        )
        await state_change(watcher, "o-a", "active")

        # a local call the owner reports activates the matched observer
        await owner.send(
            {
                "type": "invocationsobserved",
                "items": [
                    {
                        "function_id": "app::price",
                        "invocation_id": "local-1",
                        "matched": ["o-a", "unknown"],
                        "status": "success",
                        "input": {"qty": 2},
                        "output": {"total": 20},
                        "caller": {"worker_id": owner.worker_id, "worker_name": "owner"},
                        "started_at_ms": 1,
                        "duration_ms": 0.5,
                        "observe_depth": 0,
                    }
                ],
            }
        )
        activation = await watcher.invocation("watch::t")
        assert activation["data"]["invocation_id"] == "local-1"
        assert activation["data"]["input"] == {"qty": 2}
        assert activation["data"]["output"] == {"total": 20}
        assert activation["observe_depth"] == 1
        await owner.send(
            {
                "type": "localinvocationstats",
                "window_ms": 10000,
                "functions": [{"function_id": "app::price", "count": 3, "errors": 1}],
            }
        )

        # a second observer, rejected by the owner
        await observe(watcher, "o-b", "app::price", "watch::t")
        added = await owner.recv("observeradded", lambda f: f["observer"]["id"] == "o-b")
        await owner.send(
            {
                "type": "observerack",
                "function_id": "app::price",
                "id": "o-b",
                "revision": added["revision"],
                "error": {"code": "OBSERVE_REJECTED", "message": "no"},
            }
        )
        failed = await state_change(watcher, "o-b", "error")
        assert failed["reason"] == {"code": "OBSERVE_REJECTED", "message": "no"}
        removed = await owner.recv("observerremoved")
        assert (removed["id"], removed["revision"]) == ("o-b", added["revision"] + 1)
        await owner.barrier()
        stats = iii_engine.observe_frames.owners
        assert stats.local_counts[("default", "app::price")] == 3
    finally:
        await owner.close()


async def test_owner_delivery_by_call(iii_engine: Engine, raw: Connect) -> None:
    owner = await raw(iii_engine, "owner")
    await owner.send(
        {
            "type": "registerfunction",
            "id": "cron::tick",
            "observe": {
                "delivery": "owner",
                "args_format": {
                    "type": "object",
                    "required": ["expression"],
                    "properties": {"expression": {"type": "string"}},
                },
            },
        }
    )
    await owner.recv("functionregistered")
    watcher = await raw(iii_engine, "watcher")
    await watcher.register_function("watch::job")
    bad = await observe(watcher, "bad", "cron::tick", "watch::job", args={})
    assert bad["error"]["code"] == "INVALID_ARGS"
    await observe(
        watcher, "job", "cron::tick", "watch::job", args={"expression": "* * *"}, metadata={"m": 1}
    )
    added = await owner.recv("observeradded")
    assert added["observer"]["args"] == {"expression": "* * *"}
    refused = await owner.call("watch::job", {"x": 1}, activation={"observer_id": "job"})
    assert refused["error"]["code"] == "OBSERVER_NOT_ACTIVE"  # not acked yet
    await owner.send(
        {"type": "observerack", "function_id": "cron::tick", "id": "job", "revision": 1}
    )
    await state_change(watcher, "job", "active")
    call_id = await owner.invoke(
        "watch::job", {"x": 1}, activation={"observer_id": "job"}, observe_depth=1
    )
    delivered = await watcher.invocation("watch::job")
    assert delivered["data"] == {"x": 1}
    assert delivered["metadata"] == {"m": 1}
    assert delivered["observe_depth"] == 2
    assert delivered["activation"]["observer_id"] == "job"
    await watcher.reply(delivered, {"done": True})
    assert (await owner.result(call_id))["result"] == {"done": True}


async def test_observer_survives_reattach_and_grace_disposes(
    iii_engine: Engine, raw: Connect
) -> None:
    hub = iii_engine.observe_frames.hub
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("app::work")
    watcher = await open_raw(iii_engine.worker_url)
    await watcher.register_worker("watcher", features=["observe.v1"])
    await watcher.register_function("watch::w")
    await observe(watcher, "keep", "app::work", "watch::w")
    previous, token = watcher.worker_id, watcher.reattach_token
    conn = iii_engine.workers.connections[previous]
    await watcher.close()
    await conn.cleaned
    assert hub.by_id["keep"].state == "suspended"

    back = await open_raw(iii_engine.worker_url)
    try:
        await back.send(
            {"type": "reattach", "previous_worker_id": previous, "reattach_token": token}
        )
        await back.send({"type": "registerfunction", "id": "watch::w"})
        await back.register_worker("watcher", features=["observe.v1"])
        replay = await observe(back, "keep", "app::work", "watch::w")
        assert replay["state"] == "active"
        call_id = await owner.invoke("app::work", {})
        await owner.reply(await owner.invocation("app::work"), "ok")
        await owner.result(call_id)
        activation = await back.invocation("watch::w")
        assert activation["data"]["observer_id"] == "keep"

        # gone for longer than the grace period: disposed, the id is a tombstone
        timers: list[Callable[[], None]] = []
        loop = asyncio.get_running_loop()

        def fake_clock(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
            timers.append(callback)
            return loop.call_later(3600, lambda: None)

        hub._call_later = fake_clock
        conn = iii_engine.workers.connections[back.worker_id]
    finally:
        await back.close()
    await conn.cleaned
    assert hub.by_id["keep"].state == "suspended"
    for callback in list(timers):
        callback()  # the grace period runs out
    assert "keep" not in hub.by_id
    assert hub.tombstones["keep"]["code"] == "OBSERVER_DISCONNECTED"


async def test_a_replay_by_worker_name_within_grace_rebinds(
    iii_engine: Engine, raw: Connect
) -> None:
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("app::job")
    first = await open_raw(iii_engine.worker_url)
    await first.register_worker("named-watcher", features=["observe.v1"])
    await first.register_function("watch::job")
    await observe(first, "by-name", "app::job", "watch::job")
    conn = iii_engine.workers.connections[first.worker_id]
    await first.close()
    await conn.cleaned
    # a new process with the same name, no reattach
    second = await raw(iii_engine, "named-watcher")
    await second.register_function("watch::job")
    assert (await observe(second, "by-name", "app::job", "watch::job"))["state"] == "active"
    stranger = await raw(iii_engine, "someone-else")
    taken = await observe(stranger, "by-name", "app::job", "watch::job")
    assert taken["error"]["code"] == "ID_IN_USE"
