"""The ``state`` trigger type end to end: filters, conditions, order, metadata, errors."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from iii_engine.testing import start_engine
from iii_sdk.worker import Worker
from tests.plugins.state.state_helpers import Recorder, call, event


async def applied(client: Worker) -> None:
    """Round trip on the client's socket: registrations sent before it have been applied."""
    await call(client, "state::list_groups", {})


async def bind(client: Worker, function_id: str, handler: Any, config: Any, **kwargs: Any) -> None:
    client.register_function(function_id, handler)
    client.register_trigger("state", function_id, config, **kwargs)
    await applied(client)


async def test_events_for_set_update_delete_arrive_in_write_order(
    client: Worker, recorder: Recorder
) -> None:
    await bind(client, "t::on_change", recorder, {"scope": "s", "key": "k"})
    await call(client, "state::set", {"scope": "s", "key": "k", "value": 1})
    await call(client, "state::set", {"scope": "s", "key": "k", "value": 1})
    ops = [{"type": "increment", "path": "", "by": 2}]
    await call(client, "state::update", {"scope": "s", "key": "k", "ops": ops})
    await call(client, "state::delete", {"scope": "s", "key": "k"})
    await call(client, "state::update", {"scope": "s", "key": "k", "ops": ops})
    assert [await recorder.next_payload() for _ in range(5)] == [
        event("state:created", "s", "k", None, 1),
        event("state:updated", "s", "k", 1, 1),
        event("state:updated", "s", "k", 1, 3),
        event("state:deleted", "s", "k", 3, None),
        event("state:created", "s", "k", None, 2),
    ]


async def test_many_concurrent_writes_are_delivered_in_order(
    client: Worker, recorder: Recorder
) -> None:
    await bind(client, "t::seq", recorder, {"scope": "seq"})
    for i in range(50):
        await call(client, "state::set", {"scope": "seq", "key": "k", "value": i})
    received = [(await recorder.next_payload())["new_value"] for _ in range(50)]
    assert received == list(range(50))


async def test_scope_and_key_filters(client: Worker) -> None:
    everything, scope_only, key_only, exact = Recorder(), Recorder(), Recorder(), Recorder()
    await bind(client, "t::all", everything, {})
    await bind(client, "t::scope", scope_only, {"scope": "a"})
    await bind(client, "t::key", key_only, {"key": "x"})
    await bind(client, "t::exact", exact, {"scope": "a", "key": "x", "other": "ignored"})
    writes = [("b", "y"), ("b", "x"), ("a", "y"), ("a", "x")]
    for scope, key in writes:
        await call(client, "state::set", {"scope": scope, "key": key, "value": f"{scope}{key}"})

    async def seen(recorder: Recorder, count: int) -> list[str]:
        return [(await recorder.next_payload())["new_value"] for _ in range(count)]

    # Each binding's first events are exactly its matches: later ones cannot overtake.
    assert await seen(everything, 4) == ["by", "bx", "ay", "ax"]
    assert await seen(scope_only, 2) == ["ay", "ax"]
    assert await seen(key_only, 2) == ["bx", "ax"]
    assert await seen(exact, 1) == ["ax"]
    await call(client, "state::set", {"scope": "a", "key": "x", "value": "last"})
    for recorder in (everything, scope_only, key_only, exact):
        assert (await recorder.next_payload())["new_value"] == "last"


async def test_null_filters_are_wildcards(client: Worker, recorder: Recorder) -> None:
    await bind(client, "t::nulls", recorder, {"scope": None, "key": None})
    await call(client, "state::set", {"scope": "any", "key": "thing", "value": 1})
    assert (await recorder.next_payload())["scope"] == "any"


async def test_delete_of_a_missing_key_fires_no_event(client: Worker, recorder: Recorder) -> None:
    await bind(client, "t::del", recorder, {"scope": "s"})
    assert await call(client, "state::delete", {"scope": "s", "key": "never"}) is None
    await call(client, "state::set", {"scope": "s", "key": "marker", "value": True})
    assert await recorder.next_payload() == event("state:created", "s", "marker", None, True)


async def test_condition_false_skips_and_anything_else_runs(
    client: Worker, recorder: Recorder
) -> None:
    conditions: list[Any] = []

    async def condition(payload: Any) -> Any:
        conditions.append(payload)
        return payload["new_value"]["verdict"]

    client.register_function("t::cond", condition)
    await bind(client, "t::guarded", recorder, {"scope": "c", "condition_function_id": "t::cond"})
    verdicts: list[Any] = [False, True, None, 0, {}, "no", False, "last"]
    for i, verdict in enumerate(verdicts):
        await call(
            client, "state::set", {"scope": "c", "key": f"k{i}", "value": {"verdict": verdict}}
        )
    ran = [(await recorder.next_payload())["key"] for _ in range(6)]
    assert ran == ["k1", "k2", "k3", "k4", "k5", "k7"]
    # The condition got the same payload as the handler, for every event.
    assert [c["key"] for c in conditions] == [f"k{i}" for i in range(8)]
    assert conditions[0] == event("state:created", "c", "k0", None, {"verdict": False})


async def test_failing_condition_skips_the_handler(
    client: Worker, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    def condition(payload: Any) -> bool:
        if payload["key"] == "boom":
            raise RuntimeError("condition exploded")
        return True

    client.register_function("t::cond", condition)
    await bind(client, "t::h", recorder, {"scope": "f", "condition_function_id": "t::cond"})
    with caplog.at_level(logging.WARNING):
        await call(client, "state::set", {"scope": "f", "key": "boom", "value": 1})
        await call(client, "state::set", {"scope": "f", "key": "fine", "value": 2})
        assert (await recorder.next_payload())["key"] == "fine"
    assert any(
        "condition" in r.getMessage() and "t::cond" in r.getMessage() for r in caplog.records
    )


async def test_handler_gets_the_trigger_metadata(client: Worker, recorder: Recorder) -> None:
    await bind(client, "t::meta", recorder, {"scope": "m"}, metadata={"tenant": "acme", "n": 1})
    await call(client, "state::set", {"scope": "m", "key": "k", "value": 1})
    payload, metadata = await recorder.next()
    assert payload["key"] == "k"
    assert metadata == {"tenant": "acme", "n": 1}


async def test_handler_errors_are_logged_and_delivery_continues(
    client: Worker, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    async def flaky(payload: Any) -> None:
        if payload["new_value"] == "bad":
            raise ValueError("handler exploded")
        await recorder(payload)

    with caplog.at_level(logging.WARNING):
        await bind(client, "t::flaky", flaky, {"scope": "e"})
        await call(client, "state::set", {"scope": "e", "key": "k", "value": "bad"})
        await call(client, "state::set", {"scope": "e", "key": "k", "value": "good"})
        assert (await recorder.next_payload())["new_value"] == "good"
    assert any("t::flaky" in r.getMessage() for r in caplog.records)


async def test_the_write_does_not_wait_for_handlers(client: Worker) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(payload: Any) -> None:
        started.set()
        await release.wait()

    await bind(client, "t::slow", slow, {"scope": "slow"})
    await call(client, "state::set", {"scope": "slow", "key": "k", "value": 1})
    await started.wait()
    # The handler is still blocked, yet further writes answer at once.
    assert await call(client, "state::set", {"scope": "slow", "key": "k", "value": 2}) == {
        "old_value": 1,
        "new_value": 2,
    }
    release.set()


async def test_unregistered_binding_stops_receiving(client: Worker) -> None:
    gone, kept = Recorder(), Recorder()
    client.register_function("t::gone", gone)
    handle = client.register_trigger("state", "t::gone", {"scope": "u"})
    await bind(client, "t::kept", kept, {"scope": "u"})
    handle.unregister()
    await applied(client)
    await call(client, "state::set", {"scope": "u", "key": "k", "value": 1})
    assert (await kept.next_payload())["key"] == "k"
    assert gone.calls.empty()


@pytest.mark.parametrize("config", [{"scope": 1}, {"key": ["a"]}, {"condition_function_id": 3}])
async def test_non_string_config_is_rejected(client: Worker, config: Any) -> None:
    client.register_function("t::noop", lambda payload: None)
    handle = client.register_trigger("state", "t::noop", config)
    error = await handle.rejected()
    assert error.code == "trigger_registration_failed"
    assert error.message.startswith("Failed to parse trigger config")


async def test_triggers_disabled_leaves_bindings_pending(iii_worker: Any) -> None:
    entry = {
        "name": "iii-state",
        "config": {"adapter": {"name": "memory"}, "triggers_enabled": False},
    }
    async with start_engine(workers=[entry]) as engine:
        client = await iii_worker(engine)
        listed = await call(client, "engine::triggers::list", {})
        assert "state" not in {row["id"] for row in listed["triggers"]}
        # The functions work as usual.
        assert await call(client, "state::set", {"scope": "s", "key": "k", "value": 1}) == {
            "old_value": None,
            "new_value": 1,
        }


async def test_state_trigger_type_is_advertised_with_its_schemas(client: Worker) -> None:
    info = await call(client, "engine::triggers::info", {"id": "state"})
    assert info["description"]
    assert set(info["configuration_schema"]["properties"]) == {
        "scope",
        "key",
        "condition_function_id",
    }
    assert "event_type" in info["request_schema"]["required"]


async def test_bindings_of_one_event_run_concurrently_but_events_stay_ordered(
    client: Worker,
) -> None:
    second_ran = asyncio.Event()
    first_saw: list[Any] = []
    second = Recorder()

    async def first(payload: Any) -> None:
        if payload["new_value"] == 0:
            # Upstream would deadlock here (one binding at a time); we deliver to both at once.
            async with asyncio.timeout(5):
                await second_ran.wait()
        first_saw.append(payload["new_value"])

    async def second_handler(payload: Any) -> None:
        second_ran.set()
        await second(payload)

    await bind(client, "t::first", first, {"scope": "fan"})
    await bind(client, "t::second", second_handler, {"scope": "fan"})
    for i in range(3):
        await call(client, "state::set", {"scope": "fan", "key": "k", "value": i})
    assert [(await second.next_payload())["new_value"] for _ in range(3)] == [0, 1, 2]
    # The second binding only got event 1 after the first binding finished event 0.
    assert first_saw[:2] == [0, 1]
