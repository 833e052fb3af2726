"""large-messages.v1: 64 MiB for workers that declare it, 1 MiB for the older Python reader."""

from __future__ import annotations

from iii_engine.engine import Engine
from tests.observe.conftest import Connect, observe

BIG = "x" * (2 * 1024 * 1024)


async def test_a_declaring_worker_receives_large_messages(iii_engine: Engine, raw: Connect) -> None:
    executor = await raw(iii_engine, "big-reader", features=["large-messages.v1"])
    await executor.register_function("big::echo")
    caller = await raw(iii_engine, "big-caller", features=["large-messages.v1"])
    call_id = await caller.invoke("big::echo", {"blob": BIG})
    invocation = await executor.invocation("big::echo")
    assert len(invocation["data"]["blob"]) == len(BIG)
    await executor.reply(invocation, BIG)
    assert len((await caller.result(call_id))["result"]) == len(BIG)


async def test_an_older_python_worker_is_spared_messages_over_1_mib(
    iii_engine: Engine, raw: Connect
) -> None:
    old = await raw(iii_engine, "old-python", features=None)  # runtime python, no features
    await old.register_function("old::echo")
    caller = await raw(iii_engine, "caller", features=["large-messages.v1"])
    refused = await caller.call("old::echo", {"blob": BIG})
    assert refused["error"]["code"] == "payload_too_large"
    # a large result for the older worker becomes an error it can read
    await caller.register_function("big::make")
    call_id = await old.invoke("big::make", {})
    invocation = await caller.invocation("big::make")
    await caller.reply(invocation, BIG)
    answer = await old.result(call_id)
    assert answer["error"]["code"] == "payload_too_large"
    # small messages still flow, the socket stayed open
    call_id = await caller.invoke("old::echo", {"blob": "small"})
    await old.reply(await old.invocation("old::echo"), "ok")
    assert (await caller.result(call_id))["result"] == "ok"


async def test_an_activation_too_large_for_its_target_is_dropped(
    iii_engine: Engine, raw: Connect
) -> None:
    source = await raw(iii_engine, "source", features=None, runtime="node")
    await source.register_function("big::src")
    old = await raw(iii_engine, "old-python-target", features=None)
    await old.register_function("old::seen")
    watcher = await raw(iii_engine, "watcher")
    await observe(watcher, "big", "big::src", "old::seen", capture=["input"])
    call_id = await watcher.invoke("big::src", {"blob": BIG})
    await source.reply(await source.invocation("big::src"), "ok")
    await watcher.result(call_id)
    info = await watcher.call_ok("engine::observers::get", {"id": "big"})
    assert info["observer"]["dropped"] == {"TOO_LARGE": 1}
