"""Functions served by the engine or a built-in worker cannot be displaced by a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from tests.raw_client import disconnect, open_raw, raw_worker

STATE = [{"name": "iii-state", "config": {"adapter": {"name": "memory"}}}, {"name": "iii-pubsub"}]


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    async with start_engine(workers=STATE) as running:
        yield running


@pytest.mark.parametrize(
    ("function_id", "owner"),
    [
        ("state::set", "iii-state"),
        ("state::get", "iii-state"),
        ("publish", "iii-pubsub"),
        ("engine::functions::list", "iii-engine-functions"),
        ("engine::workers::list", "iii-engine-functions"),
    ],
)
async def test_registering_a_builtin_id_is_rejected(
    engine: Engine, function_id: str, owner: str
) -> None:
    before = engine.functions.get("default", function_id)
    assert before is not None
    async with raw_worker(engine) as intruder:
        await intruder.send({"type": "registerfunction", "id": function_id})
        rejected = await intruder.recv("registrationrejected")
        assert rejected == {
            "type": "registrationrejected",
            "code": "FUNCTION_NAMESPACE_CONFLICT",
            "namespace": "default",
            "function_id": function_id,
            "owner_worker_id": owner,
        }
        await intruder.barrier()
        assert not intruder.ws.closed  # non-fatal: the connection stays usable
        assert engine.functions.get("default", function_id) is before


async def test_intruder_neither_answers_nor_removes_state_set(engine: Engine) -> None:
    intruder = await open_raw(engine.worker_url)
    await intruder.send({"type": "registerfunction", "id": "state::set"})
    await intruder.recv("registrationrejected")
    await intruder.send({"type": "unregisterfunction", "id": "state::set"})
    async with raw_worker(engine) as caller:
        stored = await caller.call_ok("state::set", {"scope": "s", "key": "k", "value": 1})
        assert stored["new_value"] == 1
        await intruder.barrier()
        assert intruder.take("invokefunction") == []
        await disconnect(engine, intruder)
        # The built-in survives its would-be usurper's disconnect.
        assert await caller.call_ok("state::get", {"scope": "s", "key": "k"}) == 1


async def test_worker_functions_beside_builtins_still_register(engine: Engine) -> None:
    async with raw_worker(engine) as worker, raw_worker(engine) as caller:
        await worker.register_function("state::custom")
        await worker.barrier()
        assert worker.take("registrationrejected") == []
        invocation_id = await caller.invoke("state::custom", {})
        await worker.reply(await worker.invocation("state::custom"), "mine")
        assert (await caller.result(invocation_id))["result"] == "mine"
