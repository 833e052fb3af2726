"""The ``cron`` trigger end to end: a real engine, SDK workers, and a manual clock."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iii_engine.engine import Engine
from iii_engine.testing import start_engine
from iii_sdk.plugin import Trigger
from iii_sdk.worker import Worker
from plugins.cron.clock import ManualClock
from tests.plugins.cron.conftest import CRON, T0, cron_worker
from tests.plugins.cron.cron_helpers import Recorder, at, bind, call, tick

NEXT_SECOND = T0.replace(microsecond=0) + timedelta(seconds=1)
RFC3339_NS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00$")


async def test_fires_with_upstream_payload_and_metadata(client: Worker, clock: ManualClock) -> None:
    recorder = Recorder()
    job_id = await bind(
        client, clock, "jobs::tick", recorder, {"expression": "* * * * * *"}, metadata={"m": 1}
    )
    assert clock.next_deadline() == NEXT_SECOND
    clock.set(NEXT_SECOND + timedelta(microseconds=1234))
    payload, metadata = await recorder.next()
    assert payload == {
        "trigger": "cron",
        "job_id": job_id,
        "scheduled_time": "2026-03-01T12:00:01+00:00",
        "actual_time": "2026-03-01T12:00:01.001234000+00:00",
    }
    assert RFC3339_NS.match(payload["actual_time"])
    assert metadata == {"m": 1}


async def test_each_tick_once_in_order(client: Worker, clock: ManualClock) -> None:
    recorder = Recorder()
    await bind(client, clock, "jobs::every5", recorder, {"expression": "*/5 * * * * *"})
    seen = [(await tick(clock, recorder))["scheduled_time"] for _ in range(4)]
    first = T0.replace(microsecond=0) + timedelta(seconds=5)
    assert seen == [at(first + timedelta(seconds=5 * n)) for n in range(4)]
    assert recorder.calls.empty()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "Cron expression is required"),
        ({"expression": ""}, "Cron expression is required"),
        ({"expression": "   "}, "Cron expression is required"),
        (
            {"expression": "*/5 * * * *"},
            "Invalid cron expression '*/5 * * * *': 5-field (crontab) expressions are not "
            "supported",
        ),
        ({"expression": "* * * * * 0"}, "Invalid cron expression '* * * * * 0': day-of-week"),
        ({"expression": "nonsense"}, "Invalid cron expression 'nonsense': expected 6 fields"),
        ({"expression": "@often"}, "Invalid cron expression '@often': unknown shorthand"),
        (
            {"expression": "* * * * * *", "timezone": "Mars/Base"},
            "Invalid cron expression '* * * * * *': unknown time zone 'Mars/Base'",
        ),
        ({"expression": 5}, "Failed to parse trigger config"),
        ({"expression": "* * * * * *", "condition_function_id": 1}, "Failed to parse"),
        ("every minute", "Failed to parse trigger config"),
    ],
)
async def test_registration_errors(client: Worker, config: Any, message: str) -> None:
    client.register_function("jobs::noop", lambda payload: None)
    handle = client.register_trigger("cron", "jobs::noop", config)
    error = await handle.rejected()
    assert error.code == "trigger_registration_failed"
    assert error.message.startswith(message), error.message


async def test_same_job_id_twice_is_rejected(
    cron_engine: Engine, client: Worker, clock: ManualClock
) -> None:
    recorder = Recorder()
    job_id = await bind(client, clock, "jobs::dup", recorder, {"expression": "* * * * * *"})
    triggers = cron_worker(cron_engine).triggers
    assert triggers is not None
    # The engine itself replaces a re-sent binding, so ask the provider directly.
    again = Trigger(
        id=job_id, trigger_type="cron", function_id="jobs::dup", config={"expression": "@daily"}
    )
    with pytest.raises(ValueError, match=f"Cron job '{job_id}' is already registered"):
        await triggers.register_trigger(again)


async def test_condition_function(client: Worker, clock: ManualClock) -> None:
    seen: list[Any] = []
    answers = iter([False, True, "not a bool", None])

    def condition(payload: Any) -> Any:
        seen.append(payload)
        return next(answers)

    client.register_function("jobs::when", condition)
    recorder = Recorder()
    config = {"expression": "* * * * * *", "condition_function_id": "jobs::when"}
    await bind(client, clock, "jobs::guarded", recorder, config)
    fired = [(await _advance_until_fired(clock, recorder))["scheduled_time"] for _ in range(3)]
    # The first tick (condition false) was skipped; the other three ran.
    assert fired == [at(NEXT_SECOND + timedelta(seconds=n)) for n in (1, 2, 3)]
    assert [p["scheduled_time"] for p in seen] == [
        at(NEXT_SECOND + timedelta(seconds=n)) for n in range(4)
    ]
    assert all(p["trigger"] == "cron" for p in seen)


async def _advance_until_fired(clock: ManualClock, recorder: Recorder) -> Any:
    """Tick until the handler runs; each tick is over once the job sleeps again."""
    for _ in range(10):
        async with asyncio.timeout(5):
            await clock.sleepers_at_least(1)
        deadline = clock.next_deadline()
        assert deadline is not None
        clock.set(deadline)
        async with asyncio.timeout(5):
            await clock.sleepers_at_least(1)
        if not recorder.calls.empty():
            return recorder.calls.get_nowait()[0]
    raise AssertionError("never fired")


async def test_failing_condition_skips_the_run(client: Worker, clock: ManualClock) -> None:
    calls = 0

    def condition(payload: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("condition broke")
        return True

    client.register_function("jobs::flaky", condition)
    recorder = Recorder()
    config = {"expression": "* * * * * *", "condition_function_id": "jobs::flaky"}
    await bind(client, clock, "jobs::after-flaky", recorder, config)
    payload = await _advance_until_fired(clock, recorder)
    assert payload["scheduled_time"] == at(NEXT_SECOND + timedelta(seconds=1))


async def test_slow_handler_never_overlaps_and_skips_ticks(
    cron_engine: Engine, client: Worker, clock: ManualClock
) -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    await bind(client, clock, "jobs::slow", recorder, {"expression": "* * * * * *"})
    clock.set(NEXT_SECOND)
    assert (await recorder.next_payload())["scheduled_time"] == at(NEXT_SECOND)
    # Five more ticks pass while the handler runs: nothing sleeps, nothing else starts.
    for n in range(1, 6):
        clock.set(NEXT_SECOND + timedelta(seconds=n, milliseconds=500))
        await asyncio.sleep(0)
    assert clock.sleeping() == 0
    assert recorder.calls.empty()
    gate.set()
    await clock.sleepers_at_least(1)
    # The next run is the first tick after "now", not one of the five missed.
    assert clock.next_deadline() == NEXT_SECOND + timedelta(seconds=6)
    payload = await tick(clock, recorder)
    assert payload["scheduled_time"] == at(NEXT_SECOND + timedelta(seconds=6))
    assert recorder.max_running == 1
    jobs = await call(client, "cron::list")
    assert jobs["jobs"][0]["runs"] == 2


async def test_handler_errors_are_only_logged(client: Worker, clock: ManualClock) -> None:
    fired: asyncio.Queue[Any] = asyncio.Queue()

    async def boom(payload: Any) -> None:
        fired.put_nowait(payload)
        raise RuntimeError("handler broke")

    client.register_function("jobs::boom", boom)
    client.register_trigger("cron", "jobs::boom", {"expression": "* * * * * *"})
    await clock.sleepers_at_least(1)
    for n in range(2):
        clock.set(NEXT_SECOND + timedelta(seconds=n))
        assert (await asyncio.wait_for(fired.get(), 5))["scheduled_time"] == at(
            NEXT_SECOND + timedelta(seconds=n)
        )
        await clock.sleepers_at_least(1)


async def test_unregister_stops_the_job(client: Worker, clock: ManualClock) -> None:
    recorder = Recorder()
    client.register_function("jobs::gone", recorder)
    handle = client.register_trigger("cron", "jobs::gone", {"expression": "* * * * * *"})
    await clock.sleepers_at_least(1)
    handle.unregister()
    await call(client, "engine::functions::list")  # the unregister went before this call
    assert clock.sleeping() == 0
    clock.advance(timedelta(seconds=10))
    assert (await call(client, "cron::list")) == {"jobs": []}
    assert recorder.calls.empty()


async def test_worker_disconnect_removes_and_reconnect_restores(
    cron_engine: Engine, client: Worker, clock: ManualClock
) -> None:
    recorder = Recorder()
    job_id = await bind(client, clock, "jobs::sticky", recorder, {"expression": "* * * * * *"})
    conn = cron_engine.workers.connections[client.worker_id or ""]
    await conn.close(1012)
    async with asyncio.timeout(5):
        await asyncio.shield(conn.cleaned)
    assert cron_worker(cron_engine).scheduler.jobs == {}  # type: ignore[union-attr]
    # The SDK reconnects and replays its registrations: the job comes back.
    async with asyncio.timeout(10):
        await clock.sleepers_at_least(1)
    assert list(cron_worker(cron_engine).scheduler.jobs) == [job_id]  # type: ignore[union-attr]
    payload = await tick(clock, recorder)
    assert payload["job_id"] == job_id


async def test_engine_stopped_across_ticks_does_not_catch_up(
    iii_worker: Any, clock: ManualClock
) -> None:
    recorder = Recorder()
    async with start_engine(workers=[CRON]) as engine:
        cron_worker(engine).use_clock(clock)
        client = await iii_worker(engine)
        await bind(client, clock, "jobs::uptime", recorder, {"expression": "0 * * * * *"})
        first = await tick(clock, recorder)
        assert first["scheduled_time"] == "2026-03-01T12:01:00+00:00"
        await client.close()
    clock.advance(timedelta(hours=5, seconds=30))  # down for five hours: 300 ticks missed
    async with start_engine(workers=[CRON]) as engine:
        cron_worker(engine).use_clock(clock)
        client = await iii_worker(engine)
        await bind(client, clock, "jobs::uptime", recorder, {"expression": "0 * * * * *"})
        assert clock.next_deadline() == datetime(2026, 3, 1, 17, 2, tzinfo=UTC)
        again = await tick(clock, recorder)
        assert again["scheduled_time"] == "2026-03-01T17:02:00+00:00"
        assert recorder.calls.empty()


async def test_timezone_across_spring_forward(client: Worker, clock: ManualClock) -> None:
    # Daily at 02:30 in Berlin; 2026-03-29 has no 02:30 (02:00 -> 03:00): it runs at 03:00.
    clock.set(datetime(2026, 3, 27, 12, tzinfo=UTC))
    recorder = Recorder()
    config = {"expression": "0 30 2 * * *", "timezone": "Europe/Berlin"}
    await bind(client, clock, "jobs::berlin", recorder, config)
    seen = [(await tick(clock, recorder))["scheduled_time"] for _ in range(3)]
    assert seen == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


async def test_leap_day_job(client: Worker, clock: ManualClock) -> None:
    recorder = Recorder()
    await bind(client, clock, "jobs::leap", recorder, {"expression": "0 0 12 29 2 *"})
    seen = [(await tick(clock, recorder))["scheduled_time"] for _ in range(2)]
    assert seen == ["2028-02-29T12:00:00+00:00", "2032-02-29T12:00:00+00:00"]


async def test_a_day_of_ticks(client: Worker, clock: ManualClock) -> None:
    recorder = Recorder()
    await bind(client, clock, "jobs::quarter", recorder, {"expression": "0 */15 * * * *"})
    seen = [(await tick(clock, recorder))["scheduled_time"] for _ in range(96)]
    assert seen[0] == "2026-03-01T12:15:00+00:00"
    assert seen[-1] == "2026-03-02T12:00:00+00:00"
    assert len(set(seen)) == 96


async def test_cron_list(client: Worker, clock: ManualClock) -> None:
    recorder = Recorder()
    config = {"expression": "0 0 9 * * Mon-Fri", "timezone": "Europe/Berlin"}
    job_id = await bind(client, clock, "jobs::weekday", recorder, config)
    listed = await call(client, "cron::list")
    assert listed["jobs"] == [
        {
            "id": job_id,
            "function_id": "jobs::weekday",
            "namespace": "default",
            "expression": "0 0 9 * * Mon-Fri",
            "timezone": "Europe/Berlin",
            "condition_function_id": None,
            "next_runs": [
                "2026-03-02T09:00:00+01:00",
                "2026-03-03T09:00:00+01:00",
                "2026-03-04T09:00:00+01:00",
            ],
            "runs": 0,
            "skipped": 0,
        }
    ]


async def test_trigger_type_is_advertised(client: Worker) -> None:
    info = await call(client, "engine::triggers::info", {"id": "cron"})
    text = str(info)
    assert "expression" in text
    assert "scheduled_time" in text
