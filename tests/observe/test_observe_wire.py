"""observe.v1 on the wire, with raw workers: states, activations, policy, gating for 0.23."""

from __future__ import annotations

import pytest

from iii_engine.engine import Engine
from tests.observe.conftest import Connect, observe, state_change

OBSERVE_FIELDS = {"caller", "observe_depth", "activation"}


async def test_features_are_advertised_and_read(iii_engine: Engine, raw: Connect) -> None:
    new = await raw(iii_engine, "new")
    old = await raw(iii_engine, "old", features=None)
    assert new.registered["features"] == ["observe.v1", "local-dispatch.v1"]
    conns = iii_engine.workers.connections
    assert conns[new.worker_id].features == {"observe.v1", "local-dispatch.v1", "large-messages.v1"}
    assert conns[old.worker_id].features == frozenset()


async def test_routed_activation_and_a_023_owner_sees_nothing_new(
    iii_engine: Engine, raw: Connect
) -> None:
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("shop::charge")
    watcher = await raw(iii_engine, "watcher")
    await watcher.register_function("watch::big")
    result = await observe(
        watcher,
        "o-1",
        "shop::charge",
        "watch::big",
        filters={"input.amount": {"$gte": 500}, "caller.function_id": {"$eq": "shop::checkout"}},
        capture=["input", "output", "caller", "metadata"],
        metadata={"team": "payments"},
    )
    assert result == {"type": "observeresult", "id": "o-1", "state": "active"}

    async def charge(amount: int, function_id: str | None = "shop::checkout") -> str:
        caller = {"function_id": function_id, "invocation_id": "i-1"} if function_id else None
        fields = {"caller": caller} if caller else {}
        call_id = await watcher.invoke("shop::charge", {"amount": amount}, **fields)
        invocation = await owner.invocation("shop::charge")
        assert not OBSERVE_FIELDS & set(invocation), invocation  # 0.23 owner: no 0.25 fields
        assert invocation["data"]["_caller_worker_id"] == watcher.worker_id
        await owner.reply(invocation, {"charged": amount})
        return call_id

    await watcher.result(await charge(10))  # filtered out by input
    await watcher.result(await charge(900, None))  # no caller.function_id
    call_id = await charge(750)
    await watcher.result(call_id)
    [activation] = watcher.take("invokefunction")  # queued before the observed call's result
    envelope = activation["data"]
    assert activation["function_id"] == "watch::big"
    assert activation["metadata"] == {"team": "payments"}
    assert activation["observe_depth"] == 1
    assert activation["activation"] == {
        "observer_id": "o-1",
        "activation_id": envelope["activation_id"],
    }
    assert activation["caller"] == {
        "worker_name": "iii-engine",
        "function_id": "shop::charge",
        "invocation_id": envelope["invocation_id"],
    }
    assert envelope["input"] == {"amount": 750}
    assert envelope["output"] == {"charged": 750}
    assert envelope["caller"] == {
        "worker_id": watcher.worker_id,
        "worker_name": "watcher",
        "function_id": "shop::checkout",
        "invocation_id": "i-1",
    }
    assert (envelope["function_id"], envelope["namespace"], envelope["status"]) == (
        "shop::charge",
        "default",
        "success",
    )
    assert "metadata" not in envelope
    assert isinstance(envelope["started_at_ms"], int)
    await watcher.reply(activation, None)


async def test_an_activation_for_a_023_target_is_a_plain_invokefunction(
    iii_engine: Engine, raw: Connect
) -> None:
    owner = await raw(iii_engine, "owner")
    await owner.register_function("app::src")
    target = await raw(iii_engine, "target", features=None)
    await target.register_function("old::target")
    watcher = await raw(iii_engine, "watcher")
    # an observe-capable owner announces and acks first
    assert (await observe(watcher, "o-2", "app::src", "old::target"))["state"] == "pending"
    added = await owner.recv("observeradded")
    await owner.send(
        {
            "type": "observerack",
            "function_id": "app::src",
            "id": "o-2",
            "revision": added["revision"],
        }
    )
    await state_change(watcher, "o-2", "active")
    call_id = await watcher.invoke("app::src", {"x": 1})
    invocation = await owner.invocation("app::src")
    assert invocation["caller"] == {"worker_id": watcher.worker_id, "worker_name": "watcher"}
    await owner.reply(invocation, 2)
    await watcher.result(call_id)
    activation = await target.invocation("old::target")
    assert not OBSERVE_FIELDS & set(activation)
    assert activation["data"]["output"] == 2
    assert not [f for f in target.inbox if f["type"].startswith("observe")]


@pytest.mark.parametrize(
    ("code", "source", "target", "extra"),
    [
        ("SELF_TARGET", "app::self", "app::self", {}),
        ("INVALID_ARGS", "app::self", "app::other", {"args": {"expression": "* * *"}}),
        ("INVALID_FILTER", "app::self", "app::other", {"filters": {"input.op": "insert"}}),
        ("INVALID_OBSERVE", "app::self", "app::other", {"on": "sometimes"}),
        ("INVALID_OBSERVE", "app::self", "app::other", {"max_fires": 0}),
    ],
)
async def test_refusals(
    iii_engine: Engine, raw: Connect, code: str, source: str, target: str, extra: dict[str, object]
) -> None:
    worker = await raw(iii_engine, "w")
    await worker.register_function("app::self")
    await worker.register_function("app::other")
    result = await observe(worker, "bad", source, target, **extra)
    assert result["state"] == "error"
    assert result["error"]["code"] == code
    assert iii_engine.observe_frames.hub.get_info("bad") is None


async def test_pending_until_target_registers_then_id_in_use_for_others(
    iii_engine: Engine, raw: Connect
) -> None:
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("app::tick")
    watcher = await raw(iii_engine, "watcher")
    assert (await observe(watcher, "o-3", "app::tick", "watch::late"))["state"] == "pending"
    await watcher.register_function("watch::late")
    await state_change(watcher, "o-3", "active")
    other = await raw(iii_engine, "other")
    taken = await observe(other, "o-3", "app::tick", "watch::late")
    assert taken["error"]["code"] == "ID_IN_USE"
    replay = await observe(watcher, "o-3", "app::tick", "watch::late")
    assert replay["state"] == "active"


async def test_on_error_capture_and_deliver_input(iii_engine: Engine, raw: Connect) -> None:
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("app::flaky")
    watcher = await raw(iii_engine, "watcher")
    await watcher.register_function("watch::errors")
    await watcher.register_function("watch::inputs")
    await observe(watcher, "e", "app::flaky", "watch::errors", on="error", capture=["error"])
    await observe(watcher, "i", "app::flaky", "watch::inputs", on="complete", deliver="input")
    for n, fail in ((1, False), (2, True)):
        call_id = await watcher.invoke("app::flaky", {"n": n})
        invocation = await owner.invocation("app::flaky")
        if fail:
            await owner.reply(invocation, error={"code": "invocation_failed", "message": "boom"})
        else:
            await owner.reply(invocation, n)
        await watcher.result(call_id)
    activations = watcher.take("invokefunction")
    errors = [f["data"] for f in activations if f["function_id"] == "watch::errors"]
    inputs = [f["data"] for f in activations if f["function_id"] == "watch::inputs"]
    assert [e["error"] for e in errors] == [{"code": "invocation_failed", "message": "boom"}]
    assert "input" not in errors[0] and errors[0]["status"] == "error"
    assert inputs == [{"n": 1}, {"n": 2}]


async def test_max_fires_unobserve_and_expiry(iii_engine: Engine, raw: Connect) -> None:
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("app::ping")
    watcher = await raw(iii_engine, "watcher")
    await watcher.register_function("watch::a")
    await watcher.register_function("watch::b")
    await observe(watcher, "a", "app::ping", "watch::a")
    await observe(watcher, "b", "app::ping", "watch::b", max_fires=1)
    await watcher.send({"type": "unobserve", "id": "a"})
    for _ in range(2):
        call_id = await watcher.invoke("app::ping")
        await owner.reply(await owner.invocation("app::ping"), "pong")
        await watcher.result(call_id)
    disposed = await state_change(watcher, "b", "disposed")
    assert disposed["reason"]["code"] == "MAX_FIRES" and disposed["fires"] == 1
    await watcher.barrier()
    assert [f["function_id"] for f in watcher.take("invokefunction")] == ["watch::b"]
    # a replay of a disposed observer gets the tombstone
    assert (await observe(watcher, "b", "app::ping", "watch::b"))["state"] == "disposed"
    await observe(watcher, "c", "app::ping", "watch::a", expires_in_ms=20)
    expired = await state_change(watcher, "c", "disposed")
    assert expired["reason"]["code"] == "EXPIRED"


async def test_loop_guard_and_observers_get(iii_engine: Engine, raw: Connect) -> None:
    owner = await raw(iii_engine, "owner", features=None)
    await owner.register_function("app::loop")
    watcher = await raw(iii_engine, "watcher")
    await watcher.register_function("watch::loop")
    await observe(watcher, "g", "app::loop", "watch::loop", filters={"input.n": {"$gte": 0}})
    for depth in (7, 8):
        call_id = await watcher.invoke("app::loop", {"n": depth}, observe_depth=depth)
        await owner.reply(await owner.invocation("app::loop"), None)
        await watcher.result(call_id)
    [activation] = watcher.take("invokefunction")
    assert activation["observe_depth"] == 8
    info = await watcher.call_ok("engine::observers::get", {"id": "g"})
    row = info["observer"]
    assert row["dropped"] == {"LOOP_GUARD": 1}
    assert row["fires"] == 1 and row["state"] == "active"
    assert "input.n" in str(row["source"]["filters"])
    missing = await watcher.call("engine::observers::get", {"id": "nope"})
    assert missing["error"]["code"] == "NOT_FOUND"
